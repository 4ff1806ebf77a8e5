"""The scenario schema: every input of a simulated trial, validated by pydantic.

One model per section of the YAML file. Units are in the field names (``_days``,
``_months``, ``_prob``) so a scenario reads without a manual. Unknown keys are
errors (``extra="forbid"``); the loader turns pydantic's errors into messages with
the file, line, field path, bad value and what is allowed.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_serializer, model_validator


def _not_bool(value):
    """pydantic reads true/false as 1/0; YAML also reads yes/no/on/off as true/false."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, not {str(value).lower()} (YAML reads true/false, yes/no and "
                         f"on/off as true/false)")
    return value


_Number = BeforeValidator(_not_bool)
Prob = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False), _Number]
OpenProb = Annotated[float, Field(gt=0.0, lt=1.0, allow_inf_nan=False), _Number]
PosFloat = Annotated[float, Field(gt=0.0, allow_inf_nan=False), _Number]
NonNegFloat = Annotated[float, Field(ge=0.0, allow_inf_nan=False), _Number]
PosInt = Annotated[int, Field(gt=0), _Number]
#: A median survival time: positive, and at most 50 years (beyond that the input is a typo).
Months = Annotated[float, Field(gt=0.0, le=600.0, allow_inf_nan=False), _Number]

DAYS_PER_MONTH = 365.25 / 12.0


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Duration(Strict):
    """A random duration in days, drawn by inverse CDF so that common random numbers pair designs.

    ``fixed`` uses ``mean`` only; ``gamma`` and ``lognormal`` are parametrised by mean and sd
    (the figures publications report); ``uniform`` by ``low`` and ``high``.
    """

    distribution: Literal["fixed", "gamma", "lognormal", "uniform"] = "fixed"
    mean: NonNegFloat | None = None
    sd: PosFloat | None = None
    low: NonNegFloat | None = None
    high: NonNegFloat | None = None

    @model_validator(mode="after")
    def _parameters_match_distribution(self):
        d = self.distribution
        if d == "uniform":
            if self.low is None or self.high is None:
                raise ValueError("a uniform duration needs 'low' and 'high'")
            if self.high < self.low:
                raise ValueError(f"'high' ({self.high}) must be at least 'low' ({self.low})")
            if self.mean is not None or self.sd is not None:
                raise ValueError("a uniform duration takes 'low' and 'high', not 'mean'/'sd'")
        else:
            if self.mean is None:
                raise ValueError(f"a {d} duration needs 'mean'")
            if self.low is not None or self.high is not None:
                raise ValueError(f"a {d} duration takes 'mean'{'' if d == 'fixed' else ' and sd'}, not 'low'/'high'")
            if d == "fixed" and self.sd is not None:
                raise ValueError("a fixed duration takes 'mean' only (no 'sd')")
            if d in ("gamma", "lognormal"):
                if self.sd is None:
                    raise ValueError(f"a {d} duration needs 'sd'")
                if self.mean <= 0:
                    raise ValueError(f"a {d} duration needs 'mean' > 0")
        return self


class RatePiece(Strict):
    from_month: NonNegFloat = Field(description="start of this piece, months since the first site opened")
    per_month: NonNegFloat = Field(description="patients arriving for ctDNA screening per month")


class Accrual(Strict):
    target_randomized: PosInt = Field(50, description="randomized patients at which accrual stops")
    screening_rates: list[RatePiece] = Field(
        min_length=1, max_length=1000,
        description="piecewise-constant Poisson rate of screening arrivals (site activation ramps up)",
    )
    max_months: PosFloat = Field(240.0, description="give up accruing after this many months")
    arrivals: Literal["poisson", "evenly_spaced"] = Field(
        "poisson", description="poisson: random arrivals at the rates; evenly_spaced: one arrival each time the "
        "expected count grows by one (the uniform accrual of textbook sample-size formulas)")

    @model_validator(mode="after")
    def _pieces_ordered(self):
        starts = [p.from_month for p in self.screening_rates]
        if starts[0] != 0:
            raise ValueError(f"the first screening rate must start at from_month 0, not {starts[0]}")
        if any(b <= a for a, b in zip(starts, starts[1:])):
            raise ValueError(f"screening_rates must have strictly increasing from_month, got {starts}")
        if self.screening_rates[-1].per_month <= 0:
            raise ValueError("the last screening rate must be positive, or accrual can never finish")
        return self


class RasMutant(Strict):
    """P(truly RAS-mutant at the test) decays with time since the last cetuximab dose.

    p(t) = min(1, prob_at_reference * 2 ** (-(t - reference_months) / half_life_months)).
    """

    prob_at_reference: Prob = 0.40
    reference_months_since_cetuximab: NonNegFloat = 6.0
    half_life_months: PosFloat = 3.7
    months_since_cetuximab: Duration = Field(
        default_factory=lambda: Duration(distribution="fixed", mean=6.0),
        description="distribution of months since the last cetuximab dose at screening "
        "(its parameters are in months, not days)",
    )


class Screening(Strict):
    turnaround_days: Duration = Field(default_factory=lambda: Duration(distribution="fixed", mean=9.0))
    assay_failure_prob: Prob = 0.05
    retest_on_failure: bool = True
    ras_mutant: RasMutant = Field(default_factory=RasMutant)
    assay_sensitivity: Prob = Field(0.85, description="P(mutant result | truly RAS-mutant)")
    assay_specificity: Prob = Field(1.0, description="P(wild-type result | truly wild-type)")
    non_molecular_failure_prob: Prob = 0.20
    death_while_waiting_per_month: NonNegFloat = Field(
        0.0, description="hazard of death or deterioration that ends screening, per month of waiting"
    )


class Stratum(Strict):
    name: str = Field(min_length=1)
    levels: dict[str, PosFloat] = Field(min_length=1, description="level -> share (normalized)")


class Randomization(Strict):
    ratio: tuple[PosInt, PosInt] = Field((1, 1), description="rechallenge : control")
    block_size: PosInt = 4
    strata: list[Stratum] = Field(default_factory=list, max_length=5)

    @model_validator(mode="after")
    def _block_fits_ratio(self):
        total = sum(self.ratio)
        if self.block_size % total:
            raise ValueError(
                f"block_size {self.block_size} is not a multiple of the ratio total {total} "
                f"({self.ratio[0]}:{self.ratio[1]})"
            )
        return self


class Backbone(Strict):
    name: str = Field(min_length=1)
    share: PosFloat = Field(description="share of patients the multidisciplinary team gives it (normalized)")
    cycle_days: PosInt


class Delay(Strict):
    prob_per_cycle: Prob = 0.0
    days: Duration = Field(default_factory=lambda: Duration(distribution="fixed", mean=7.0))


class Treatment(Strict):
    days_to_first_cycle: NonNegFloat = Field(0.0, description="randomization to first treatment day")
    backbones: list[Backbone] = Field(min_length=1, max_length=50)
    delay: Delay = Field(default_factory=Delay)
    discontinuation_toxicity_prob_per_cycle: Prob = 0.0
    withdrawal_prob_per_cycle: Prob = 0.0


class Imaging(Strict):
    scan_after_cycles: list[PosInt] = Field([4, 8, 12], min_length=1, max_length=50)
    follow_up_interval_days: PosFloat = Field(56.0, description="calendar scans after the cycle-tied ones")
    clinical_detection_prob: Prob = Field(
        0.0, description="share of progressions that are clinically obvious before the next scan"
    )
    clinical_detection_lag_days: NonNegFloat = 14.0
    progression_seen: Literal["at_scans", "continuous"] = Field(
        "at_scans", description="at_scans: PFS analyses see progression at the scan that shows it; continuous: "
        "on the day it happens (the textbook setting of survival power formulas)")

    @model_validator(mode="after")
    def _cycles_increasing(self):
        c = self.scan_after_cycles
        if any(b <= a for a, b in zip(c, c[1:])):
            raise ValueError(f"scan_after_cycles must be strictly increasing, got {c}")
        return self


class ArmEffect(Strict):
    """What one arm's truly RAS wild-type patients experience.

    ``dcr`` and ``orr`` are the probabilities of disease control (CR/PR/SD) and of
    response (CR/PR) at the reference assessment day; ``median_pfs_true_months`` is the
    median of the *true* (not scan-observed) time to progression or death. Instead of dcr
    and the median, a non-control arm may give ``pfs_hazard_ratio`` against control
    (proportional hazards: S(t) = S_control(t) ** hr). For survival give one of
    ``median_os_months``, ``median_pps_months`` (post-progression survival) or, for a
    non-control arm, ``os_hazard_ratio`` (the median where S_control,OS = 0.5 ** (1/hr)).
    """

    dcr: OpenProb | None = None
    orr: Prob
    median_pfs_true_months: Months | None = None
    pfs_hazard_ratio: PosFloat | None = None
    median_os_months: Months | None = None
    median_pps_months: Months | None = None
    os_hazard_ratio: PosFloat | None = None
    death_as_first_event_prob: Prob = Field(
        0.10, description="share of PFS events that are deaths without progression"
    )
    cr_share_of_responses: Prob = 0.10

    @model_validator(mode="after")
    def _coherent_within_arm(self):
        by_figures = self.dcr is not None or self.median_pfs_true_months is not None
        if by_figures == (self.pfs_hazard_ratio is not None):
            raise ValueError("give either dcr and median_pfs_true_months, or pfs_hazard_ratio (not both)")
        if by_figures and (self.dcr is None or self.median_pfs_true_months is None):
            missing = "dcr" if self.dcr is None else "median_pfs_true_months"
            raise ValueError(f"{missing} is missing: dcr and median_pfs_true_months go together")
        if self.dcr is not None and self.orr > self.dcr:
            raise ValueError(
                f"orr {self.orr} is above dcr {self.dcr}; orr must be at most dcr: responders (CR/PR) are "
                f"part of disease control"
            )
        survival = [self.median_os_months, self.median_pps_months, self.os_hazard_ratio]
        if sum(v is not None for v in survival) != 1:
            raise ValueError("give exactly one of median_os_months, median_pps_months and os_hazard_ratio")
        if (self.median_os_months is not None and self.median_pfs_true_months is not None
                and self.median_os_months <= self.median_pfs_true_months and self.death_as_first_event_prob < 1.0):
            raise ValueError(
                f"median_os_months {self.median_os_months} must exceed median_pfs_true_months "
                f"{self.median_pfs_true_months}: every death comes at or after progression"
            )
        return self

    @property
    def relative(self) -> bool:
        """True when a figure is a hazard ratio against the control arm."""
        return self.pfs_hazard_ratio is not None or self.os_hazard_ratio is not None


class Effects(Strict):
    reference_assessment_day: PosFloat = Field(
        56.0, description="day after the first treatment at which dcr and orr are defined "
        "(the first scan of a 14-day schedule, as published)"
    )
    control: ArmEffect
    rechallenge: ArmEffect
    ras_mutant: ArmEffect | Literal["control"] = Field(
        "control", description="outcomes of truly RAS-mutant patients let in by the assay, in both arms"
    )

    @model_validator(mode="after")
    def _control_is_absolute(self):
        if self.control.relative:
            raise ValueError("control cannot use hazard ratios (they are relative to the control arm); give the "
                             "control arm dcr, median_pfs_true_months and median_os_months (or median_pps_months)")
        return self


TESTS = ("fisher", "chisq", "chisq_cc", "boschloo", "barnard", "bayes")
DCR_DEFINITIONS = ("first_scan", "best_response", "controlled")
Pair = tuple[PosFloat, PosFloat]


class Bayes(Strict):
    """The Bayesian rule: independent beta priors; reject when P(p_rechallenge > p_control | data) > threshold."""

    threshold: OpenProb = Field(0.95, description="posterior probability the rule must exceed")
    prior_rechallenge: Pair = Field((1.0, 1.0), description="beta(a, b) prior of the rechallenge DCR")
    prior_control: Pair = Field((1.0, 1.0), description="beta(a, b) prior of the control DCR")


class Interim(Strict):
    """One futility look, once ``after_first_scans`` randomized patients have a first-scan outcome.

    Accrual goes on until the look. The look sees disease control at the first scan (ITT) of
    the patients whose outcome is known; it stops the trial when its figure is below
    ``stop_below``: the observed DCR difference (rechallenge minus control), or the
    predictive probability that the final analysis rejects (beta-binomial, ``prior`` in both arms).
    """

    after_first_scans: PosInt
    rule: Literal["dcr_difference", "predictive_probability"] = "predictive_probability"
    stop_below: Annotated[float, Field(ge=-1.0, le=1.0, allow_inf_nan=False), _Number] = 0.10
    prior: Pair = (1.0, 1.0)

    @model_validator(mode="after")
    def _threshold_in_range(self):
        if self.rule == "predictive_probability" and not 0 <= self.stop_below <= 1:
            raise ValueError(f"stop_below {self.stop_below} is not a probability; with rule predictive_probability "
                             f"it must be between 0 and 1")
        return self


class AnalysisCore(Strict):
    """How one simulated trial is analysed; every field may differ between analysis variants."""

    test: Literal[TESTS] = Field("fisher", description="test of the DCR (and ORR) comparison")
    alpha: OpenProb = Field(0.025, description="level of the frequentist tests (DCR, ORR, log-rank)")
    sided: Literal["one", "two"] = "one"
    bayes: Bayes = Field(default_factory=Bayes, description="used when test is bayes")
    dcr_definition: Literal[DCR_DEFINITIONS] = Field(
        "first_scan", description="first_scan: CR/PR/SD at the first scan; best_response: best response "
        "CR/PR/SD over the scans through cycle dcr_horizon_cycles; controlled: no progression at any scan "
        "through the scan after cycle dcr_horizon_cycles (that scan must have happened)")
    dcr_horizon_cycles: PosInt = Field(12, description="best_response and controlled count the scans through "
                                       "the one after this cycle (one of imaging.scan_after_cycles); a patient off "
                                       "treatment by then has calendar scans of the same rank instead")
    population: Literal["itt", "evaluable"] = Field(
        "itt", description="itt: all randomized, no scan counts as failure; evaluable: patients with at least "
        "one post-baseline scan by the analysis")
    primary_analysis: Literal["outcomes_known", "months_after_last_randomized"] = Field(
        "outcomes_known", description="when the DCR analysis happens: once every randomized patient's DCR outcome "
        "is known (the scan that defines it, or an event that ends follow-up before it), or at a fixed time "
        "after the last randomization (patients not yet assessed then count as failures in ITT)",
    )
    primary_analysis_months: PosFloat | None = Field(
        None, description="with primary_analysis: months_after_last_randomized, how many months"
    )
    interim: Interim | None = Field(None, description="an interim futility look (none by default)")

    @model_validator(mode="after")
    def _timing_complete(self):
        fixed = self.primary_analysis == "months_after_last_randomized"
        if fixed != (self.primary_analysis_months is not None):
            raise ValueError("primary_analysis_months goes with primary_analysis: months_after_last_randomized "
                             "(and only with it)")
        return self


class _Patch(Strict):
    """Fields to change in a nested section; only those given are written back (so it reads back the same)."""

    @model_serializer(mode="wrap")
    def _only_given(self, handler):
        return {k: v for k, v in handler(self).items() if k in self.model_fields_set}


class BayesPatch(_Patch):
    threshold: OpenProb | None = None
    prior_rechallenge: Pair | None = None
    prior_control: Pair | None = None


class InterimPatch(_Patch):
    after_first_scans: PosInt | None = None
    rule: Literal["dcr_difference", "predictive_probability"] | None = None
    stop_below: Annotated[float, Field(ge=-1.0, le=1.0, allow_inf_nan=False), _Number] | None = None
    prior: Pair | None = None


class AnalysisVariant(Strict):
    """Another analysis of the same simulated trials: the fields it changes (the rest as in ``analysis``)."""

    label: str | None = Field(None, min_length=1, max_length=400, description="name shown in tables")
    test: Literal[TESTS] | None = None
    alpha: OpenProb | None = None
    sided: Literal["one", "two"] | None = None
    bayes: BayesPatch | None = Field(None, description="the bayes fields to change")
    dcr_definition: Literal[DCR_DEFINITIONS] | None = None
    dcr_horizon_cycles: PosInt | None = None
    population: Literal["itt", "evaluable"] | None = None
    primary_analysis: Literal["outcomes_known", "months_after_last_randomized"] | None = None
    primary_analysis_months: PosFloat | None = None
    interim: InterimPatch | None = Field(None, description="the interim fields to change (null: no look)")

    @model_serializer(mode="wrap")
    def _only_given(self, handler):
        """A variant is the fields it changes: write only those (so that it reads back the same)."""
        return {k: v for k, v in handler(self).items() if k in self.model_fields_set}


class Analysis(AnalysisCore):
    follow_up_cutoff_months: PosFloat = Field(
        24.0, description="PFS/OS data cut-off (log-rank, Cox), months after follow_up_cutoff_from"
    )
    follow_up_cutoff_from: Literal["last_randomized", "study_start"] = "last_randomized"
    label: str | None = Field(None, min_length=1, max_length=400, description="name of the primary analysis")
    variants: list[AnalysisVariant] = Field(
        [], max_length=200, description="other analyses of the same simulated trials (simulate once, analyse many)")

    @model_validator(mode="after")
    def _variants_valid(self):
        for i, v in enumerate(self.variants):
            try:
                self.variant(i)
            except ValidationError as e:
                problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'merged with analysis'}: "
                                     f"{err['msg'].removeprefix('Value error, ')}" for err in e.errors())
                raise ValueError(f"variants[{i}] does not make a valid analysis: {problems}") from None
        return self

    def variant(self, i: int) -> AnalysisCore:
        """Variant i as a whole analysis: the primary analysis with the variant's fields replaced."""
        v = self.variants[i]
        merged = {k: getattr(self, k) for k in AnalysisCore.model_fields}
        merged = {k: (x.model_dump() if isinstance(x, BaseModel) else x) for k, x in merged.items()}
        for k in v.model_fields_set - {"label"}:
            value = getattr(v, k)
            if isinstance(value, _Patch):  # nested sections change field by field
                merged[k] = {**(merged[k] or {}), **value.model_dump()}
            else:
                merged[k] = value
        if "primary_analysis" in v.model_fields_set and "primary_analysis_months" not in v.model_fields_set \
                and v.primary_analysis == "outcomes_known":
            merged["primary_analysis_months"] = None
        return AnalysisCore.model_validate(merged)

    def cores(self) -> list[tuple[str | None, AnalysisCore]]:
        """(label, analysis) for the primary analysis and each variant, in order."""
        own = AnalysisCore.model_validate({k: (x.model_dump() if isinstance(x, BaseModel) else x)
                                          for k, x in ((k, getattr(self, k)) for k in AnalysisCore.model_fields)})
        return [(self.label, own)] + [(v.label, self.variant(i)) for i, v in enumerate(self.variants)]


class MonteCarlo(Strict):
    replicates: PosInt = 1000
    seed: Annotated[int, Field(ge=0), _Number] = 20200901
    workers: PosInt = 1
    chunk_size: PosInt = Field(100, description="replicates per chunk written to disk")
    backend: Literal["local", "dask"] = Field(
        "local", description="local: joblib worker processes on this machine; dask: dask.distributed, on the "
        "cluster at `scheduler`, or on a LocalCluster of `workers` processes without one (results are identical)")
    scheduler: str | None = Field(None, min_length=1, description="dask scheduler address, e.g. tcp://host:8786")

    @model_validator(mode="after")
    def _scheduler_needs_dask(self):
        if self.scheduler is not None and self.backend != "dask":
            raise ValueError("scheduler goes with backend: dask")
        return self


class Scenario(Strict):
    name: str = Field(min_length=1)
    description: str = ""
    accrual: Accrual
    screening: Screening = Field(default_factory=Screening)
    randomization: Randomization = Field(default_factory=Randomization)
    treatment: Treatment
    imaging: Imaging = Field(default_factory=Imaging)
    effects: Effects
    analysis: Analysis = Field(default_factory=Analysis)
    monte_carlo: MonteCarlo = Field(default_factory=MonteCarlo)

    @model_validator(mode="after")
    def _analyses_fit_the_trial(self):
        target = self.accrual.target_randomized
        for i, (_, a) in enumerate(self.analysis.cores()):
            where = "analysis" if i == 0 else f"analysis.variants[{i - 1}]"
            cycles = self.imaging.scan_after_cycles
            if a.dcr_definition != "first_scan" and a.dcr_horizon_cycles not in cycles:
                raise ValueError(f"{where}.dcr_horizon_cycles {a.dcr_horizon_cycles} is not a cycle with a scan after "
                                 f"it; use one of imaging.scan_after_cycles {list(cycles)}")
            if a.interim is not None and a.interim.after_first_scans >= target:
                raise ValueError(f"{where}.interim.after_first_scans {a.interim.after_first_scans} must be below "
                                 f"accrual.target_randomized {target}: the look comes before the final analysis")
        return self
