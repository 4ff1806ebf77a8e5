"""Analysis designs: how one simulated trial is analysed (test, level, DCR definition, population,
timing, interim look).

A scenario's ``analysis`` section gives the primary design and its ``variants``; all of them are
evaluated on the same simulated trials (simulate once, analyse many). A design reads the trial only
through the counts that its ``count_key`` names, so designs that share a key share their counts and
differ only in a lookup in a cached rejection region.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..scenario.schema import AnalysisCore, Scenario


@dataclass(frozen=True)
class InterimRule:
    after_first_scans: int
    rule: str             # dcr_difference | predictive_probability
    stop_below: float
    prior: tuple[float, float]

    @property
    def label(self) -> str:
        what = "DCR difference" if self.rule == "dcr_difference" else "predictive P(success)"
        return f"futility look at {self.after_first_scans} first scans: stop if {what} < {self.stop_below:g}"


@dataclass(frozen=True)
class Design:
    test: str
    alpha: float
    sided: str
    dcr_definition: str = "first_scan"
    scans: int = 1                              # scans through the horizon (1 for first_scan)
    population: str = "itt"
    primary_analysis_months: float | None = None  # None: once every DCR outcome is known
    threshold: float | None = None              # bayes: posterior probability to exceed
    prior: tuple | None = None                  # bayes: ((a1, b1), (a2, b2)), rechallenge then control
    interim: InterimRule | None = None
    name: str | None = None                     # the user's label, if any
    horizon_cycles: int | None = None

    @classmethod
    def from_core(cls, a: AnalysisCore, scan_cycles: list[int], name: str | None = None) -> "Design":
        if a.dcr_definition == "first_scan":
            scans, horizon = 1, None
        else:
            scans, horizon = sum(c <= a.dcr_horizon_cycles for c in scan_cycles), a.dcr_horizon_cycles
        bayes = a.test == "bayes"
        interim = None
        if a.interim is not None:
            i = a.interim
            interim = InterimRule(i.after_first_scans, i.rule, i.stop_below, tuple(i.prior))
        return cls(
            test=a.test, alpha=a.alpha, sided=a.sided, dcr_definition=a.dcr_definition, scans=scans,
            population=a.population, primary_analysis_months=a.primary_analysis_months,
            threshold=a.bayes.threshold if bayes else None,
            prior=(tuple(a.bayes.prior_rechallenge), tuple(a.bayes.prior_control)) if bayes else None,
            interim=interim, name=name, horizon_cycles=horizon,
        )

    @property
    def count_key(self) -> tuple:
        """What the design's counts depend on (designs sharing it share one count per replicate)."""
        return (self.dcr_definition, self.scans, self.primary_analysis_months)

    @property
    def region_alpha(self) -> float:
        """The level the binary rejection region is cut at (bayes: 1 - threshold)."""
        return 1.0 - self.threshold if self.test == "bayes" else self.alpha

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.test == "bayes":
            (a1, b1), (a2, b2) = self.prior
            prior = "" if self.prior == ((1.0, 1.0), (1.0, 1.0)) else f" beta({a1:g},{b1:g}) vs beta({a2:g},{b2:g})"
            test = f"bayes {self.sided}-sided P>{self.threshold:g}{prior}"
        else:
            test = f"{self.test} {self.sided}-sided {self.alpha:g}"
        dcr = {"first_scan": "DCR first scan", "best_response": f"DCR best response to cycle {self.horizon_cycles}",
               "controlled": f"DCR controlled to cycle {self.horizon_cycles}"}[self.dcr_definition]
        when = "" if self.primary_analysis_months is None else f", at {self.primary_analysis_months:g} mo"
        look = "" if self.interim is None else f", {self.interim.label}"
        return f"{test}, {dcr}, {self.population}{when}{look}"


def designs(scenario: Scenario) -> list[Design]:
    """The primary design, then each variant, with unique labels."""
    scan_cycles = list(scenario.imaging.scan_after_cycles)
    out, seen = [], {}
    for name, core in scenario.analysis.cores():
        d = Design.from_core(core, scan_cycles, name)
        label = d.label
        if label in seen:
            seen[label] += 1
            d = Design(**{**d.__dict__, "name": f"{label} #{seen[label]}"})
        else:
            seen[label] = 1
        out.append(d)
    return out


def primary_design(scenario: Scenario) -> Design:
    return designs(scenario)[0]


@dataclass(frozen=True)
class AnalysisPlan:
    """Every design of a run and what the simulated trials must yield for them.

    ``count_keys``: the distinct (DCR definition, scans, analysis timing) the designs read; each
    replicate contributes its counts once per key. ``looks``: the distinct interim look sizes.
    """

    designs: tuple[Design, ...]
    count_keys: tuple[tuple, ...]
    looks: tuple[int, ...]
    continuous_pfs: bool
    planned: tuple[int, int]   # planned (rechallenge, control) sizes, for predictive probabilities

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> "AnalysisPlan":
        ds = tuple(designs(scenario))
        keys = tuple(dict.fromkeys(d.count_key for d in ds))
        looks = tuple(dict.fromkeys(d.interim.after_first_scans for d in ds if d.interim is not None))
        a, b = scenario.randomization.ratio
        target = scenario.accrual.target_randomized
        n1 = round(target * a / (a + b))
        return cls(ds, keys, looks, scenario.imaging.progression_seen == "continuous", (n1, target - n1))

    def key_index(self, design: Design) -> int:
        return self.count_keys.index(design.count_key)

    def look_index(self, design: Design) -> int:
        return self.looks.index(design.interim.after_first_scans)
