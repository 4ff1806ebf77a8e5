"""The assumptions of a resolved scenario, as rows a report can show without reading YAML text.

Every field whose resolved value differs from the schema's default, and every effect, with the
comment that documents it in the scenario file (its source) and the override that set it, if any.
"""
from __future__ import annotations

import json

from pydantic import BaseModel

from .schema import Scenario

#: Sections whose every field is an assumption worth showing, default or not.
ALWAYS = ("effects",)


def _leaves(model: BaseModel, default, path: tuple, out: list) -> None:
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        here = path + (name,)
        if info.is_required():
            fallback = None
        else:
            fallback = getattr(default, name) if isinstance(default, BaseModel) and type(default) is type(model) \
                else info.get_default(call_default_factory=True)
        if isinstance(value, BaseModel):
            _leaves(value, fallback, here, out)
            continue
        dumped = json.loads(json.dumps(value, default=lambda o: o.model_dump(mode="json")))
        default_dumped = None if info.is_required() else json.loads(
            json.dumps(fallback, default=lambda o: o.model_dump(mode="json")))
        out.append((".".join(here), dumped, default_dumped, info.is_required()))


def assumptions(scenario: Scenario, comments: dict[str, str] | None = None,
                overrides: list[dict] | None = None) -> list[dict]:
    """Rows {path, value, default, source, overridden}: fields that differ from the default (or have
    none), and every effect; ``source`` is the file's comment or the override that set the value."""
    comments, overrides = comments or {}, overrides or []
    by_override = {o["path"]: o for o in overrides}
    leaves: list = []
    _leaves(scenario, None, (), leaves)
    rows = []
    for path, value, default, required in leaves:
        if path.startswith(("monte_carlo.", "name", "description")):
            continue
        if not (required or value != default or path.startswith(ALWAYS) or path in by_override):
            continue
        if value is None and default is None and path not in by_override:
            continue  # an optional figure not given (e.g. a hazard ratio where the median is given)
        override = by_override.get(path)
        source = (f"{override['origin']} {path}={json.dumps(override['value'])}" if override else
                  _comment(path, comments))
        rows.append({"path": path, "value": value, "default": None if required else default,
                     "source": source, "overridden": override is not None})
    return rows


def _comment(path: str, comments: dict[str, str]) -> str:
    """The comment on this field, or on the nearest section above it that has one."""
    parts = path.split(".")
    for n in range(len(parts), 0, -1):
        note = comments.get(".".join(parts[:n]))
        if note:
            return note if n == len(parts) else ""
    return ""
