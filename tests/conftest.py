from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


@pytest.fixture
def scenarios_dir() -> Path:
    return SCENARIOS


def metric(summary: dict, name: str, design: str | int | None = 0) -> dict:
    """The row of a metric: of design number ``design`` (0: the primary analysis; a label also works),
    or the scenario-level row (design None in summary.json) when the metric has no design rows."""
    if isinstance(design, int):
        design = summary["designs"][design]["label"]
    rows = [r for r in summary["metrics"] if r["metric"] == name and r["design"] == design]
    if not rows:
        rows = [r for r in summary["metrics"] if r["metric"] == name and r["design"] is None]
    assert len(rows) == 1, f"metric {name} appears {len(rows)} times"
    return rows[0]
