"""A design grid for ``rechallenge-sim compare``: design factors crossed with scenarios.

    name: sample-size-and-test
    base: ../scenarios/expected.yaml        # relative to this file
    scenarios:                              # the assumptions every design is judged under
      - {name: "null", file: ../scenarios/null.yaml}
      - {name: expected}                    # the base as it is
      - {name: "DCR 0.80", set: {effects.rechallenge.dcr: 0.80, effects.rechallenge.median_pfs_true_months: 6.5}}
    sweep:                                  # more scenarios from the base: values zipped field by field
      effects.rechallenge.dcr: [0.55, 0.65, 0.75]
      effects.rechallenge.median_pfs_true_months: [2.4, 3.3, 4.5]
    designs:                                # factors, crossed
      accrual.target_randomized: [40, 50, 60]
      analysis.test: [fisher, boschloo]
      analysis: [{sided: one, alpha: 0.10}, {sided: one, alpha: 0.025}]
    monte_carlo: {replicates: 2000, seed: 7, workers: 2}

Factors under ``analysis`` change only how trials are analysed: they become analysis variants of
one simulation (simulate once, analyse many). Other factors (sample size, allocation ratio)
change the simulation: each value is its own cell, and since patient k of replicate i draws from
the same random stream in every cell, trials stay paired across cells (common random numbers).
"""
from __future__ import annotations

import copy
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator

from ..fields import Strict
from ..scenario.loader import ScenarioError, _format_errors, read_yaml, validate
from ..scenario.schema import AnalysisSection, Scenario, merge
from . import apply_overrides, check_coherence

#: analysis fields that belong to the simulation, not to a design (they cannot be design factors)
SIMULATION_ANALYSIS_FIELDS = (*AnalysisSection.model_fields, "label")
MAX_CELLS = 2000
MAX_DESIGNS_PER_CELL = 200


class ScenarioEntry(Strict):
    name: str = Field(min_length=1, max_length=80)
    file: str | None = Field(None, description="scenario file (relative to the grid file); default: base")
    set: dict[str, Any] = Field({}, description="fields to change, as dotted paths")


class MonteCarloOverride(Strict):
    replicates: int | None = Field(None, gt=0)
    seed: int | None = Field(None, ge=0)
    workers: int | None = Field(None, gt=0)
    chunk_size: int | None = Field(None, gt=0)


class Grid(Strict):
    name: str = Field(min_length=1, max_length=80)
    description: str = ""
    base: str = Field(description="the scenario file designs and sweeps start from (relative to the grid file)")
    scenarios: list[ScenarioEntry] = Field([], max_length=200)
    sweep: dict[str, list[Any]] = Field({}, description="dotted path -> values; paths zipped into scenarios")
    designs: dict[str, list[Any]] = Field({}, description="dotted path -> values; factors crossed")
    monte_carlo: MonteCarloOverride = Field(default_factory=MonteCarloOverride)

    @model_validator(mode="after")
    def _shapes(self):
        lengths = {len(v) for v in self.sweep.values()}
        if len(lengths) > 1:
            raise ValueError(f"sweep: every field needs as many values (got {sorted(lengths)}); they are zipped")
        if self.sweep and 0 in lengths:
            raise ValueError("sweep: give at least one value")
        for path, values in self.designs.items():
            if not values:
                raise ValueError(f"designs.{path}: give at least one value")
            if path.startswith("analysis.") and path.split(".")[1] in SIMULATION_ANALYSIS_FIELDS:
                raise ValueError(f"designs.{path}: {path.split('.')[1]} is shared by every design of a simulation; "
                                 f"set it in the base scenario")
        if not self.scenarios and not self.sweep:
            raise ValueError("give scenarios, a sweep, or both")
        names = [s.name for s in self.scenarios]
        if len(set(names)) != len(names):
            raise ValueError(f"scenarios: names must be unique, got {names}")
        return self


@dataclass
class Cell:
    """One simulation: a scenario with the simulation factors' values, and the designs analysed on it."""

    scenario_name: str
    sweep_value: Any                      # first sweep field's value (None outside the sweep)
    simulation_factors: dict[str, Any]
    scenario: Scenario
    designs: list[dict[str, Any]] = field(default_factory=list)  # per design: factor -> value
    overrides: list[dict[str, Any]] = field(default_factory=list)  # {path, value, origin} applied to the file


def _flat(path: str, value) -> str:
    return f"{path}={json.dumps(value)}"


def _analysis_patch(path: str, value) -> dict:
    """A design factor under analysis as a variant dict: analysis.bayes.threshold=0.9 -> {bayes: {threshold: 0.9}}."""
    parts = path.split(".")[1:]
    if not parts:
        if not isinstance(value, dict):
            raise ScenarioError(f"designs.analysis: each value must be a mapping of analysis fields, got {value!r}")
        return dict(value)
    patch: Any = value
    for p in reversed(parts):
        patch = {p: patch}
    return patch


def _label(path: str, value) -> str:
    short = path.split(".")[-1] if path != "analysis" else ""
    if isinstance(value, dict):
        inner = ", ".join(f"{k}={v}" for k, v in value.items())
        return f"{short}: {inner}" if short else inner
    return f"{short}={value}"


def load_grid(path: str | Path) -> tuple[Grid, list[Cell]]:
    """Read, validate and expand a grid file into its simulation cells (errors name the file and line)."""
    path = Path(path)
    data, lines = read_yaml(path, "grid file")
    try:
        grid = Grid.model_validate(data)
    except ValidationError as e:
        raise ScenarioError("\n".join(_format_errors(e, str(path), lines, {}, root=Grid))) from None
    here = path.parent

    def where(*loc) -> str:
        for n in range(len(loc), -1, -1):
            if tuple(loc[:n]) in lines:
                return f"{path}:{lines[tuple(loc[:n])]}"
        return str(path)

    read: dict[Path, tuple[dict, dict]] = {}  # each scenario file is read once, however many cells use it

    def scenario_data(file: str | None, loc) -> tuple[dict, dict, str]:
        target = here / (file or grid.base)
        if target not in read:
            try:
                read[target] = read_yaml(target)
            except ScenarioError as e:
                raise ScenarioError(f"{where(*loc)}: {e}") from None
        d, ln = read[target]
        return copy.deepcopy(d), ln, str(target)

    sim_factors = {p: v for p, v in grid.designs.items() if not (p == "analysis" or p.startswith("analysis."))}
    analysis_factors = {p: v for p, v in grid.designs.items() if p not in sim_factors}
    analysis_combos = list(itertools.product(*analysis_factors.values())) or [()]
    if len(analysis_combos) > MAX_DESIGNS_PER_CELL:
        raise ScenarioError(f"{where('designs')}: {len(analysis_combos)} analysis designs per simulation; at most "
                            f"{MAX_DESIGNS_PER_CELL}")
    patches = []
    for combo in analysis_combos:
        patch: dict = {}
        for (p, v) in zip(analysis_factors, combo):
            patch = merge(patch, _analysis_patch(p, v))
        patches.append(patch)

    entries = [(e.name, e.file, e.set, None, ("scenarios", i)) for i, e in enumerate(grid.scenarios)]
    fields = list(grid.sweep)
    for j, values in enumerate(zip(*grid.sweep.values())):
        first = fields[0].split(".")
        name = f"{'.'.join(first[-2:])}={values[0]}"  # named by the first field: the effect-size axis
        entries.append((name, None, dict(zip(fields, values)), values[0], ("sweep",)))
    sim_combos = list(itertools.product(*sim_factors.values())) or [()]
    if len(entries) * len(sim_combos) > MAX_CELLS:
        raise ScenarioError(f"{path}: {len(entries) * len(sim_combos)} simulations; at most {MAX_CELLS}")

    cells = []
    mc = {k: v for k, v in grid.monte_carlo.model_dump().items() if v is not None}
    for name, file, sets, sweep_value, loc in entries:
        for combo in sim_combos:
            data, ln, source = scenario_data(file, loc)
            assignments = [_flat(p, v) for p, v in sets.items()] + [_flat(p, v) for p, v in zip(sim_factors, combo)]
            assignments += [_flat(f"monte_carlo.{k}", v) for k, v in mc.items()]
            analysis = data.setdefault("analysis", {})
            if not isinstance(analysis, dict):
                raise ScenarioError(f"{source}: analysis must be a section")
            analysis.pop("variants", None)  # the grid's designs replace the file's own variants
            try:
                overridden, applied = apply_overrides(data, assignments, f"grid {where(*loc)}")
                data["analysis"] = merge(data["analysis"], patches[0])
                data["analysis"]["variants"] = [dict(p) for p in patches[1:]]
                scenario = check_coherence(validate(data, source, ln, overridden), source, ln, overridden)
            except ScenarioError as e:
                raise ScenarioError(f"{where(*loc)}: scenario '{name}'"
                                    + (f" with {', '.join(_label(p, v) for p, v in zip(sim_factors, combo))}"
                                       if sim_factors else "") + f": {e}") from None
            factors = dict(zip(sim_factors, combo))
            designs = [{**factors, **dict(zip(analysis_factors, c))} for c in analysis_combos]
            cells.append(Cell(name, sweep_value, factors, scenario, designs, applied))
    return grid, cells


def design_label(factors: dict[str, Any]) -> str:
    return ", ".join(_label(p, v) for p, v in factors.items()) or "design"
