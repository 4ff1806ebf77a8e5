"""A fixed-sample design: one analysis of the DCR comparison, by a registered binary test.

The analysis happens once every randomized patient's DCR outcome is known (the scan the definition
needs, or an event that ends follow-up before it), or at a fixed time after the last randomization
(patients not yet assessed then count as failures in ITT). The ITT population is every randomized
patient; the evaluable one, those with a post-baseline scan by the analysis. The same test at the
same level decides the ORR comparison; the PFS and OS log-rank tests use the level and sidedness.

A trial that did not reach its randomization target (accrual gave up at ``accrual.max_months``)
does not reject: it never had its planned analysis. Its accrual ran to where it stopped, and its
time to the analysis is at least that.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator
from scipy.stats import norm

from ..endpoints.dcr import REGISTRY as DCR_DEFINITIONS
from ..fields import Cycles, Months, OpenProb, Pair, Strict
from ..stats import binary
from ..stats.exact import exact_power
from ..stats.binary_tests import REGISTRY as TESTS
from ..stats.intervals import newcombe_difference
from ..units import DAYS_PER_MONTH
from . import register
from .base import Design
from .counts import ArmPair, ChunkCounts, CountKey, DcrCounts, DesignContext, LookCounts

_TEST_HELP = "; ".join(f"{name}: {t.description}" for name, t in TESTS.items())
_DCR_HELP = "; ".join(f"{name}: {d.description}" for name, d in DCR_DEFINITIONS.items())


class Bayes(Strict):
    """The Bayesian rule: independent beta priors; reject when P(p_rechallenge > p_control | data) > threshold."""

    threshold: OpenProb = Field(0.95, description="posterior probability the rule must exceed")
    prior_rechallenge: Pair = Field((1.0, 1.0), description="beta(a, b) prior of the rechallenge DCR")
    prior_control: Pair = Field((1.0, 1.0), description="beta(a, b) prior of the control DCR")


@register
class FixedDesign(Design):
    """One final analysis of the DCR comparison."""

    kind: Literal["fixed"] = Field("fixed", description="fixed: one final analysis")
    test: Literal[tuple(TESTS)] = Field("fisher", description=f"test of the DCR (and ORR) comparison ({_TEST_HELP})")
    alpha: OpenProb = Field(0.025, description="level of the frequentist tests (DCR, ORR, log-rank)")
    sided: Literal["one", "two"] = Field("one", description="one: rechallenge better; two: either direction")
    bayes: Bayes = Field(default_factory=Bayes, description="used when test is bayes")
    dcr_definition: Literal[tuple(DCR_DEFINITIONS)] = Field("first_scan", description=f"what counts as disease "
                                                                                     f"control ({_DCR_HELP})")
    dcr_horizon_cycles: Cycles = Field(12, description="definitions that read several scans count those through "
                                       "the one after this cycle (one of imaging.scan_after_cycles); a patient off "
                                       "treatment by then has calendar scans of the same rank instead")
    population: Literal["itt", "evaluable"] = Field(
        "itt", description="itt: all randomized, no scan counts as failure; evaluable: patients with at least "
        "one post-baseline scan by the analysis")
    primary_analysis: Literal["outcomes_known", "months_after_last_randomized"] = Field(
        "outcomes_known", description="when the DCR analysis happens: once every randomized patient's DCR outcome "
        "is known (the scan that defines it, or an event that ends follow-up before it), or at a fixed time "
        "after the last randomization (patients not yet assessed then count as failures in ITT)")
    primary_analysis_months: Months | None = Field(
        None, description="with primary_analysis: months_after_last_randomized, how many months")

    claim_priority = -100  # the default kind: claims any section no other kind claims

    @classmethod
    def claims(cls, data: dict) -> bool:
        return True

    @model_validator(mode="after")
    def _timing_complete(self):
        fixed = self.primary_analysis == "months_after_last_randomized"
        if fixed != (self.primary_analysis_months is not None):
            raise ValueError("primary_analysis_months goes with primary_analysis: months_after_last_randomized "
                             "(and only with it)")
        return self

    # -- what it reads ----------------------------------------------------------------------
    def count_key(self, ctx: DesignContext) -> CountKey:
        definition = DCR_DEFINITIONS[self.dcr_definition]
        return CountKey(self.dcr_definition, definition.scans(self.dcr_horizon_cycles, list(ctx.scan_cycles)),
                        self.primary_analysis_months)

    def needs(self, ctx):
        return (self.count_key(ctx),), ()

    def check(self, ctx):
        if DCR_DEFINITIONS[self.dcr_definition].uses_horizon and self.dcr_horizon_cycles not in ctx.scan_cycles:
            return [("dcr_horizon_cycles", f"{self.dcr_horizon_cycles} is not a cycle with a scan after it; use one "
                                           f"of imaging.scan_after_cycles {list(ctx.scan_cycles)}")]
        most = TESTS[self.test].max_arm
        if most is not None and max(ctx.planned) > most:
            message = (f"{self.test} is computed for arms of at most {most} patients (its p-values of every outcome "
                       f"table take memory and time growing as n^2.5), and the planned arms are {ctx.planned[0]} and "
                       f"{ctx.planned[1]} (accrual.target_randomized {ctx.target_randomized}); use fisher or chisq for "
                       f"larger arms")
            return [("test", message)]
        return []

    # -- the binary rule -------------------------------------------------------------------
    @property
    def prior(self) -> tuple | None:
        """The test's beta priors ((a1, b1), (a2, b2)), rechallenge first; None for tests without one."""
        if not TESTS[self.test].takes_prior:
            return None
        return (tuple(self.bayes.prior_rechallenge), tuple(self.bayes.prior_control))

    @property
    def region_alpha(self) -> float:
        """The level the rejection region is cut at (the Bayesian rule: 1 - threshold)."""
        return 1.0 - self.bayes.threshold if self.test == "bayes" else self.alpha

    def binary_rule(self) -> tuple:
        """(test, level, sided, prior): the arguments of stats.binary.rejection_region."""
        return self.test, self.region_alpha, self.sided, self.prior

    def binary_reject(self, n: ArmPair, x: ArmPair) -> np.ndarray:
        """The design's binary test on per-trial counts; False where an arm is empty."""
        n1, n2, x1, x2 = (np.asarray(v, dtype=np.int64) for v in (n.rechallenge, n.control, x.rechallenge, x.control))
        out = np.zeros(len(n1), dtype=bool)
        ok = (n1 > 0) & (n2 > 0)
        test, alpha, sided, prior = self.binary_rule()
        for a, b in set(zip(n1[ok].tolist(), n2[ok].tolist())):
            rows = ok & (n1 == a) & (n2 == b)
            region = binary.rejection_region(a, b, test, alpha, sided, prior)
            out[rows] = region[x1[rows], x2[rows]]
        return out

    def survival_reject(self, z) -> np.ndarray:
        """Log-rank decision from the signed z (> 0 favours rechallenge); NaN (no events) never rejects."""
        z = np.asarray(z, dtype=float)
        with np.errstate(invalid="ignore"):
            if self.sided == "one":
                return z >= norm.isf(self.alpha)
            return np.abs(z) >= norm.isf(self.alpha / 2)

    # -- deciding --------------------------------------------------------------------------
    def final_analysis(self, counts: ChunkCounts, ctx: DesignContext) -> dict:
        """The final analysis of every trial, before any interim stop: arm sizes, counts and timing."""
        f = counts.facts
        c: DcrCounts = counts.dcr[self.count_key(ctx)]
        n = f.randomized_per_arm if self.population == "itt" else c.evaluable
        return {"n": n, "evaluable": c.evaluable, "control": c.control, "response": c.response, "day": c.day,
                "screened": f.n_screened, "randomized": f.n_randomized, "accrual_months": f.accrual_months,
                "stopped": np.zeros(len(f), dtype=bool), "looked": np.zeros(len(f), dtype=bool),
                "stop_look": np.zeros(len(f), dtype=np.int8), "stopped_for_efficacy": np.zeros(len(f), dtype=bool),
                "survival_go": np.ones(len(f), dtype=bool)}

    def stop_at(self, counts: ChunkCounts, a: dict, look: LookCounts, stopped: np.ndarray, number: int,
                efficacy: np.ndarray | None = None) -> None:
        """End the trials ``stopped`` at interim look ``number`` (1-based): their figures and estimates
        become those the look saw, their duration ends there, and PFS/OS analyses cut after it do not
        happen (those cut before it, with a cut-off fixed from the study's start, still do)."""
        seen = look.known if self.population == "itt" else look.evaluable
        cutoff_day = counts.facts.cutoff_months * DAYS_PER_MONTH
        eff = np.zeros(len(stopped), dtype=bool) if efficacy is None else efficacy & stopped
        a.update(
            stopped=a["stopped"] | stopped,
            stop_look=np.where(stopped, number, a["stop_look"]).astype(np.int8),
            stopped_for_efficacy=a["stopped_for_efficacy"] | eff,
            day=np.where(stopped, look.day, a["day"]),
            screened=np.where(stopped, look.screened, a["screened"]),
            randomized=np.where(stopped, look.randomized, a["randomized"]),
            accrual_months=np.where(stopped, look.accrual_months, a["accrual_months"]),
            n=a["n"].where(stopped, seen), control=a["control"].where(stopped, look.control),
            response=a["response"].where(stopped, look.response),
            evaluable=a["evaluable"].where(stopped, look.evaluable),
            survival_go=np.where(stopped, cutoff_day <= look.day, a["survival_go"]),
        )

    def decide(self, counts: ChunkCounts, ctx: DesignContext) -> dict[str, np.ndarray]:
        return self.conclude(counts, self.final_analysis(counts, ctx))

    def conclude(self, counts: ChunkCounts, a: dict, reject: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Decisions, estimates and durations from an analysis ``a`` (final_analysis, or what a stop left).

        ``reject``: the DCR decisions when the design makes them itself (a group-sequential rule);
        otherwise the binary test decides at the final analysis of trials that did not stop."""
        f = counts.facts
        complete = np.asarray(f.accrual_complete, dtype=bool)
        go = ~a["stopped"] & complete
        survival_go = a["survival_go"] & complete
        n, x, r, e = a["n"], a["control"], a["response"], a["evaluable"]
        diff, low, high = newcombe_difference(x.rechallenge, n.rechallenge, x.control, n.control)
        day = np.asarray(a["day"], dtype=float)
        # A trial that gave up accruing takes at least until accrual stopped (NaN day: nobody randomized).
        day = np.where(complete, day, np.fmax(day, f.accrual_end_day))
        return {
            "reject": go & self.binary_reject(n, x) if reject is None else reject,
            "reject_orr": go & self.binary_reject(n, r),
            "reject_pfs": survival_go & self.survival_reject(f.pfs_z),
            "reject_os": survival_go & self.survival_reject(f.os_z),
            "looked": a["looked"], "stopped": a["stopped"], "stop_look": a["stop_look"],
            "stopped_for_efficacy": a["stopped_for_efficacy"],
            "n_rechallenge": n.rechallenge, "n_control": n.control,
            "n_evaluable_rechallenge": e.rechallenge, "n_evaluable_control": e.control,
            "dcr_successes_rechallenge": x.rechallenge, "dcr_successes_control": x.control,
            "orr_successes_rechallenge": r.rechallenge, "orr_successes_control": r.control,
            "dcr_difference": diff, "dcr_difference_low": low, "dcr_difference_high": high,
            "n_screened": a["screened"], "n_randomized": a["randomized"],
            "accrual_complete": complete,
            "accrual_months": a["accrual_months"],
            "duration_months": day / DAYS_PER_MONTH,
        }

    def exact_reference(self, planned, p_rechallenge, p_control):
        test, alpha, sided, prior = self.binary_rule()
        return {"exact_power_plain_binomial": exact_power(planned[0], planned[1], p_rechallenge, p_control, test,
                                                          alpha, sided, prior)}

    # -- words -----------------------------------------------------------------------------
    def describe_test(self) -> str:
        if self.test == "bayes":
            (a1, b1), (a2, b2) = self.prior
            prior = "" if self.prior == ((1.0, 1.0), (1.0, 1.0)) else f" beta({a1:g},{b1:g}) vs beta({a2:g},{b2:g})"
            return f"bayes {self.sided}-sided P>{self.bayes.threshold:g}{prior}"
        return f"{self.test} {self.sided}-sided {self.alpha:g}"

    def describe(self) -> str:
        dcr = DCR_DEFINITIONS[self.dcr_definition].label(self.dcr_horizon_cycles)
        when = "" if self.primary_analysis_months is None else f", at {self.primary_analysis_months:g} mo"
        return f"{self.describe_test()}, {dcr}, {self.population}{when}"

