"""Alpha spending functions and group-sequential boundaries on the z scale.

A group-sequential test looks at the standardized statistics Z_1, ..., Z_K of a canonical joint
distribution (Jennison and Turnbull 2000, ch. 3): with information I_k at look k and the drift
theta, the score S_k = Z_k sqrt(I_k) has independent normal increments,

    S_k - S_{k-1} ~ N(theta (I_k - I_{k-1}), I_k - I_{k-1}),

so only the information fractions t_k = I_k / I_K matter under H0 (theta = 0). A spending function
alpha(t), non-decreasing from alpha(0) = 0 to alpha(1) = alpha, says how much type I error may have
been spent by information t (Lan and DeMets 1983). The one-sided efficacy boundary b_k solves

    P_0(Z_1 < b_1, ..., Z_{k-1} < b_{k-1}, Z_k >= b_k) = alpha(t_k) - alpha(t_{k-1}),

and the probabilities are integrals of the sub-density of Z_k over the continuation region, carried
from look to look by the recursion of Armitage, McPherson and Rowe (1969):

    h_1(z) = phi(z - theta sqrt(I_1)),
    h_k(z) = int_{a_{k-1}}^{b_{k-1}} h_{k-1}(u) sqrt(I_k / D_k) phi((z sqrt(I_k) - u sqrt(I_{k-1}) - theta D_k)
             / sqrt(D_k)) du,     D_k = I_k - I_{k-1}.

The integrals are Simpson's rule on an even grid of the continuation region (``GRID`` points,
truncated 8 standard deviations below the mean where there is no futility bound); the crossing
probability at look k is the integral of h_{k-1} times a normal tail, in closed form. Boundaries
agree with rpact's ``getDesignGroupSequential`` to better than 1e-6 (tests).

Spending families (alpha the total one-sided level; t in (0, 1]):
* Lan-DeMets O'Brien-Fleming type: alpha(t) = 2 (1 - Phi(Phi^-1(1 - alpha/2) / sqrt(t)));
* Lan-DeMets Pocock type: alpha(t) = alpha log(1 + (e - 1) t);
* Hwang-Shih-DeCani with gamma: alpha (1 - exp(-gamma t)) / (1 - exp(-gamma)) (gamma = 0: alpha t);
* a user list of cumulative levels, one per look, the last equal to alpha.
A two-sided symmetric design spends alpha/2 on each side (rpact's ``sided = 2``).

Futility bounds are either a user list of z values (at or below which the trial stops) or come from
a beta-spending function at a given drift (the same families, with beta in place of alpha); a
binding futility bound is part of the continuation region when the efficacy bounds are computed,
a non-binding one is not (the efficacy bounds then keep the type I error whether or not the trial
obeys the futility bound).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtr, ndtri

#: Simpson grid points per look (odd): boundaries agree with 2001 points to ~1e-9 at a tenth of the time.
GRID = 601
#: Where the continuation region is unbounded below, the grid starts this many SDs below the mean.
_TAIL_SD = 9.0
#: Crossing probabilities below this count as none (a boundary of +infinity).
_NEGLIGIBLE = 1e-15

SPENDING_FAMILIES = ("obrien_fleming", "pocock", "hsd", "user")


def spent(family: str, level: float, t, gamma: float | None = None, cumulative=None) -> np.ndarray:
    """Cumulative error spent by information fractions ``t`` (an array in (0, 1]) under one family."""
    t = np.asarray(t, dtype=float)
    if family == "obrien_fleming":
        return 2.0 * ndtr(ndtri(level / 2.0) / np.sqrt(t))
    if family == "pocock":
        return level * np.log1p((math.e - 1.0) * t)
    if family == "hsd":
        g = float(gamma if gamma is not None else -4.0)
        if abs(g) < 1e-12:
            return level * t
        return level * (-np.expm1(-g * t)) / (-math.expm1(-g))
    if family == "user":
        values = np.asarray(cumulative, dtype=float)
        if values.shape != t.shape:
            raise ValueError(f"a user spending list needs one cumulative level per look ({t.size}), got {values.size}")
        return values
    raise ValueError(f"unknown spending family {family!r}; one of {', '.join(SPENDING_FAMILIES)}")


_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _pdf(x):
    return np.exp(-0.5 * x * x) / _SQRT_2PI


def _simpson(a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    z = np.linspace(a, b, GRID)
    w = np.ones(GRID)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    return z, w * (b - a) / (3.0 * (GRID - 1))


@dataclass(frozen=True)
class Boundaries:
    """A group-sequential design on the z scale, with its properties under H0."""

    information: tuple[float, ...]        # fractions t_k (the last 1)
    efficacy: tuple[float, ...]           # z at or above which the trial rejects (inf: no efficacy stop)
    futility: tuple[float, ...]           # z at or below which it stops for futility (-inf: none)
    cumulative_alpha: tuple[float, ...]   # alpha(t_k): one-sided error spent by look k
    sided: str
    binding: bool

    def crossing(self, drift: float = 0.0) -> dict[str, np.ndarray]:
        """Per look, P(reject there) and P(stop for futility there) at ``drift`` = theta sqrt(I_K)."""
        return _crossing(self.information, self.efficacy, self.futility, drift, self.sided)


def _steps(information):
    t = np.asarray(information, dtype=float)
    return t, np.sqrt(t), np.diff(np.concatenate([[0.0], t]))


def _carry(z_prev, w_prev, h_prev, t_prev, t, drift, grid_z):
    """The sub-density at the next look's grid points (the AMR recursion), drift theta sqrt(I_K)."""
    d = t - t_prev
    mean = (z_prev * math.sqrt(t_prev) + drift * d) / math.sqrt(t)
    sd = math.sqrt(d / t)
    return (w_prev * h_prev) @ _pdf((grid_z[None, :] - mean[:, None]) / sd) / sd


def _cross_above(z_prev, w_prev, h_prev, t_prev, t, drift, b):
    """P(continue before, Z_k >= b) from the previous sub-density (closed-form normal tail)."""
    if z_prev is None:
        return float(ndtr(drift * math.sqrt(t) - b))
    d = t - t_prev
    mean = (z_prev * math.sqrt(t_prev) + drift * d) / math.sqrt(t)
    return float((w_prev * h_prev) @ ndtr((mean - b) / math.sqrt(d / t)))


def _cross_below(z_prev, w_prev, h_prev, t_prev, t, drift, a):
    if z_prev is None:
        return float(ndtr(a - drift * math.sqrt(t)))
    d = t - t_prev
    mean = (z_prev * math.sqrt(t_prev) + drift * d) / math.sqrt(t)
    return float((w_prev * h_prev) @ ndtr((a - mean) / math.sqrt(d / t)))


def _region(t, drift, low, high):
    """The Simpson grid of the continuation region (low, high) at look fraction t."""
    mean = drift * math.sqrt(t)
    lo = low if np.isfinite(low) else min(mean, high) - _TAIL_SD
    hi = high if np.isfinite(high) else max(mean, lo) + _TAIL_SD
    return _simpson(lo, max(hi, lo + 1e-9))


def _density_first(t, drift, grid_z):
    return _pdf(grid_z - drift * math.sqrt(t))


def _crossing(information, efficacy, futility, drift, sided):
    """P(reject at look k) and P(futility stop at look k), continuing only between the bounds.

    Two-sided designs reject on |Z| >= b: the lower crossing is added to the rejection probability
    (their continuation region is (-b, b), and futility bounds do not apply)."""
    t_all = list(information)
    up, down = np.zeros(len(t_all)), np.zeros(len(t_all))
    prev = None
    for k, t in enumerate(t_all):
        b = efficacy[k]
        a = -efficacy[k] if sided == "two" else futility[k]
        t_prev = t_all[k - 1] if k else 0.0
        zp, wp, hp = prev if prev is not None else (None, None, None)
        up[k] = _cross_above(zp, wp, hp, t_prev, t, drift, b) if np.isfinite(b) else 0.0
        low = _cross_below(zp, wp, hp, t_prev, t, drift, a) if np.isfinite(a) else 0.0
        if sided == "two":
            up[k] += low
        else:
            down[k] = low
        if k + 1 < len(t_all):
            z, w = _region(t, drift, a, b)
            h = _density_first(t, drift, z) if prev is None else _carry(zp, wp, hp, t_prev, t, drift, z)
            prev = (z, w, h)
    return {"reject": up, "futility": down}


def efficacy_bounds(information, cumulative_alpha, sided: str = "one", futility=None,
                    binding: bool = False) -> tuple[float, ...]:
    """Efficacy z bounds spending ``cumulative_alpha`` (one-sided levels; a two-sided design spends them
    on each side) at the fractions ``information``; with a binding ``futility`` list, trials below it stop."""
    t_all = [float(t) for t in information]
    K = len(t_all)
    fut = [-math.inf] * K if futility is None or not binding or sided == "two" else [float(a) for a in futility]
    out, prev = [], None
    spent_before = 0.0
    for k in range(K):
        t_prev = t_all[k - 1] if k else 0.0
        target = float(cumulative_alpha[k]) - spent_before
        zp, wp, hp = prev if prev is not None else (None, None, None)
        a = fut[k]

        def excess(b):
            p = _cross_above(zp, wp, hp, t_prev, t_all[k], 0.0, b)
            if sided == "two":  # symmetric: the levels are per side
                p = (p + _cross_below(zp, wp, hp, t_prev, t_all[k], 0.0, -b)) / 2.0
            return p - target

        if target <= _NEGLIGIBLE:
            b = math.inf
        else:
            b = brentq(excess, -10.0, 40.0, xtol=1e-12, rtol=1e-14) if excess(-10.0) > 0 else -10.0
        out.append(b)
        achieved = excess(b) + target if np.isfinite(b) else 0.0
        spent_before += achieved
        if k + 1 < K:
            low = -b if sided == "two" else a
            z, w = _region(t_all[k], 0.0, low, b)
            h = _density_first(t_all[k], 0.0, z) if prev is None else _carry(zp, wp, hp, t_prev, t_all[k], 0.0, z)
            prev = (z, w, h)
    return tuple(out)


def beta_spending_futility(information, efficacy, cumulative_beta, drift: float) -> tuple[float, ...]:
    """Futility z bounds spending ``cumulative_beta`` at ``drift`` (theta sqrt(I_K)) given efficacy bounds;
    the last look's futility bound is its efficacy bound (the trial ends there either way)."""
    t_all = [float(t) for t in information]
    K = len(t_all)
    out, prev, spent_before = [], None, 0.0
    for k in range(K):
        t_prev = t_all[k - 1] if k else 0.0
        zp, wp, hp = prev if prev is not None else (None, None, None)
        b = efficacy[k]
        if k == K - 1:
            out.append(b)
            break
        target = float(cumulative_beta[k]) - spent_before

        def excess(a):
            return _cross_below(zp, wp, hp, t_prev, t_all[k], drift, a) - target

        if target <= _NEGLIGIBLE or excess(min(b, 40.0)) < 0:
            a = min(b, -10.0) if target <= _NEGLIGIBLE else b
            if target <= _NEGLIGIBLE:
                a = -math.inf
        else:
            a = brentq(excess, -40.0, min(b, 40.0), xtol=1e-12, rtol=1e-14) if excess(-40.0) < 0 else -40.0
        out.append(a)
        spent_before += _cross_below(zp, wp, hp, t_prev, t_all[k], drift, a) if np.isfinite(a) else 0.0
        z, w = _region(t_all[k], drift, a, b)
        h = _density_first(t_all[k], drift, z) if prev is None else _carry(zp, wp, hp, t_prev, t_all[k], drift, z)
        prev = (z, w, h)
    return tuple(out)


def design(information, level: float, family: str, sided: str = "one", gamma: float | None = None,
           cumulative=None, futility=None, binding: bool = False) -> Boundaries:
    """Boundaries spending ``level`` (one-sided; two-sided: the total over both sides) by ``family``.

    ``futility``: None, or a list of z values (one per look; -inf for none). Information fractions are
    scaled so the last is 1 (the spending approach spends all that is left at the final look)."""
    t = np.asarray(information, dtype=float)
    if t.ndim != 1 or t.size < 1 or np.any(t <= 0) or np.any(np.diff(t) <= 0):
        raise ValueError(f"information fractions must increase and be positive, got {t.tolist()}")
    t = t / t[-1]
    one_sided = level / 2.0 if sided == "two" else level
    cum = spent(family, one_sided, t, gamma, None if cumulative is None else np.asarray(cumulative) / (
        2.0 if sided == "two" else 1.0))
    cum = np.maximum.accumulate(np.minimum(cum, one_sided))
    cum[-1] = one_sided
    fut = (-math.inf,) * t.size if futility is None or sided == "two" else tuple(float(a) for a in futility)
    eff = efficacy_bounds(t, cum, sided, fut, binding)
    if fut:
        fut = tuple(min(a, b) for a, b in zip(fut, eff))
    return Boundaries(tuple(t.tolist()), eff, fut, tuple(cum.tolist()), sided, binding)


def drift_for(p_control: float, p_rechallenge: float, n_control: int, n_rechallenge: int) -> float:
    """The drift theta sqrt(I_K) of the difference in proportions at the final look (unpooled variance)."""
    var = p_control * (1 - p_control) / n_control + p_rechallenge * (1 - p_rechallenge) / n_rechallenge
    return (p_rechallenge - p_control) / math.sqrt(var) if var > 0 else math.inf
