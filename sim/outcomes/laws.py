"""Per-arm outcome laws: the distributions that make the configured DCR, ORR and medians hold.

The model (written up with its equations in docs/model.md):

* T, the true time from the first treatment day to progression or death, is Weibull with
  S(t) = exp(-(t/scale)**shape). Its two parameters are fixed by two configured figures:
  S(t_ref) = DCR (disease control at the reference assessment day) and S(median) = 1/2.
  Both can hold only when DCR < 1/2 <=> median < t_ref; otherwise the figures contradict
  each other and the arm is refused with a message naming both.
* The event at T is death with probability ``death_as_first_event_prob``, else progression.
* After progression, survival is exponential (post-progression survival, PPS); its rate is
  solved so that the median OS equals the configured one (or taken from ``median_pps_months``).
* A patient still controlled at a scan shows PR/CR if a "responder" (probability ORR/DCR,
  independent of T), else SD; CR is a share of responses. Then ORR at t_ref = DCR*ORR/DCR = ORR.
"""
from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize

from ..scenario.schema import ArmEffect
from ..units import DAYS_PER_MONTH

#: Weibull shapes outside this range mean the two figures barely constrain the curve
#: (DCR within a hair of 1/2 or a median far from t_ref): treat it as a contradiction.
SHAPE_RANGE = (0.1, 20.0)


class IncoherentEffects(ValueError):
    """Configured figures of one arm that cannot all hold; ``field`` is the path to blame."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ArmLaw:
    """Everything needed to draw one patient's outcome by inverse CDF from uniforms."""

    shape: float
    scale_days: float
    p_death_first: float
    pps_rate_per_day: float
    p_responder: float
    p_cr: float
    t_ref_days: float

    def pfs_days(self, u: np.ndarray) -> np.ndarray:
        """True time to progression or death, from a uniform (monotone: common random numbers)."""
        return self.scale_days * (-np.log(u)) ** (1.0 / self.shape)

    def pfs_survival(self, t_days) -> np.ndarray:
        return np.exp(-(np.asarray(t_days, dtype=float) / self.scale_days) ** self.shape)

    def pps_days(self, u: np.ndarray) -> np.ndarray:
        return -np.log(u) / self.pps_rate_per_day if self.pps_rate_per_day > 0 else np.full_like(u, np.inf)

    def os_cdf(self, t_days: float) -> float:
        """P(OS <= t): deaths first plus progressions followed by exponential PPS."""
        if t_days <= 0:
            return 0.0
        f_pfs = 1.0 - float(self.pfs_survival(t_days))
        if self.p_death_first >= 1.0:
            return f_pfs
        return self.p_death_first * f_pfs + (1.0 - self.p_death_first) * _prog_then_death_cdf(
            self, t_days, self.pps_rate_per_day
        )

    def median_os_days(self) -> float:
        hi = self.scale_days
        while self.os_cdf(hi) < 0.5:
            hi *= 2.0
        return optimize.brentq(lambda t: self.os_cdf(t) - 0.5, 0.0, hi, xtol=1e-10, rtol=1e-12)

    @property
    def median_pfs_days(self) -> float:
        return self.scale_days * math.log(2.0) ** (1.0 / self.shape)

    def implied(self) -> dict[str, float]:
        """The figures this law makes true, in the units users configure them."""
        dcr = float(self.pfs_survival(self.t_ref_days))
        return {
            "dcr": dcr,
            "orr": dcr * self.p_responder,
            "median_pfs_true_months": self.median_pfs_days / DAYS_PER_MONTH,
            "median_os_months": self.median_os_days() / DAYS_PER_MONTH,
        }


#: P(T > s) = exp(-u) with u = (s / scale) ** shape: past u = 60 the Weibull mass left is below 1e-26.
_U_MAX = 60.0
#: Panel edges in u (quantiles of T: F = 1 - exp(-u)), so that every panel holds a smooth piece.
_U_EDGES = (1e-6, 1e-4, 1e-2, 0.1, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
#: ... and where the PPS factor 1 - exp(-rate (t - s)) bends: s = t - j / rate (days).
_PPS_EDGES = (0.25, 1.0, 4.0, 16.0, 64.0)


def _prog_then_death_cdf(law: ArmLaw, t: float, rate: float) -> float:
    """P(T + PPS <= t) for Weibull T and exponential PPS with the given rate (per day).

    Integrated over u = (s / scale) ** shape, where dF(s) = exp(-u) du: the density's singularity
    at 0 (shape < 1) and its narrow peak (large shapes) both disappear, and the range stops where
    the Weibull mass left is negligible (quad over [0, t] with t far beyond the scale missed the
    peak: 0.63 for 1.0). Panels end at quantiles of T and where the PPS factor bends near s = t
    (rate up to 10 per day), so quad meets a relative tolerance of 1e-10 on each; checked against
    a brute-force reference for shapes 0.1..20 in tests/test_laws_extreme.py.
    """
    k, lam = law.shape, law.scale_days
    if t <= 0.0 or rate <= 0.0 or t / lam == 0.0:
        return 0.0
    log_top = min(k * math.log(t / lam), math.log(_U_MAX))  # logs: (t / scale) ** shape may overflow
    top = _U_MAX if log_top == math.log(_U_MAX) else (t / lam) ** k
    if top == 0.0:  # t so far below the scale that (t / scale) ** shape underflows
        return 0.0
    if math.isinf(rate):  # death at progression
        return -math.expm1(-top)

    def integrand(u):
        s = lam * u ** (1.0 / k)
        return math.exp(-u) * -math.expm1(-rate * max(t - s, 0.0))

    edges = {u for u in _U_EDGES if u < top}
    for j in _PPS_EDGES:
        s = t - j / rate
        if s > 0.0 and s / lam > 0.0 and k * math.log(s / lam) < log_top:
            edges.add(math.exp(k * math.log(s / lam)))
    edges = [0.0, *sorted(u for u in edges if u > 0.0), top]
    total = 0.0
    with warnings.catch_warnings():
        # On a panel where the integrand is nearly constant or underflows, quad may report roundoff
        # short of 1e-10 relative; the panels, not the warning, are what make the value accurate.
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        for a, b in itertools.pairwise(edges):
            if b > a:
                total += integrate.quad(integrand, a, b, epsabs=0.0, epsrel=1e-10, limit=200)[0]
    return total


def weibull_from_dcr_and_median(dcr: float, t_ref: float, median: float, arm: str) -> tuple[float, float]:
    """Shape and scale with S(t_ref) = dcr and S(median) = 1/2, or a message naming both figures."""
    months = t_ref / DAYS_PER_MONTH
    med_m = median / DAYS_PER_MONTH
    if math.isclose(dcr, 0.5, rel_tol=0, abs_tol=1e-12):
        if not math.isclose(median, t_ref, rel_tol=1e-9):
            raise IncoherentEffects(
                f"effects.{arm}.median_pfs_true_months",
                f"effects.{arm}: dcr 0.5 at day {t_ref:g} means half the patients have progressed "
                f"or died by day {t_ref:g}, so the true median PFS must be {months:.2f} months; "
                f"median_pfs_true_months is {med_m:g}",
            )
        return 1.0, t_ref / math.log(2.0)
    if (dcr < 0.5) != (median < t_ref):
        if dcr < 0.5:
            need = f"below {months:.2f} months"
            lead = f"{100 * (1 - dcr):.0f}% have progressed or died by day {t_ref:g} ({months:.2f} months)"
        else:
            need = f"above {months:.2f} months"
            lead = f"only {100 * (1 - dcr):.0f}% have progressed or died by day {t_ref:g} ({months:.2f} months)"
        raise IncoherentEffects(
            f"effects.{arm}.median_pfs_true_months",
            f"effects.{arm}: dcr {dcr:g} and median_pfs_true_months {med_m:g} contradict each other: "
            f"dcr {dcr:g} at the reference assessment (day {t_ref:g}) means {lead}, so the true median "
            f"PFS must be {need}. Published medians are usually read off scans (later than true "
            f"progression): give the true median, or change dcr or effects.reference_assessment_day",
        )
    shape = math.log(math.log(1.0 / dcr) / math.log(2.0)) / math.log(t_ref / median)
    if not SHAPE_RANGE[0] <= shape <= SHAPE_RANGE[1]:
        raise IncoherentEffects(
            f"effects.{arm}.median_pfs_true_months",
            f"effects.{arm}: dcr {dcr:g} at day {t_ref:g} and median_pfs_true_months {med_m:g} imply a "
            f"Weibull PFS shape of {shape:.3g}, outside the plausible {SHAPE_RANGE[0]}..{SHAPE_RANGE[1]}: "
            f"the two figures barely constrain the curve; move the median away from day {t_ref:g} "
            f"or dcr away from 0.5",
        )
    scale = median / math.log(2.0) ** (1.0 / shape)
    return shape, scale


def build_arm_law(effect: ArmEffect, t_ref_days: float, arm: str, control: ArmLaw | None = None) -> ArmLaw:
    """Turn an arm's configured figures into a law, refusing figures that contradict each other.

    Hazard ratios are against ``control`` (the control arm's law): proportional hazards keep the
    Weibull shape and divide the scale by hr ** (1/shape).
    """
    if effect.pfs_hazard_ratio is not None:
        shape = control.shape
        scale = control.scale_days * effect.pfs_hazard_ratio ** (-1.0 / shape)
        dcr = math.exp(-((t_ref_days / scale) ** shape))
        if effect.orr > dcr:
            raise IncoherentEffects(
                f"effects.{arm}.orr",
                f"effects.{arm}: orr {effect.orr:g} is above the dcr {dcr:.3f} that pfs_hazard_ratio "
                f"{effect.pfs_hazard_ratio:g} implies at day {t_ref_days:g}; orr must be at most dcr")
    else:
        dcr = effect.dcr
        median = effect.median_pfs_true_months * DAYS_PER_MONTH
        shape, scale = weibull_from_dcr_and_median(dcr, t_ref_days, median, arm)
    law = ArmLaw(
        shape=shape,
        scale_days=scale,
        p_death_first=effect.death_as_first_event_prob,
        pps_rate_per_day=0.0,
        p_responder=effect.orr / dcr,
        p_cr=effect.cr_share_of_responses,
        t_ref_days=t_ref_days,
    )
    if effect.median_pps_months is not None:
        rate = math.log(2.0) / (effect.median_pps_months * DAYS_PER_MONTH)
        return _replace_rate(law, rate)
    if effect.os_hazard_ratio is not None:
        median_os = _median_under_hazard_ratio(control, effect.os_hazard_ratio)
        if median_os <= law.median_pfs_days and law.p_death_first < 1.0:
            raise IncoherentEffects(
                f"effects.{arm}.os_hazard_ratio",
                f"effects.{arm}: os_hazard_ratio {effect.os_hazard_ratio:g} puts the median OS at "
                f"{median_os / DAYS_PER_MONTH:.2f} months, not after this arm's true median PFS "
                f"({law.median_pfs_days / DAYS_PER_MONTH:.2f} months)")
        return _replace_rate(law, _solve_pps_rate(law, median_os, arm))
    return _replace_rate(law, _solve_pps_rate(law, effect.median_os_months * DAYS_PER_MONTH, arm))


def _median_under_hazard_ratio(control: ArmLaw, hr: float) -> float:
    """Time t where control's OS survival is 0.5 ** (1/hr): the median if hazards were proportional."""
    target = 1.0 - 0.5 ** (1.0 / hr)  # P(OS <= t) under control
    hi = control.scale_days
    while control.os_cdf(hi) < target:
        hi *= 2.0
    return optimize.brentq(lambda t: control.os_cdf(t) - target, 0.0, hi, xtol=1e-10, rtol=1e-12)


def _replace_rate(law: ArmLaw, rate: float) -> ArmLaw:
    return ArmLaw(law.shape, law.scale_days, law.p_death_first, rate, law.p_responder, law.p_cr, law.t_ref_days)


def _solve_pps_rate(law: ArmLaw, median_os: float, arm: str) -> float:
    """Rate of exponential post-progression survival that puts the median OS where configured."""
    if law.p_death_first >= 1.0:
        if not math.isclose(median_os, law.median_pfs_days, rel_tol=1e-6):
            raise IncoherentEffects(
                f"effects.{arm}.median_os_months",
                f"effects.{arm}: with death_as_first_event_prob 1 every PFS event is a death, so "
                f"median_os_months must equal median_pfs_true_months",
            )
        return math.inf
    f_pfs = 1.0 - float(law.pfs_survival(median_os))
    floor = law.p_death_first * f_pfs  # P(OS <= m) if nobody died after progression
    if floor >= 0.5:
        raise IncoherentEffects(
            f"effects.{arm}.death_as_first_event_prob",
            f"effects.{arm}: death_as_first_event_prob {law.p_death_first:g} puts "
            f"{100 * floor:.0f}% dead without progression by the configured median OS "
            f"({median_os / DAYS_PER_MONTH:g} months), so the median OS cannot be that late",
        )

    def gap(log_rate):
        return law.p_death_first * f_pfs + (1 - law.p_death_first) * _prog_then_death_cdf(
            law, median_os, math.exp(log_rate)
        ) - 0.5

    lo, hi = math.log(1e-9), math.log(10.0)
    if gap(lo) > 0:
        raise IncoherentEffects(
            f"effects.{arm}.median_os_months",
            f"effects.{arm}: a median OS of {median_os / DAYS_PER_MONTH:g} months would need a median survival "
            f"after progression of over {math.log(2) / math.exp(lo) / DAYS_PER_MONTH / 12:.0f} years")
    if gap(hi) < 0:
        raise IncoherentEffects(
            f"effects.{arm}.median_os_months",
            f"effects.{arm}: a median OS of {median_os / DAYS_PER_MONTH:g} months is too close to the true median "
            f"PFS ({law.median_pfs_days / DAYS_PER_MONTH:g} months): survival after progression would have to "
            f"be under a day")
    return math.exp(optimize.brentq(gap, lo, hi, xtol=1e-12))


def arm_laws(scenario) -> tuple[dict[int, ArmLaw], ArmLaw]:
    """Laws by arm code (0 control, 1 rechallenge) and the law of truly RAS-mutant patients."""
    eff = scenario.effects
    t_ref = eff.reference_assessment_day
    control = build_arm_law(eff.control, t_ref, "control")
    laws = {0: control, 1: build_arm_law(eff.rechallenge, t_ref, "rechallenge", control)}
    mutant = control if eff.ras_mutant == "control" else build_arm_law(eff.ras_mutant, t_ref, "ras_mutant", control)
    return laws, mutant


def survival_on_grid(law: ArmLaw, endpoint: str, t: np.ndarray) -> np.ndarray:
    """S(t) of true PFS or OS on an evenly spaced grid t (days, from 0).

    OS = T for deaths first, T + PPS otherwise, so S_OS(t) = S(t) + (1 - p_death) G(t) with
    G(t) = P(T <= t < T + PPS) = integral of f(u) exp(-r (t - u)) du, advanced interval by interval
    (midpoint rule on the exponential factor: error O(h^2)).
    """
    s = law.pfs_survival(t)
    if endpoint == "pfs":
        return s
    if endpoint != "os":
        raise ValueError(f"endpoint must be pfs or os, got {endpoint!r}")
    r = law.pps_rate_per_day
    h = float(t[1] - t[0])
    decay = math.exp(-r * h)
    gained = -np.diff(s) * math.exp(-r * h / 2)
    g = np.zeros(len(t))
    for i, x in enumerate(gained):  # a linear recursion: G_{i+1} = decay * G_i + gained_i
        g[i + 1] = decay * g[i] + x
    return s + (1.0 - law.p_death_first) * g


def implied_log_hazard_ratio(rechallenge: ArmLaw, control: ArmLaw, endpoint: str,
                             allocation: tuple[float, float] = (1.0, 1.0), step_days: float = 0.25) -> float:
    """The log hazard ratio a Cox fit converges to on the true times, with complete follow-up.

    Under proportional hazards this is the log of the hazard ratio; otherwise it is the
    Struthers-Kalbfleisch limit: the root of the limiting score
        int pi1 dF1 - int w(t) d(pi1 F1 + pi0 F0) = 0,   w = pi1 S1 e^b / (pi1 S1 e^b + pi0 S0),
    evaluated on a fine grid. It is the estimand the bias and coverage of the trial's Cox
    estimate are measured against.
    """
    a, b = allocation
    p1, p0 = a / (a + b), b / (a + b)
    horizon = 1.0
    while min(survival_on_grid(law, endpoint, np.array([0.0, horizon]))[-1] for law in (rechallenge, control)) > 1e-9:
        horizon *= 2.0
    t = np.arange(0.0, horizon + step_days, step_days)
    s1, s0 = survival_on_grid(rechallenge, endpoint, t), survival_on_grid(control, endpoint, t)
    d1, d0 = -np.diff(s1), -np.diff(s0)
    m1, m0 = (s1[1:] + s1[:-1]) / 2, (s0[1:] + s0[:-1]) / 2
    events1 = p1 * d1.sum()

    def score(beta: float) -> float:
        w = p1 * m1 * math.exp(beta) / (p1 * m1 * math.exp(beta) + p0 * m0 + 1e-300)
        return events1 - float(np.sum(w * (p1 * d1 + p0 * d0)))

    return optimize.brentq(score, -20.0, 20.0, xtol=1e-12)
