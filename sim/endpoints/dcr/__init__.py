"""The registry of DCR definitions: what "disease control" means for the primary comparison.

The registry does not say whether DCR means "at the first scan", "best response up to cycle 12" or
"controlled through cycle 12"; each reading is a ``DcrDefinition`` in its own module, registered
once with ``@register``. A definition says how many of a patient's scans it reads (the trial waits
for them before an analysis "once every outcome is known"), and, per patient of a trial table at an
analysis day, whether the patient had disease control and a response. Evaluability (a scan by the
analysis) is the same for every definition. The schema's allowed ``dcr_definition`` values and the
docs table are read from ``REGISTRY``.

Adding a definition is one new module in this package (imported by the loop at the bottom).
"""
from __future__ import annotations

import importlib
import pkgutil

import numpy as np

from ...table import TrialTable


class DcrDefinition:
    """One reading of disease control. Subclasses set ``name``, ``description`` and ``uses_horizon``
    and implement ``outcomes``; ``scans`` and ``label`` have defaults."""

    name: str = ""
    description: str = ""
    #: reads analysis.dcr_horizon_cycles (the scan after that cycle ends the window)
    uses_horizon: bool = True
    #: disease control under this definition is disease control at the first scan for every patient, so
    #: the configured DCR at the reference day describes it (the exact plain-binomial reference applies)
    same_as_first_scan: bool = False
    order: int = 100

    def scans(self, horizon_cycles: int, scan_cycles: list[int]) -> int:
        """Scans of a patient the definition reads: those through the one after ``horizon_cycles``."""
        if not self.uses_horizon:
            return 1
        return sum(c <= horizon_cycles for c in scan_cycles)

    def outcomes(self, table: TrialTable, number: np.ndarray, scans: int,
                 cut_day) -> tuple[np.ndarray, np.ndarray]:
        """(disease control, response) per patient row at an analysis on ``cut_day`` (per trial of a
        stacked table); ``number``: each scan-log row's 0-based number among its patient's scans."""
        raise NotImplementedError

    def label(self, horizon_cycles: int) -> str:
        raise NotImplementedError


REGISTRY: dict[str, DcrDefinition] = {}


def register(cls: type[DcrDefinition]) -> type[DcrDefinition]:
    """Class decorator: register one instance of the definition under its ``name`` (once)."""
    if not cls.name or cls.name in REGISTRY:
        raise ValueError(f"DCR definition {cls.name!r} is unnamed or registered twice")
    REGISTRY[cls.name] = cls()
    return cls


for _module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
REGISTRY = dict(sorted(REGISTRY.items(), key=lambda item: (item[1].order, item[0])))
