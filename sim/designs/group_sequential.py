"""A group-sequential design: interim looks with efficacy (and optional futility) boundaries from a
spending function, then the final analysis.

Looks are placed in the event stream, as in the real trial: once ``after_first_scans`` randomized
patients have a known first-scan outcome, or at ``at_months`` after the study's start. Accrual goes
on between looks, so patients randomized while a look's outcomes mature overrun a stop. A look sees
disease control at the first scan of the patients whose outcome is known (ITT: those known; the
evaluable population: those scanned), and compares the arms by the pooled z statistic of the
difference in proportions (``stats.sequential.pooled_z_of``); the final look is the design's final
analysis (its DCR definition, population and timing), by the same statistic.

Boundaries (``stats.spending``): the efficacy bounds spend ``alpha`` by the chosen function at the
looks' information fractions t_k = (patients in the look) / (planned patients), the final look
spending whatever is left. ``boundary_scale: z`` uses the normal-theory z bounds; ``exact`` uses
exact-binomial bounds: per look the least critical value of the pooled z whose exact cumulative type
I error, maximized over the common DCR, does not exceed the spent level (``stats.sequential``).

``information: realized`` recomputes the bounds of every trial for the information it realized (the
looks that happened, at the sizes they had), as the spending approach intends; ``planned`` uses the
bounds computed once at the planned looks (a critical value per look, whatever the look saw). A look
that does not happen (the final analysis comes first, or an arm has no known outcome) spends
nothing. Futility bounds (one-sided designs) are a list of z values or come from a beta-spending
function at a stated alternative; binding bounds enter the efficacy computation, non-binding do not.

A trial that stops at a look ends there (``FixedDesign.stop_at``): its figures are those the look saw.
It rejects when it stops for efficacy, or at the final analysis when the final z reaches the last
bound and its accrual completed. The ORR comparison is made once, at the trial's end, by ``test``.
"""
from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, PrivateAttr, model_validator

from ..fields import Months, Number, OpenProb, Pair, PosInt, Strict
from ..stats import sequential as seq
from ..stats import spending
from ..stats.binary_tests import REGISTRY as TESTS
from . import register
from .base import MAX_LOOKS
from .counts import DesignContext, LookKey
from .fixed import FixedDesign

#: Largest planned arm for exact-binomial boundaries (each look's table grows as n^2 per nuisance rate).
MAX_EXACT_ARM = 150

Z = Annotated[float, Field(ge=-10.0, le=10.0, allow_inf_nan=False), Number]
Fraction = Annotated[float, Field(gt=0.0, lt=1.0, allow_inf_nan=False), Number]


class Looks(Strict):
    """Where the interim looks are (the final analysis is the last look and is not listed)."""

    after_first_scans: list[PosInt] | None = Field(
        None, min_length=1, max_length=MAX_LOOKS, description="interim looks once this many randomized patients "
        "have a known first-scan outcome (increasing)")
    at_months: list[Months] | None = Field(
        None, min_length=1, max_length=MAX_LOOKS, description="interim looks at these months after the study's start "
        "(increasing)")
    information: list[Fraction] | None = Field(
        None, min_length=1, max_length=MAX_LOOKS, description="planned information fraction of each interim look "
        "(default with after_first_scans: its share of the planned patients; required with at_months)")

    @model_validator(mode="after")
    def _one_placement(self):
        placed = [v for v in (self.after_first_scans, self.at_months) if v is not None]
        if len(placed) != 1:
            raise ValueError("give the interim looks as after_first_scans or as at_months (exactly one)")
        values = placed[0]
        if any(b <= a for a, b in zip(values, values[1:])):
            raise ValueError(f"interim looks must increase, got {values}")
        if self.at_months is not None and self.information is None:
            raise ValueError("looks at_months need their planned information fractions (information: [...])")
        if self.information is not None:
            if len(self.information) != len(values):
                raise ValueError(f"information has {len(self.information)} fractions for {len(values)} looks")
            if any(b <= a for a, b in zip(self.information, self.information[1:])):
                raise ValueError(f"information fractions must increase, got {self.information}")
        return self

    @property
    def count(self) -> int:
        return len(self.after_first_scans or self.at_months)

    def keys(self) -> tuple[LookKey, ...]:
        if self.after_first_scans is not None:
            return tuple(LookKey(first_scans=n) for n in self.after_first_scans)
        return tuple(LookKey(months=m) for m in self.at_months)


class Futility(Strict):
    """Futility bounds of a one-sided design: stop when the look's z is at or below the bound."""

    z: list[Z] | None = Field(None, min_length=1, max_length=MAX_LOOKS,
                              description="a futility z bound per interim look")
    spending: Literal["obrien_fleming", "pocock", "hsd"] | None = Field(
        None, description="beta-spending function of the futility bounds (with beta and alternative)")
    beta: OpenProb = Field(0.2, description="type II error spent by the futility bounds")
    gamma: Annotated[float, Field(ge=-40, le=40, allow_inf_nan=False), Number] = Field(
        -4.0, description="Hwang-Shih-DeCani gamma of the beta spending")
    alternative: Pair | None = Field(None, description="(control, rechallenge) DCRs at which beta is spent")
    binding: bool = Field(False, description="binding: the efficacy bounds count on trials stopping at them")

    @model_validator(mode="after")
    def _one_rule(self):
        if (self.z is None) == (self.spending is None):
            raise ValueError("give futility bounds as z: [...] or as spending: ... (exactly one)")
        if self.spending is not None:
            if self.alternative is None:
                raise ValueError("futility spending needs the alternative (control, rechallenge) DCRs it spends beta at")
            if not all(0 < p < 1 for p in self.alternative) or self.alternative[1] <= self.alternative[0]:
                raise ValueError(f"alternative {list(self.alternative)} must be two DCRs in (0, 1), rechallenge above "
                                 f"control")
        return self

    def describe(self) -> str:
        how = "binding" if self.binding else "non-binding"
        if self.z is not None:
            return f"futility z <= {', '.join(f'{v:g}' for v in self.z)} ({how})"
        pc, pr = self.alternative
        fam = _FAMILY_WORDS[self.spending] + (f"({self.gamma:g})" if self.spending == "hsd" else "")
        return f"futility {fam} beta {self.beta:g} at {pc:g} vs {pr:g} ({how})"


_FAMILY_WORDS = {"obrien_fleming": "O'Brien-Fleming", "pocock": "Pocock", "hsd": "HSD", "user": "user"}


@register
class GroupSequentialDesign(FixedDesign):
    """Interim looks with spending-function boundaries, then the final analysis."""

    kind: Literal["group_sequential"] = Field("group_sequential", description="group_sequential: interim looks "
                                              "with efficacy (and futility) boundaries from a spending function")
    test: Literal[tuple(TESTS)] = Field("chisq", description="test of the secondary ORR comparison, made once at the "
                                        "trial's end (the DCR comparison follows the boundaries)")
    looks: Looks = Field(description="the interim looks")
    spending: Literal["obrien_fleming", "pocock", "hsd", "user"] = Field(
        "obrien_fleming", description="alpha-spending function: Lan-DeMets O'Brien-Fleming or Pocock type, "
        "Hwang-Shih-DeCani (gamma), or a user list of cumulative levels")
    gamma: Annotated[float, Field(ge=-40, le=40, allow_inf_nan=False), Number] = Field(
        -4.0, description="Hwang-Shih-DeCani gamma (spending: hsd)")
    cumulative_alpha: list[OpenProb] | None = Field(
        None, min_length=2, max_length=MAX_LOOKS + 1, description="spending: user: the cumulative one-sided level at "
        "each interim look and the final (the last equal to alpha; halved per side when two-sided)")
    boundary_scale: Literal["z", "exact"] = Field(
        "z", description="z: normal-theory bounds on the pooled z; exact: exact-binomial bounds controlling the "
        "type I error over the whole common-DCR range")
    information: Literal["realized", "planned"] = Field(
        "realized", description="realized: each trial's bounds are recomputed for the looks it had, at their sizes; "
        "planned: the bounds of the planned looks")
    futility: Futility | None = Field(None, description="futility bounds (one-sided designs)")

    claim_priority = 20

    _cache: dict = PrivateAttr(default_factory=dict)

    @classmethod
    def claims(cls, data: dict) -> bool:
        return data.get("looks") is not None

    @model_validator(mode="after")
    def _consistent(self):
        K = self.looks.count
        if self.spending == "user":
            c = self.cumulative_alpha
            if c is None or len(c) != K + 1:
                raise ValueError(f"spending: user needs cumulative_alpha with {K + 1} levels (each interim look and "
                                 f"the final)")
            if any(b < a for a, b in zip(c, c[1:])) or abs(c[-1] - self.alpha) > 1e-12:
                raise ValueError(f"cumulative_alpha {c} must not decrease and must end at alpha {self.alpha:g}")
        elif self.cumulative_alpha is not None:
            raise ValueError("cumulative_alpha goes with spending: user (and only with it)")
        if self.futility is not None:
            if self.sided == "two":
                raise ValueError("futility bounds are for one-sided designs (sided: one)")
            if self.futility.z is not None and len(self.futility.z) != K:
                raise ValueError(f"futility.z has {len(self.futility.z)} bounds for {K} interim looks")
        return self

    # -- what it reads ----------------------------------------------------------------------
    def needs(self, ctx):
        keys, _ = super().needs(ctx)
        return keys, self.looks.keys()

    def check(self, ctx):
        out = super().check(ctx)
        n = self.looks.after_first_scans
        if n is not None and n[-1] >= ctx.target_randomized:
            out.append(("looks.after_first_scans", f"{n[-1]} must be below accrual.target_randomized "
                        f"{ctx.target_randomized}: the looks come before the final analysis"))
        if self.boundary_scale == "exact" and max(ctx.planned) > MAX_EXACT_ARM:
            out.append(("boundary_scale", f"exact boundaries are computed for arms of at most {MAX_EXACT_ARM} "
                        f"patients, and the planned arms are {ctx.planned[0]} and {ctx.planned[1]}; use z"))
        return out

    # -- boundaries ---------------------------------------------------------------------------
    def planned_fractions(self, ctx) -> tuple[float, ...]:
        """Planned information fraction of each interim look."""
        if self.looks.information is not None:
            return tuple(self.looks.information)
        return tuple(n / sum(ctx.planned) for n in self.looks.after_first_scans)

    def planned_sizes(self, ctx) -> tuple[tuple[int, int], ...] | None:
        """(rechallenge, control) patients at each look and the final, when the planned looks split evenly by
        the randomization ratio (otherwise None)."""
        if self.looks.after_first_scans is None:
            return None
        a, b = ctx.planned
        out = []
        for n in self.looks.after_first_scans:
            r = n * a / (a + b)
            if abs(r - round(r)) > 1e-9:
                return None
            out.append((int(round(r)), n - int(round(r))))
        return tuple(out) + (tuple(ctx.planned),)

    def _levels(self, fractions: tuple[float, ...], which: tuple[int, ...]) -> np.ndarray:
        """Cumulative one-sided levels at the looks ``which`` (interim indices; the final is appended)."""
        if self.spending == "user":
            level = np.asarray(self.cumulative_alpha, dtype=float)[list(which) + [self.looks.count]]
            return level / (2.0 if self.sided == "two" else 1.0)
        one = self.alpha / 2.0 if self.sided == "two" else self.alpha
        t = np.asarray(fractions + (1.0,), dtype=float)
        cum = np.maximum.accumulate(np.minimum(spending.spent(self.spending, one, t, self.gamma), one))
        cum[-1] = one
        return cum

    def _futility(self, fractions, which, efficacy, ctx) -> tuple[float, ...] | None:
        f = self.futility
        if f is None:
            return None
        if f.z is not None:
            return tuple(f.z[j] for j in which) + (-math.inf,)
        t = np.asarray(fractions + (1.0,), dtype=float)
        beta = spending.spent(f.spending, f.beta, t, f.gamma)
        drift = spending.drift_for(f.alternative[0], f.alternative[1], ctx.planned[1], ctx.planned[0])
        bounds = spending.beta_spending_futility(t, efficacy, beta, drift)
        return tuple(bounds[:-1]) + (-math.inf,)

    def z_bounds(self, fractions: tuple[float, ...], which: tuple[int, ...], ctx) -> tuple[tuple, tuple]:
        """(efficacy, futility) z bounds at the interim looks ``which`` (fractions) and the final."""
        key = ("z", fractions, which)
        if key not in self._cache:
            t = fractions + (1.0,)
            levels = self._levels(fractions, which)
            f = self.futility
            eff = spending.efficacy_bounds(t, levels, self.sided)
            fut = self._futility(fractions, which, eff, ctx)
            if fut is not None and f.binding:
                eff = spending.efficacy_bounds(t, levels, self.sided, fut, True)
                if f.spending is not None:
                    fut = self._futility(fractions, which, eff, ctx)
            fut = (-math.inf,) * len(t) if fut is None else tuple(min(a, b) for a, b in zip(fut, eff))
            self._cache[key] = (tuple(eff), fut)
        return self._cache[key]

    def exact_bounds(self, sizes: tuple, fractions: tuple[float, ...], which: tuple[int, ...], ctx):
        """Exact looks (regions and critical values) at per-arm ``sizes`` of the looks ``which`` and the final."""
        eff, fut = self.z_bounds(fractions, which, ctx)
        futility = None if self.futility is None else fut
        binding = self.futility is not None and self.futility.binding
        return seq.exact_bounds(sizes, self._levels(fractions, which), self.sided, futility, binding)

    def _critical(self, ctx, which: tuple[int, ...], sizes: tuple) -> tuple[tuple, tuple]:
        """(efficacy critical values, futility bounds) on the pooled z for one trial's looks ``which``."""
        planned = self.planned_fractions(ctx)
        if self.information == "planned":
            fractions = tuple(planned[j] for j in which)
        else:
            N = sum(ctx.planned)
            fractions = tuple(min((m1 + m2) / N, 0.999) for m1, m2 in sizes[:-1])
            fractions = tuple(np.maximum.accumulate(np.asarray(fractions, dtype=float)).round(9).tolist()) \
                if fractions else ()
        eff, fut = self.z_bounds(fractions, which, ctx)
        if self.boundary_scale == "z":
            return eff, fut
        if self.information == "planned":
            ps = self.planned_sizes(ctx)
            if ps is None:
                raise ValueError("exact boundaries at planned information need looks after_first_scans that split "
                                 "evenly between the arms")
            _, crit, _ = self.exact_bounds(tuple(ps[j] for j in which) + (ps[-1],), fractions, which, ctx)
        else:
            _, crit, _ = self.exact_bounds(sizes, fractions, which, ctx)
        return tuple(crit), fut

    # -- deciding --------------------------------------------------------------------------
    def decide(self, counts, ctx):
        a = self.final_analysis(counts, ctx)
        N = len(counts.facts)
        keys = self.looks.keys()
        seen, z, happened = [], [], []
        for key in keys:
            look = counts.looks[key]
            m = look.known if self.population == "itt" else look.evaluable
            m1, m2 = np.asarray(m.rechallenge, dtype=np.int64), np.asarray(m.control, dtype=np.int64)
            happened.append(np.isfinite(look.day) & (look.day < a["day"]) & (m1 > 0) & (m2 > 0))
            seen.append((m1, m2))
            z.append(seq.pooled_z_of(look.control.rechallenge, m1, look.control.control, m2))
        n1 = np.asarray(a["n"].rechallenge, dtype=np.int64)
        n2 = np.asarray(a["n"].control, dtype=np.int64)
        z_final = seq.pooled_z_of(a["control"].rechallenge, n1, a["control"].control, n2)
        a["looked"] = happened[0] if keys else np.zeros(N, dtype=bool)
        # Each distinct (looks that happened, their sizes) shares its bounds.
        signature = [tuple(j for j in range(len(keys)) if happened[j][i]) for i in range(N)]
        stop_at = np.zeros(N, dtype=np.int64)       # 1-based look of the stop; 0: none
        up = np.zeros(N, dtype=bool)
        final_reject = np.zeros(N, dtype=bool)
        groups: dict[tuple, list[int]] = {}
        for i in range(N):
            which = signature[i]
            sizes = tuple((int(seen[j][0][i]), int(seen[j][1][i])) for j in which) + ((int(n1[i]), int(n2[i])),)
            groups.setdefault((which, sizes if self._sizes_matter else None), []).append(i)
        for (which, _), rows in groups.items():
            rows = np.asarray(rows)
            i0 = rows[0]
            sizes = tuple((int(seen[j][0][i0]), int(seen[j][1][i0])) for j in which) + ((int(n1[i0]), int(n2[i0])),)
            eff, fut = self._critical(ctx, which, sizes)
            alive = np.ones(rows.size, dtype=bool)
            for pos, j in enumerate(which):
                zz = z[j][rows]
                cross = (np.abs(zz) >= eff[pos]) if self.sided == "two" else (zz >= eff[pos])
                low = ~cross & (zz <= fut[pos])
                now = alive & (cross | low)
                stop_at[rows[now]] = j + 1
                up[rows[now & cross]] = True
                alive &= ~now
            zf = z_final[rows]
            final_reject[rows] = alive & ((np.abs(zf) >= eff[-1]) if self.sided == "two" else (zf >= eff[-1]))
        for j, key in enumerate(keys):
            stopped = stop_at == j + 1
            if stopped.any():
                self.stop_at(counts, a, counts.looks[key], stopped, j + 1, efficacy=up)
        complete = np.asarray(counts.facts.accrual_complete, dtype=bool)
        reject = a["stopped_for_efficacy"] | (~a["stopped"] & complete & final_reject)
        return self.conclude(counts, a, reject=reject)

    @property
    def _sizes_matter(self) -> bool:
        """Whether a trial's bounds depend on its look sizes, not only on which looks happened."""
        return self.information == "realized" or self.boundary_scale == "exact"

    # -- exact figures ----------------------------------------------------------------------
    def exact_looks(self, ctx) -> tuple | None:
        """The planned looks as exact regions (``stats.sequential.Look``), or None without planned sizes."""
        sizes = self.planned_sizes(ctx)
        if sizes is None:
            return None
        which = tuple(range(self.looks.count))
        eff, fut = self._critical(ctx, which, sizes)
        if self.boundary_scale == "exact":
            looks, _, _ = self.exact_bounds(sizes, self.planned_fractions(ctx), which, ctx)
            return looks
        return seq.z_looks(sizes, eff, None if self.futility is None else fut, self.sided)

    def exact_reference(self, planned, p_rechallenge, p_control):
        ctx = DesignContext((), tuple(planned), sum(planned))
        looks = self.exact_looks(ctx)
        if looks is None:
            return None
        oc = seq.operating(looks, p_rechallenge, p_control)
        out = {"exact_power_plain_binomial": oc["power"], "exact_expected_n_analysed_plain_binomial": oc["expected_n"]}
        for k in range(self.looks.count):
            out[f"exact_prob_stop_at_look_{k + 1}_plain_binomial"] = float(oc["stop_at"][k])
        return out

    def boundary_table(self, ctx) -> list[dict]:
        """The planned boundaries, one row per look (the final last): for the report and the CLI."""
        fractions = self.planned_fractions(ctx)
        which = tuple(range(self.looks.count))
        eff, fut = self.z_bounds(fractions, which, ctx)
        levels = self._levels(fractions, which)
        sizes = self.planned_sizes(ctx)
        rows = []
        crit = attained = None
        if self.boundary_scale == "exact" and sizes is not None:
            _, crit, attained = self.exact_bounds(sizes, fractions, which, ctx)
        for k, t in enumerate(fractions + (1.0,)):
            row = {"look": k + 1, "information": t,
                   "patients": None if sizes is None else sum(sizes[k]),
                   "z_efficacy": eff[k], "cumulative_alpha": float(levels[k])}
            if self.futility is not None:
                row["z_futility"] = fut[k] if k < len(fractions) else None
            if crit is not None:
                row["exact_z_efficacy"] = crit[k]
                row["exact_cumulative_alpha"] = attained[k]
            rows.append(row)
        return rows

    # -- words -----------------------------------------------------------------------------
    def describe(self) -> str:
        fam = _FAMILY_WORDS[self.spending] + (f"({self.gamma:g})" if self.spending == "hsd" else "")
        lk = self.looks
        where = (f"looks at {', '.join(map(str, lk.after_first_scans))} first scans" if lk.after_first_scans
                 else f"looks at months {', '.join(f'{m:g}' for m in lk.at_months)}")
        parts = [f"group-sequential {self.boundary_scale} {self.sided}-sided {self.alpha:g}, {fam} spending, {where} "
                 f"+ final, bounds at {self.information} information"]
        if self.futility is not None:
            parts.append(self.futility.describe())
        base = super().describe().split(", ", 1)[1]       # the DCR definition, population and timing
        return ", ".join(parts + [base])
