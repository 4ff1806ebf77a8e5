import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


@pytest.fixture
def scenarios_dir() -> Path:
    return SCENARIOS


def metric(summary: dict, name: str) -> dict:
    rows = [r for r in summary["metrics"] if r["metric"] == name]
    assert len(rows) == 1, f"metric {name} appears {len(rows)} times"
    return rows[0]
