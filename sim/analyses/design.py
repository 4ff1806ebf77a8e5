"""An analysis design: how one simulated trial is analysed (test, alpha, sidedness, endpoint)."""
from __future__ import annotations

from dataclasses import dataclass

from ..scenario.schema import Analysis


@dataclass(frozen=True)
class Design:
    test: str
    alpha: float
    sided: str
    dcr_definition: str = "first_scan"
    population: str = "itt"
    primary_analysis_months: float | None = None  # None: once every first scan is in

    @classmethod
    def from_analysis(cls, a: Analysis) -> "Design":
        return cls(a.test, a.alpha, a.sided, a.dcr_definition, a.population, a.primary_analysis_months)

    @property
    def label(self) -> str:
        when = "" if self.primary_analysis_months is None else f", at {self.primary_analysis_months:g} mo"
        return f"{self.test} {self.sided}-sided {self.alpha:g}, DCR {self.dcr_definition}, {self.population}{when}"
