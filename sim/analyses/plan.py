"""Every design of a run and what the simulated trials must yield for them.

A scenario's ``analysis`` gives the primary design and its variants; all are evaluated on the same
simulated trials (simulate once, analyse many). Each design declares the counts it reads
(``CountKey``, ``LookKey``); the plan collects the distinct ones, so designs that share a key share
their counts and differ only in a lookup in a cached rejection region.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..designs import CountKey, Design, DesignContext, LookKey
from ..scenario.schema import Scenario


@dataclass(frozen=True)
class AnalysisPlan:
    designs: tuple[Design, ...]
    context: DesignContext
    count_keys: tuple[CountKey, ...]
    looks: tuple[LookKey, ...]
    continuous_pfs: bool

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> "AnalysisPlan":
        ds = tuple(scenario.designs())
        ctx = scenario.design_context()
        needs = [d.needs(ctx) for d in ds]
        keys = tuple(dict.fromkeys(k for ks, _ in needs for k in ks))
        looks = tuple(dict.fromkeys(look for _, ls in needs for look in ls))
        return cls(ds, ctx, keys, looks, scenario.imaging.progression_seen == "continuous")

    @property
    def labels(self) -> list[str]:
        """Each design's display label, made unique (a repeated one gets ' #2', ' #3', ...)."""
        out, seen = [], {}
        for d in self.designs:
            label = d.display
            seen[label] = seen.get(label, 0) + 1
            out.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
        return out
