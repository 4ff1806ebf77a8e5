"""The scenario schema: every input of a simulated trial, validated by pydantic.

One model per section of the YAML file. Units are in the field names (``_days``,
``_months``, ``_prob``) so a scenario reads without a manual. Unknown keys are
errors (``extra="forbid"``); the loader turns pydantic's errors into messages with
the file, line, field path, bad value and what is allowed.

What a trial costs to simulate is bounded here, so that no input can make a trial take unbounded
memory or time (issue 12: one trial accruing for a million months used 4.26 GB). Every time is at
most 50 years (``sim/fields.py``: ``MAX_MONTHS``, ``MAX_DAYS``, ``MAX_CYCLES``); a trial plans at most
``MAX_RANDOMIZED`` patients (the analyses enumerate every outcome table of the planned arms; the
exact unconditional tests allow fewer, their registry's ``max_arm``) in blocks of at most
``MAX_BLOCK_SIZE``; and three checks bound what fields make together, each naming the fields:

* the screening arrivals the rates expect by ``accrual.max_months`` (``MAX_EXPECTED_ARRIVALS``):
  accrual draws arrivals until the target is randomized or it gives up, so a target it never
  reaches makes it draw every arrival the rates give up to ``max_months``;
* the span of the simulated trial (``MAX_MONTHS``): accrual, then the longest follow-up after the
  last randomization (the PFS/OS cut-off, a fixed-time analysis, the last cycle-tied scan);
* the scans a trial could record (``MAX_SCANS_PER_TRIAL``): each randomized patient is scanned,
  without progression, through the whole span: the scans after cycles, then a scan every
  ``imaging.follow_up_interval_days``.

A trial takes about 1.6 kB per screening arrival, some kB more per randomized patient and 18 bytes
per scan: ``benchmarks/largest_trial.py`` runs the largest trials these bounds allow (2 replicates
in 0.59-0.64 GiB at the peak); ``docs/inputs.md`` lists every limit.
"""
from __future__ import annotations

import difflib
import math
from typing import Annotated, Any, Literal, Union

from pydantic import Discriminator, Field, Tag, ValidationError, create_model, model_validator


from ..designs import REGISTRY as DESIGN_KINDS, Design, DesignContext, infer_kind
from ..fields import (
    MAX_DAYS, MAX_MONTHS, Cycles, Days, Months, NonNegDays, NonNegFloat, NonNegMonths, Number, OpenProb, PosFloat, PosInt,
    Prob, Strict,
)
from ..units import DAYS_PER_MONTH

#: Patients a trial may plan to randomize: every analysis enumerates the (n1 + 1)(n2 + 1) outcome
#: tables of the planned arms (1,000 per arm: Fisher's p-values in ~11 s and ~0.2 GB; 5,000 per arm took
#: 1.7 GB even for chi-square); the exact unconditional tests allow less (their registry's ``max_arm``).
MAX_RANDOMIZED = 2_000
#: Screening arrivals a trial's accrual may expect by ``accrual.max_months`` (each is simulated).
MAX_EXPECTED_ARRIVALS = 50_000
#: Screening arrivals one chunk of trials may expect (a worker simulates a chunk's trials at once;
#: about 1.6 kB each: 0.8 GB at most). The default scenario expects ~280 per trial by max_months.
MAX_ARRIVALS_PER_CHUNK = 500_000
#: Scans a trial could record (randomized patients times scans per patient over the trial's span).
MAX_SCANS_PER_TRIAL = 1_000_000
#: Patients in a permuted block of the randomization (each block is drawn whole).
MAX_BLOCK_SIZE = 1_000


class FieldError(ValueError):
    """A check across fields that blames one of them: ``loc``, the field's path from the model that
    raises it, and ``message``; the loader reports it at that field's line."""

    def __init__(self, loc: tuple, message: str):
        self.loc, self.message = loc, message
        super().__init__(f"{'.'.join(map(str, loc))}: {message}")


class Duration(Strict):
    """A random duration in days, drawn by inverse CDF so that common random numbers pair designs.

    ``fixed`` uses ``mean`` only; ``gamma`` and ``lognormal`` are parametrised by mean and sd
    (the figures publications report); ``uniform`` by ``low`` and ``high``. Each is at most
    ``MAX_DAYS`` (50 years); a duration in months (``months_since_cetuximab``) at most ``MAX_MONTHS``.
    """

    distribution: Literal["fixed", "gamma", "lognormal", "uniform"] = "fixed"
    mean: NonNegDays | None = None
    sd: Days | None = None
    low: NonNegDays | None = None
    high: NonNegDays | None = None

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
    from_month: NonNegMonths = Field(description="start of this piece, months since the first site opened")
    per_month: NonNegFloat = Field(description="patients arriving for ctDNA screening per month")


class Accrual(Strict):
    target_randomized: Annotated[int, Field(gt=0, le=MAX_RANDOMIZED), Number] = Field(
        50, description="randomized patients at which accrual stops")
    screening_rates: list[RatePiece] = Field(
        min_length=1, max_length=1000,
        description="piecewise-constant Poisson rate of screening arrivals (site activation ramps up)",
    )
    max_months: Months = Field(240.0, description=f"give up accruing after this many months (at most {MAX_MONTHS:g}, "
                               f"and the rates may expect at most {MAX_EXPECTED_ARRIVALS:,} arrivals by then)")
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

    def expected_arrivals(self) -> float:
        """Screening arrivals the rates expect by ``max_months``: what accrual draws if the target is never reached."""
        pieces = self.screening_rates
        ends = [p.from_month for p in pieces[1:]] + [self.max_months]
        return sum(p.per_month * max(0.0, min(end, self.max_months) - p.from_month) for p, end in zip(pieces, ends))

    @model_validator(mode="after")
    def _arrivals_bounded(self):
        expected = self.expected_arrivals()
        if expected > MAX_EXPECTED_ARRIVALS:
            raise FieldError(("max_months",), (
                f"{self.max_months:g} months at accrual.screening_rates (up to {max(p.per_month for p in self.screening_rates):g} "
                f"per month) expect {expected:,.0f} screening arrivals, should the target not be reached; a trial may "
                f"expect at most {MAX_EXPECTED_ARRIVALS:,} (each is simulated): lower max_months or the rates"))
        return self


class RasMutant(Strict):
    """P(truly RAS-mutant at the test) decays with time since the last cetuximab dose.

    p(t) = min(1, prob_at_reference * 2 ** (-(t - reference_months) / half_life_months)).
    """

    prob_at_reference: Prob = 0.40
    reference_months_since_cetuximab: NonNegMonths = 6.0
    half_life_months: Months = 3.7
    months_since_cetuximab: Duration = Field(
        default_factory=lambda: Duration(distribution="fixed", mean=6.0),
        description="distribution of months since the last cetuximab dose at screening "
        f"(its parameters are in months, not days: at most {MAX_MONTHS:g})",
    )

    @model_validator(mode="after")
    def _months_bounded(self):
        d = self.months_since_cetuximab
        for name in ("mean", "sd", "low", "high"):
            value = getattr(d, name)
            if value is not None and value > MAX_MONTHS:
                raise FieldError(("months_since_cetuximab", name), f"{value:g} months is more than {MAX_MONTHS:g} "
                                 f"(50 years); this duration is in months")
        return self


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
    block_size: Annotated[int, Field(gt=0, le=MAX_BLOCK_SIZE), Number] = Field(
        4, description="patients per permuted block (a multiple of the ratio's total)")
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
    cycle_days: Annotated[int, Field(gt=0, le=int(MAX_DAYS)), Number]


class Delay(Strict):
    prob_per_cycle: Prob = 0.0
    days: Duration = Field(default_factory=lambda: Duration(distribution="fixed", mean=7.0))


class Treatment(Strict):
    days_to_first_cycle: NonNegDays = Field(0.0, description="randomization to first treatment day")
    backbones: list[Backbone] = Field(min_length=1, max_length=50)
    delay: Delay = Field(default_factory=Delay)
    discontinuation_toxicity_prob_per_cycle: Prob = 0.0
    withdrawal_prob_per_cycle: Prob = 0.0


class Imaging(Strict):
    scan_after_cycles: list[Cycles] = Field([4, 8, 12], min_length=1, max_length=50)
    follow_up_interval_days: Annotated[float, Field(ge=1.0, le=MAX_DAYS, allow_inf_nan=False), Number] = Field(
        56.0, description="calendar scans after the cycle-tied ones (at least a day apart)")
    clinical_detection_prob: Prob = Field(
        0.0, description="share of progressions that are clinically obvious before the next scan"
    )
    clinical_detection_lag_days: NonNegDays = 14.0
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
    reference_assessment_day: Days = Field(
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


class VariantError(ValueError):
    """A variant that does not make a valid design: ``problems`` are (path within the variant, message)."""

    def __init__(self, index: int, problems: list[tuple[tuple, str]]):
        self.index, self.problems = index, problems
        super().__init__(f"variants[{index}] does not make a valid design: " + "; ".join(
            f"{'.'.join(map(str, loc)) or '(the variant)'}: {msg}" for loc, msg in problems))


def merge(base: dict, changes: dict) -> dict:
    """``base`` with ``changes``: nested sections (bayes, interim) change field by field."""
    out = dict(base)
    for k, v in changes.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _variant_message(err: dict, cls: type[Design]) -> str:
    """One problem of a variant as the loader words a file's: unknown keys with a suggestion."""
    if err["type"] == "extra_forbidden" and len(err["loc"]) == 1:
        allowed = [f for f in cls.model_fields if f != "kind"]
        guess = difflib.get_close_matches(str(err["loc"][0]), allowed, n=1)
        return ("unknown key" + (f"; did you mean '{guess[0]}'?" if guess else ".") + f" Allowed here: "
                f"{', '.join(allowed)}")
    msg = err["msg"].removeprefix("Value error, ")
    return msg if err["type"].startswith("value_error") or err["type"] == "missing" else \
        f"{msg} (got {err.get('input')!r})"


class AnalysisSection(Strict):
    """The fields of ``analysis`` shared by every design of a simulation (the PFS/OS data cut-off and the
    list of variants); the primary design's own fields sit beside them, with its ``kind``."""

    follow_up_cutoff_months: Months = Field(
        24.0, description="PFS/OS data cut-off (log-rank, Cox), months after follow_up_cutoff_from")
    follow_up_cutoff_from: Literal["last_randomized", "study_start"] = "last_randomized"
    variants: list[dict[str, Any]] = Field(
        [], max_length=200, description="other designs analysed on the same simulated trials (simulate once, analyse "
        "many): each lists the fields it changes from the primary design (nested sections field by field; a "
        "different kind with 'kind', or inferred: 'interim' makes a futility design, 'interim: null' removes it)")

    def primary(self) -> Design:
        """The primary design, without the section's shared fields."""
        cls = DESIGN_KINDS[self.kind]
        return cls.model_validate({k: getattr(self, k) for k in cls.model_fields})

    def designs(self) -> list[Design]:
        """The primary design, then each variant as a whole design."""
        return [self.primary()] + [self.variant(i) for i in range(len(self.variants))]

    def variant(self, i: int) -> Design:
        base = self.primary().model_dump(exclude={"kind", "label"})
        changes = self.variants[i]
        merged = merge(base, changes)
        if changes.get("primary_analysis") == "outcomes_known" and "primary_analysis_months" not in changes:
            merged["primary_analysis_months"] = None
        kind = changes.get("kind") or infer_kind(merged)
        if kind not in DESIGN_KINDS:
            raise VariantError(i, [(("kind",), f"unknown design kind {kind!r}; allowed: {', '.join(DESIGN_KINDS)}")])
        cls = DESIGN_KINDS[kind]
        known = {f for c in DESIGN_KINDS.values() for f in c.model_fields}  # e.g. 'interim: null' of a fixed one
        merged = {k: v for k, v in merged.items() if k in cls.model_fields or v is not None or k not in known}
        merged["kind"] = kind
        try:
            return cls.model_validate(merged)
        except ValidationError as e:
            raise VariantError(i, [(tuple(err["loc"]), _variant_message(err, cls))
                                   for err in e.errors(include_url=False)]) from None

    @model_validator(mode="after")
    def _variants_valid(self):
        for i in range(len(self.variants)):
            self.variant(i)
        return self


def _analysis_class(cls: type[Design]) -> type:
    """The ``analysis`` section of a scenario whose primary design is of kind ``cls``."""
    return create_model(f"{cls.__name__.removesuffix('Design')}Analysis", __base__=(AnalysisSection, cls),
                        __doc__=f"analysis: {cls.__doc__ or cls.__name__}")


ANALYSIS_KINDS = {kind: _analysis_class(cls) for kind, cls in DESIGN_KINDS.items()}


def _analysis_kind(value) -> str | None:
    """The kind of an analysis section: as given, or inferred from its fields (see designs.infer_kind)."""
    if isinstance(value, dict):
        return value.get("kind") or infer_kind(value)
    return getattr(value, "kind", None)


Analysis = Annotated[
    Union[tuple(Annotated[c, Tag(kind)] for kind, c in ANALYSIS_KINDS.items())],
    Discriminator(_analysis_kind, custom_error_type="design_kind",
                  custom_error_message=f"unknown design kind; allowed: {', '.join(DESIGN_KINDS)}"),
]


class MonteCarlo(Strict):
    replicates: PosInt = 1000
    seed: Annotated[int, Field(ge=0), Number] = 20200901
    workers: PosInt = 1
    chunk_size: PosInt = Field(100, description="replicates per chunk written to disk")
    backend: Literal["local", "dask"] = Field(
        "local", description="local: joblib worker processes on this machine; dask: dask.distributed, on the "
        "cluster at `scheduler`, or on a LocalCluster of `workers` processes without one (results are identical)")
    scheduler: str | None = Field(None, min_length=1, description="dask scheduler address, e.g. tcp://host:8786")
    worker_wait_s: Annotated[float, Field(gt=0, le=86400), Number] = Field(
        120.0, description="dask: how long to wait for the cluster's first worker (and for a worker while none is "
        "left) before stopping with a message; the finished chunks are kept for --resume")

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
    analysis: Analysis = Field(default_factory=lambda: ANALYSIS_KINDS["fixed"](),
                               description="the primary design (its kind and fields), the PFS/OS data cut-off and "
                               "the variants: other designs analysed on the same simulated trials")
    monte_carlo: MonteCarlo = Field(default_factory=MonteCarlo)

    def design_context(self) -> DesignContext:
        a, b = self.randomization.ratio
        target = self.accrual.target_randomized
        n1 = round(target * a / (a + b))
        return DesignContext(tuple(self.imaging.scan_after_cycles), (n1, target - n1), target)

    def designs(self) -> list[Design]:
        """The primary design, then each variant."""
        return self.analysis.designs()

    @model_validator(mode="after")
    def _designs_fit_the_trial(self):
        ctx = self.design_context()
        for i, d in enumerate(self.designs()):
            where = "analysis" if i == 0 else f"analysis.variants[{i - 1}]"
            for field, message in d.check(ctx):
                raise ValueError(f"{where}.{field} {message}")
        return self

    def span(self) -> tuple[float, tuple, str]:
        """The longest the simulation may run, in months from the first site opening (toxicity delays
        aside): accrual to ``max_months``, then the longest follow-up after the last randomization.
        Returns (months, the field of that follow-up, how the span adds up)."""
        months = self.accrual.max_months
        cutoff = self.analysis.follow_up_cutoff_months
        where = ("analysis", "follow_up_cutoff_months")
        accrual = f"accrual.max_months {months:g} + "
        if self.analysis.follow_up_cutoff_from == "study_start":
            spans = [(cutoff, where, f"analysis.follow_up_cutoff_months {cutoff:g} from the study start")]
        else:
            how = f"{accrual}analysis.follow_up_cutoff_months {cutoff:g} after the last randomization"
            spans = [(months + cutoff, where, how)]
        for i, d in enumerate(self.designs()):
            fixed = getattr(d, "primary_analysis_months", None)
            if fixed is not None:
                loc = ("analysis",) + (("variants", i - 1) if i else ()) + ("primary_analysis_months",)
                name = f"analysis.variants[{i - 1}]" if i else "analysis"
                how = f"{accrual}{name}.primary_analysis_months {fixed:g} after the last randomization"
                spans.append((months + fixed, loc, how))
        last_cycle, cycle_days = max(self.imaging.scan_after_cycles), max(b.cycle_days for b in self.treatment.backbones)
        scan_months = (self.treatment.days_to_first_cycle + last_cycle * cycle_days) / DAYS_PER_MONTH
        how = f"{accrual}the scan after cycle {last_cycle} of {cycle_days}-day cycles {scan_months:.4g} months after " \
              f"randomization"
        spans.append((months + scan_months, ("imaging", "scan_after_cycles"), how))
        return max(spans, key=lambda span: span[0])

    @model_validator(mode="after")
    def _size_bounded(self):
        """The trial's span and the scans it could record are bounded (see the module docstring)."""
        months, loc, how = self.span()
        if months > MAX_MONTHS:
            raise FieldError(loc, f"{how} make the simulated trial span {months:.4g} months; it may span at most "
                             f"{MAX_MONTHS:g} months (50 years): shorten accrual or the follow-up")
        target, interval = self.accrual.target_randomized, self.imaging.follow_up_interval_days
        tied = len(self.imaging.scan_after_cycles)
        per_patient = tied + math.ceil(months * DAYS_PER_MONTH / interval)
        if target * per_patient > MAX_SCANS_PER_TRIAL:
            raise FieldError(("accrual", "target_randomized"), (
                f"{target:,} randomized patients, each followed for up to {months:.4g} months ({how}) with {tied} "
                f"scans after cycles and then one every {interval:g} days (imaging.follow_up_interval_days), could have "
                f"{target * per_patient:,} scans; a trial may have at most {MAX_SCANS_PER_TRIAL:,} (each is simulated): "
                f"lower target_randomized, shorten accrual (accrual.max_months) or the follow-up, or scan less often"))
        return self

    @model_validator(mode="after")
    def _chunk_bounded(self):
        """A worker holds a whole chunk of trials at once: chunk_size x the arrivals one trial may expect is
        bounded (``MAX_ARRIVALS_PER_CHUNK``), so that a large trial is run in small chunks."""
        per_trial = max(self.accrual.expected_arrivals(), self.accrual.target_randomized)
        size = self.monte_carlo.chunk_size
        if size * per_trial > MAX_ARRIVALS_PER_CHUNK:
            most = max(1, int(MAX_ARRIVALS_PER_CHUNK // per_trial))
            raise FieldError(("monte_carlo", "chunk_size"), (
                f"{size:,} trials a chunk, each expecting up to {per_trial:,.0f} screening arrivals (accrual), make "
                f"{size * per_trial:,.0f} in one worker's memory at once; at most {MAX_ARRIVALS_PER_CHUNK:,} are allowed: "
                f"use a chunk_size of at most {most:,} for this trial"))
        return self
