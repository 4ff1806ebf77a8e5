"""The shape of the code: imports run one way along the pipeline, registries feed the schema, every
emitted metric is catalogued, and the model uses SimPy's public API only."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import sim
from conftest import SCENARIOS

SIM = Path(sim.__file__).resolve().parent

#: The layers, in the order imports may run (a module may import its own layer and those above it).
LAYERS = [
    ("errors", "units", "arms", "table", "fields"),
    ("stats",),
    ("endpoints",),
    ("designs",),
    ("scenario",),
    ("outcomes",),
    ("inputs",),
    ("model",),
    ("analyses",),
    ("summary",),
    ("engine",),
    ("report",),
    ("commands", "cli", "docs", "__init__", "__main__"),
]
RANK = {name: i for i, names in enumerate(LAYERS) for name in names}


def _module_layer(path: Path) -> str:
    rel = path.relative_to(SIM).parts
    return rel[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[str, int]]:
    """(top-level sim package or module imported, line) for every import of sim inside ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = list(path.relative_to(SIM).parts[:-1])
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = [*base, *(node.module.split(".") if node.module else [])]
                if not target:  # 'from . import x' at the top of sim
                    target = [node.names[0].name]
            elif node.module and node.module.split(".")[0] == "sim":
                target = node.module.split(".")[1:] or [node.names[0].name]
            else:
                continue
            out.append((target[0], node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "sim" and len(parts) > 1:
                    out.append((parts[1], node.lineno))
    return out


def test_imports_run_one_way_along_the_pipeline():
    problems = []
    for path in sorted(SIM.rglob("*.py")):
        here = _module_layer(path)
        assert here in RANK, f"{path}: not in any layer of this test; add it to LAYERS"
        for target, line in _imports(path):
            if target not in RANK:
                problems.append(f"{path.relative_to(SIM)}:{line} imports unknown sim.{target}")
            elif RANK[target] > RANK[here]:
                problems.append(f"{path.relative_to(SIM)}:{line}: {here} imports {target}, a later stage")
    assert not problems, "\n".join(problems)


def test_no_simpy_private_state():
    for path in SIM.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for private in ("env._queue", "env._eid", "._now", "_queue.clear"):
            assert private not in text, f"{path}: uses SimPy's private {private}"


def test_the_schema_allows_exactly_the_registered_tests_definitions_and_kinds():
    from sim.designs import REGISTRY as KINDS
    from sim.endpoints.dcr import REGISTRY as DEFINITIONS
    from sim.scenario.schema import Scenario
    from sim.stats.binary_tests import REGISTRY as TESTS

    schema = json.dumps(Scenario.model_json_schema())
    defs = Scenario.model_json_schema()["$defs"]
    for kind in KINDS:
        analysis = next(v for k, v in defs.items() if k.endswith("Analysis") and
                        v["properties"]["kind"].get("const", v["properties"]["kind"].get("default")) == kind)
        assert set(analysis["properties"]["test"]["enum"]) == set(TESTS)
        assert set(analysis["properties"]["dcr_definition"]["enum"]) == set(DEFINITIONS)
    assert all(kind in schema for kind in KINDS)
    from sim.cli import build_parser

    help_text = build_parser()._subparsers._group_actions[0].choices["exact"].format_help()
    assert all(name in help_text for name in TESTS)


def test_docs_table_of_registries_is_up_to_date():
    from sim.docs import registries_markdown

    assert (SIM.parent / "docs" / "registries.md").read_text(encoding="utf-8") == registries_markdown(), \
        "docs/registries.md is stale: python -m sim.docs > docs/registries.md"


@pytest.fixture(scope="module")
def every_kind_of_run(tmp_path_factory):
    """Runs that between them emit every metric: the default scenario with every design kind and
    DCR definition, a null scenario, one that cannot reach its target, and one that screens nobody."""
    from sim.designs import REGISTRY as KINDS  # noqa: F401
    from sim.endpoints.dcr import REGISTRY as DEFINITIONS

    out = tmp_path_factory.mktemp("every")
    variants = [{"dcr_definition": d} for d in DEFINITIONS] + [{"interim": {"after_first_scans": 20}},
                                                               {"population": "evaluable"}]
    runs = [sim.run(SCENARIOS / "expected.yaml", out / "e", report=False, replicates=60, seed=3,
                    set={"analysis.variants": variants}),
            sim.run(SCENARIOS / "null.yaml", out / "n", report=False, replicates=40, seed=3),
            sim.run(SCENARIOS / "expected.yaml", out / "i", report=False, replicates=20, seed=3,
                    set={"accrual.target_randomized": 400, "accrual.max_months": 24})]
    return runs


def test_every_emitted_metric_is_in_the_catalogue(every_kind_of_run):
    from sim.summary.catalogue import CATALOGUE

    emitted = {r["metric"] for run in every_kind_of_run for r in run.summary["metrics"]}
    missing = emitted - set(CATALOGUE)
    assert not missing, f"metrics without a catalogue entry: {sorted(missing)}"
    # and the catalogue's scope agrees with the rows
    for run in every_kind_of_run:
        for r in run.summary["metrics"]:
            assert (r["design"] is None) == (CATALOGUE[r["metric"]].scope == "trial"), r


def test_a_deterministic_figure_shows_no_mcse_and_an_unestimable_one_says_so(every_kind_of_run):
    from sim.summary.catalogue import CATALOGUE, format_row

    for run in every_kind_of_run:
        for r in run.summary["metrics"]:
            est, mcse, interval = format_row(r)
            if CATALOGUE[r["metric"]].kind == "deterministic" and r["estimate"] is not None:
                assert r["mcse"] is None and mcse == "exact", r
            elif r["estimate"] is not None and r["mcse"] is None:
                assert mcse == "not estimable" and r["note"], r
