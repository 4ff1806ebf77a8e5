"""Inputs: the one validated path from what a user gives to a resolved scenario with its provenance.

A scenario file, a loaded ``Scenario``, ``--set`` assignments, API keyword arguments and the cells of
a compare grid all go through ``resolve``: the overrides are applied to the data and the whole is
validated like a file (types and ranges with the file's lines, the designs against the trial, then
the outcome laws' coherence), with the same messages and, from the CLI, exit code 2. The result
keeps what a report must show: the overrides as given and the comments that document each field.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..outcomes.laws import IncoherentEffects, arm_laws
from ..scenario.loader import (
    ScenarioError, _schema, _where, apply_override, comments, load_yaml, validate,
)
from ..scenario.schema import Scenario


@dataclass
class Resolved:
    """A validated scenario and where its values came from."""

    scenario: Scenario
    source: str | None = None                       # the scenario file, if any
    source_text: str | None = None                  # the file as written (its comments carry the sources)
    overrides: list[dict] = field(default_factory=list)  # {path, value, origin} in the order applied
    comments: dict[str, str] = field(default_factory=dict)  # dotted path -> the file's comment on it


def check_coherence(scenario: Scenario, source: str, lines: dict, overridden: dict) -> Scenario:
    """The outcome laws' checks: figures that cannot hold together are refused, naming both."""
    try:
        arm_laws(scenario)
    except IncoherentEffects as e:
        loc = tuple(e.field.split("."))
        raise ScenarioError(f"{_where(loc, source, lines, overridden)}: {e}") from None
    return scenario


def assignments(set: dict[str, Any] | list[str] | tuple[str, ...] | None = None,
                monte_carlo: dict[str, Any] | None = None) -> list[str]:
    """Overrides as 'path=value' strings: ``set`` as a mapping of dotted paths (values as JSON) or as
    strings already, then ``monte_carlo`` fields."""
    out = []
    if isinstance(set, dict):
        out += [f"{k}={json.dumps(v)}" for k, v in set.items()]
    elif set:
        out += list(set)
    out += [f"monte_carlo.{k}={json.dumps(v)}" for k, v in (monte_carlo or {}).items()]
    return out


def resolve(scenario: str | Path | Scenario | Resolved, set=None, monte_carlo: dict | None = None,
            origin: str = "--set") -> Resolved:
    """Apply overrides to a scenario file or object and validate the whole, like a file.

    ``set``: {"effects.rechallenge.dcr": 0.6} or ["effects.rechallenge.dcr=0.6"]; ``monte_carlo``:
    {"replicates": 500}; ``origin`` names where they came from ("--set", "sim.run(...)", a grid cell).
    """
    given = assignments(set, monte_carlo)
    if isinstance(scenario, Resolved):
        base = scenario
        data, lines, source = scenario.scenario.model_dump(mode="json"), {}, scenario.source or "<scenario>"
    elif isinstance(scenario, Scenario):
        base = Resolved(scenario)
        data, lines, source = scenario.model_dump(mode="json"), {}, "<scenario>"
    else:
        path = Path(scenario)
        data, lines, text = load_yaml(path)  # read once, bounded (loader.read_input)
        source = str(path)
        base = Resolved(None, source, text, [], comments(text, lines))  # type: ignore[arg-type]
        if given:
            _schema(data, source, lines, {})  # the file as written first: its own bad values, with its lines
    overridden, applied = apply_overrides(data, given, origin)
    resolved = check_coherence(validate(data, source, lines, overridden), source, lines, overridden)
    return Resolved(resolved, base.source, base.source_text, base.overrides + applied, dict(base.comments))


def apply_overrides(data: dict, given: list[str], origin: str) -> tuple[dict, list[dict]]:
    """Apply 'path=value' assignments to ``data`` in place. Returns (field path -> how a message names
    the override, the overrides as {path, value, origin} for the run record)."""
    overridden, applied = {}, []
    for assignment in given:
        loc = apply_override(data, assignment)
        overridden[loc] = assignment if origin == "--set" else f"{assignment} ({origin})"
        applied.append({"path": assignment.partition("=")[0].strip(), "value": _value(data, loc), "origin": origin})
    return overridden, applied


def _value(data, loc):
    node = data
    for part in loc:
        node = node[part]
    return node


def load_scenario(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """Read, override (``path.to.field=value``) and validate a scenario file (the Scenario only)."""
    return resolve(path, list(overrides)).scenario
