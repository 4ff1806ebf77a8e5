"""A fixed design with one interim futility look, placed in the event stream.

The look comes once ``after_first_scans`` randomized patients have a known first-scan outcome;
accrual goes on until then. It sees disease control at the first scan (ITT) of the patients whose
outcome is known, and stops the trial when its figure is below ``stop_below``: the observed DCR
difference (rechallenge minus control), or the predictive probability that the final analysis
rejects (beta-binomial, ``prior`` in both arms; the prediction is of an ITT first-scan comparison at
the planned arm sizes, whatever the final definition, population or timing).

A stop truncates the trial at the look: the numbers screened and randomized are those by the look,
the duration ends at the look, nothing is rejected, and the estimates are those the look saw (its
first-scan counts). The simulated trial ran on past the look, but nothing before it depends on what
happens after, so this is the trial that stops. PFS/OS analyses cut before the look (a cut-off fixed
from the study's start) still happen.
"""
from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from ..fields import Number, Pair, PosInt, Strict
from ..stats.predictive import stops
from . import register
from .counts import LookKey
from .fixed import FixedDesign


class Interim(Strict):
    """One futility look, once ``after_first_scans`` randomized patients have a first-scan outcome."""

    after_first_scans: PosInt = Field(description="randomized patients with a known first-scan outcome at the look")
    rule: Literal["dcr_difference", "predictive_probability"] = Field(
        "predictive_probability", description="dcr_difference: the observed first-scan DCR difference; "
        "predictive_probability: P(the final analysis rejects | the look)")
    stop_below: Annotated[float, Field(ge=-1.0, le=1.0, allow_inf_nan=False), Number] = Field(
        0.10, description="stop for futility when the rule's figure is below this")
    prior: Pair = Field((1.0, 1.0), description="beta(a, b) prior of each arm's DCR, for the prediction")

    @model_validator(mode="after")
    def _threshold_in_range(self):
        if self.rule == "predictive_probability" and not 0 <= self.stop_below <= 1:
            raise ValueError(f"stop_below {self.stop_below} is not a probability; with rule predictive_probability "
                             f"it must be between 0 and 1")
        return self

    def describe(self) -> str:
        what = "DCR difference" if self.rule == "dcr_difference" else "predictive P(success)"
        return f"futility look at {self.after_first_scans} first scans: stop if {what} < {self.stop_below:g}"


@register
class FutilityDesign(FixedDesign):
    """The fixed design, with one interim futility look."""

    kind: Literal["futility"] = Field("futility", description="futility: one interim futility look, then the "
                                                              "final analysis")
    interim: Interim = Field(description="the interim futility look")

    claim_priority = 10

    @classmethod
    def claims(cls, data: dict) -> bool:
        return data.get("interim") is not None

    def needs(self, ctx):
        keys, _ = super().needs(ctx)
        return keys, (LookKey(self.interim.after_first_scans),)

    def check(self, ctx):
        out = super().check(ctx)
        if self.interim.after_first_scans >= ctx.target_randomized:
            out.append(("interim.after_first_scans", f"{self.interim.after_first_scans} must be below "
                        f"accrual.target_randomized {ctx.target_randomized}: the look comes before the final "
                        f"analysis"))
        return out

    def decide(self, counts, ctx):
        a = self.final_analysis(counts, ctx)
        look = counts.looks[LookKey(self.interim.after_first_scans)]
        i = self.interim
        looked = np.isfinite(look.day) & (look.day < a["day"])  # no look after the final analysis
        test, alpha, sided, prior = self.binary_rule()
        final = (*ctx.planned, test, alpha, sided, prior, tuple(i.prior))
        stopped = looked & stops(i.rule, i.stop_below, look.known.rechallenge, look.control.rechallenge,
                                 look.known.control, look.control.control, final)
        a["looked"] = looked
        self.stop_at(counts, a, look, stopped, 1)  # a stopped trial ends at the look
        return self.conclude(counts, a)

    def exact_reference(self, planned, p_rechallenge, p_control):
        return None  # the look's rule is a prediction at the realized counts; no plain-binomial reference here

    def describe(self) -> str:
        return f"{super().describe()}, {self.interim.describe()}"
