"""The registry of two-arm binary tests: one module per family, each test registered once.

A binary test's decision depends only on the arm sizes and the success counts, so each test is a
function ``(n1, n2, sided[, prior]) -> p-value matrix`` indexed ``[x1, x2]`` over every outcome
table (arm 1 rechallenge, arm 2 control; the one-sided alternative is p1 > p2). ``@register``
adds it under its name with a one-line description; the scenario schema's allowed ``test`` values,
the ``exact --test`` choices and the docs table are read from ``REGISTRY``.

Adding a test is one new module in this package (it is imported by the loop at the bottom).
"""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class BinaryTest:
    name: str
    p_values: Callable          # (n1, n2, sided[, prior]) -> p-value matrix [x1, x2]
    description: str            # one line, for the schema, the CLI help and the docs
    family: str                 # the module that defines it
    strict: bool = False        # reject when p < alpha (a posterior threshold) rather than p <= alpha
    takes_prior: bool = False   # takes prior=((a1, b1), (a2, b2))
    order: int = 100            # place in listings (schema, CLI, docs)
    max_arm: int | None = None  # largest arm a design may plan with it (its p-value matrix's memory and time)


REGISTRY: dict[str, BinaryTest] = {}


def register(name: str, *, description: str, strict: bool = False, takes_prior: bool = False, order: int = 100,
             max_arm: int | None = None):
    """Decorator: register a p-value function as the binary test ``name`` (once)."""
    def add(function):
        if name in REGISTRY:
            raise ValueError(f"binary test {name!r} is registered twice")
        family = function.__module__.rsplit(".", 1)[-1]
        REGISTRY[name] = BinaryTest(name, function, description, family, strict, takes_prior, order, max_arm)
        return function

    return add


for _module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
REGISTRY = dict(sorted(REGISTRY.items(), key=lambda item: (item[1].order, item[0])))
