"""Design kinds: the registry (one module per kind) and the typed counts designs read.

``REGISTRY`` maps each ``kind`` to its class. A section without ``kind`` is of the kind that claims
its fields (``infer_kind``): a futility look's ``interim`` makes a futility design, anything else a
fixed one. Adding a kind is one new module in this package (imported by the loop at the bottom).
"""
from __future__ import annotations

import importlib
import pkgutil

from .base import DECISION_COLUMNS, Design
from .counts import ChunkCounts, CountKey, DesignContext, LookKey

REGISTRY: dict[str, type[Design]] = {}


def register(cls: type[Design]) -> type[Design]:
    """Class decorator: register a design kind under its ``kind`` default (once)."""
    kind = cls.model_fields["kind"].default
    if not isinstance(kind, str) or kind in REGISTRY:
        raise ValueError(f"design kind {kind!r} of {cls.__name__} is unnamed or registered twice")
    REGISTRY[kind] = cls
    return cls


def infer_kind(data: dict) -> str | None:
    """The kind a section without ``kind`` is: the first (by claim priority) that claims its fields."""
    for kind, cls in sorted(REGISTRY.items(), key=lambda item: -item[1].claim_priority):
        if cls.claims(data):
            return kind
    return None


for _module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _module.name.startswith("_") and _module.name not in ("base", "counts"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["DECISION_COLUMNS", "REGISTRY", "ChunkCounts", "CountKey", "Design", "DesignContext", "LookKey",
           "infer_kind", "register"]
