"""Simon's (1989) optimal and minimax two-stage single-arm phase II designs, by exact search.

A design (r1, n1, r, n) enrols n1 patients; with X1 ~ Bin(n1, p) responses among them the trial stops
for futility when X1 <= r1. Otherwise n - n1 more are enrolled, X2 ~ Bin(n - n1, p) independent of
X1, and H0: p <= p0 is rejected when X1 + X2 > r (more than r responses of n). Hence, exactly,

    PET(p)         = P(X1 <= r1) = sum_{x1 <= r1} b(x1; n1, p),
    P(reject | p)  = sum_{x1 = r1+1}^{n1} b(x1; n1, p) P(X2 > r - x1),
    EN(p)          = n1 + (1 - PET(p)) (n - n1),

with b the binomial pmf and P(X2 > k) = 1 for k < 0. Simon's constraints are P(reject | p0) <= alpha
and P(reject | p1) >= power (= 1 - beta). The *optimal* design minimises EN(p0) among the designs
that meet them; the *minimax* design has the least n, and among those the least EN(p0).

Search. For every n, every n1 in 1..n-1 and every r1 in 0..n1-1 (r1 = n1 would never continue), the
rejection probability is non-increasing in r, so the only r worth keeping is the least r >= r1 whose
exact type I error is at most alpha: a larger r only loses power and leaves n1, r1, hence EN(p0),
unchanged. (r < r1 gives the same test as r = r1, which rejects whenever stage 2 is reached.) The
design is feasible when that r has power >= the target. For a fixed (n1, n) all (r1, r) are done at
once: with M[x1, r] = b(x1; n1, p) P(X2 > r - x1), a cumulative sum over x1 from n1 down gives
P(reject | p) for every r1 (rows) and r (columns); the pmf and tail vectors are cached per size.
Only r1 with P(X1 > r1 | p1) >= power can reach the power, and r need not exceed max(c, r1), c the
single-stage boundary (P(Bin(n, p0) > c) <= alpha), since a two-stage test rejects less often than
the single-stage test with the same r.

Range of n. Below, n starts at the least size for which the most powerful (randomised,
Neyman-Pearson) level-alpha test on n Bernoulli observations has the target power: every two-stage
design is a non-randomised test on its n observations (stage 2 counted even when unobserved), so
none has smaller n. Above, any feasible design with n1 < n needs P(X1 > r1 | p1) >= power (the
trial must continue to reject), so

    EN(p0) >= L(n) = min over n1 < n and those r1 of [n1 + P(X1 > r1 | p0) (n - n1)],

and L is non-decreasing in n. The search stops at the first n with L(n) above the best EN(p0) found,
which proves the optimum (in the cases tried, at most about 1.7 times the optimal n). Without ``nmax``
this is the stopping rule, so the result is exact; it gives up (ValueError) past n = ``AUTO_NMAX`` rather
than run for minutes. With ``nmax`` the search also goes no further than nmax, and the optimal design
is the best with n <= nmax (as clinfun's ``ph2simon``). Pairs (n1, r1) whose own term of L already
exceeds the best EN(p0) are skipped, which is what makes the search fast.

Ties, as chosen here. Optimal: least EN(p0); if equal (within 1e-9), smaller n, then smaller n1.
Minimax: least n; then least EN(p0); then smaller n1. For a given (n1, n) EN(p0) determines r1, and r
is the least r meeting alpha. This is the order in which clinfun's ``ph2simon`` keeps designs (the
first found with strictly smaller EN(p0), n and n1 ascending), apart from clinfun also admitting
r1 = -1 (no interim stop) and using strict inequalities for alpha and beta.

A design with r = r1 is allowed: the trial then rejects whenever stage 2 is reached, so the stage-2
patients do not affect the decision. It is returned only when nothing better exists (e.g. p0 = 0.001,
p1 = 0.5, alpha 0.05, power 0.8 gives 0/3, 0/4), as a literal reading of Simon's search would.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
from scipy.stats import binom

#: EN(p0) values closer than this are ties (then n, n1 decide).
_TIE = 1e-9
#: Without nmax, the search proves the optimum or gives up beyond this total sample size.
AUTO_NMAX = 1000


def _check_probability(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a real number in (0, 1), got {value!r}")
    value = float(value)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {value!r}")
    return value


def _check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value!r}")
    return int(value)


def simon_oc(r1: int, n1: int, r: int, n: int, p: float) -> dict:
    """Exact operating characteristics of the two-stage design (r1, n1, r, n) at response rate p.

    Returns ``{"pet": P(X1 <= r1), "reject": P(reject H0), "en": expected number enrolled}``.
    Requires 0 <= r1 <= n1 <= n, n1 >= 1 and 0 <= r <= n; p in [0, 1].
    """
    n1 = _check_int("n1", n1, 1)
    n = _check_int("n", n, n1)
    r1 = _check_int("r1", r1, 0)
    r = _check_int("r", r, 0)
    if r1 > n1:
        raise ValueError(f"r1 must be at most n1 = {n1}, got {r1}")
    if r > n:
        raise ValueError(f"r must be at most n = {n}, got {r}")
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
    p = float(p)
    n2 = n - n1
    pet = float(binom.cdf(r1, n1, p))
    x1 = np.arange(r1 + 1, n1 + 1)
    reject = float(np.sum(binom.pmf(x1, n1, p) * binom.sf(r - x1, n2, p)))
    return {"pet": pet, "reject": reject, "en": n1 + (1.0 - pet) * n2}


class _Tables:
    """Binomial pmf and extended upper tails at one p, cached per number of patients m."""

    def __init__(self, p: float):
        self.p = p
        self._pmf: dict[int, np.ndarray] = {}
        self._tail: dict[int, np.ndarray] = {}

    def pmf(self, m: int) -> np.ndarray:
        """b(x; m, p) for x = 0..m."""
        out = self._pmf.get(m)
        if out is None:
            out = self._pmf[m] = binom.pmf(np.arange(m + 1), m, self.p)
        return out

    def upper(self, m: int) -> np.ndarray:
        """P(X > k) for k = 0..m (the last is 0); k < 0 is 1 and handled by the caller."""
        out = self._tail.get(m)
        if out is None:
            out = self._tail[m] = binom.sf(np.arange(m + 1), m, self.p)
        return out


def _reject_matrix(tab: _Tables, n1: int, n: int, rows: int, cols: int) -> np.ndarray:
    """P(reject | p) for r1 = 0..rows-1 and r = 0..cols-1: entry [r1, r] sums x1 = r1+1..n1 of
    b(x1; n1, p) P(X2 > r - x1), X2 ~ Bin(n - n1, p)."""
    n2 = n - n1
    # P(X2 > k) for k = -n1..cols-1 at index k + n1 (1 below 0, 0 from n2 on)
    ext = np.concatenate((np.ones(n1), tab.upper(n2)[:cols], np.zeros(max(0, cols - n2 - 1))))
    # row j of this strided view (no copy) is ext[j:j + cols], i.e. P(X2 > r - x1) for x1 = n1 - j
    step = ext.strides[0]
    tails = np.lib.stride_tricks.as_strided(ext, shape=(n1, cols), strides=(step, step), writeable=False)
    terms = tab.pmf(n1)[:0:-1, None] * tails  # rows x1 = n1, n1-1, ..., 1
    sums = np.cumsum(terms, axis=0)  # row j: the sum over x1 = n1-j..n1
    return sums[n1 - 1 :: -1][:rows]  # row r1: x1 = r1+1..n1


def _lower_n(p0: float, p1: float, alpha: float, power: float, limit: int) -> int:
    """Least n for which the randomised Neyman-Pearson level-alpha test reaches the power (limit + 1
    if no n <= limit does)."""
    n = 1
    while n <= limit:
        x = np.arange(n + 1)
        sf0 = binom.sf(x, n, p0)  # P0(X > c)
        c = int(np.argmax(sf0 <= alpha))  # least c with P0(X > c) <= alpha
        pmf0 = binom.pmf(c, n, p0)
        gamma = (alpha - sf0[c]) / pmf0 if pmf0 > 0 else 0.0
        best = binom.sf(c, n, p1) + min(gamma, 1.0) * binom.pmf(c, n, p1)
        if best >= power - 1e-12:
            return n
        n += 1
    return limit + 1


def _design(r1: int, n1: int, r: int, n: int, p0: float, p1: float) -> dict:
    null, alt = simon_oc(r1, n1, r, n, p0), simon_oc(r1, n1, r, n, p1)
    return {"r1": r1, "n1": n1, "r": r, "n": n, "en0": null["en"], "pet0": null["pet"],
            "alpha": null["reject"], "power": alt["reject"]}


def simon_designs(p0: float, p1: float, alpha: float, power: float, nmax: int | None = None) -> dict:
    """Simon's optimal and minimax two-stage designs for H0: p <= p0 against p1, exactly.

    Returns ``{"optimal": design, "minimax": design}``, each design a dict with keys ``r1, n1, r, n``
    (stop after stage 1 with <= r1 responses of n1; reject H0 with > r of n), ``en0`` (EN(p0)),
    ``pet0`` (PET(p0)), and the attained exact ``alpha`` = P(reject | p0) and ``power`` =
    P(reject | p1). Constraints: attained alpha <= ``alpha``, attained power >= ``power``.

    ``nmax=None`` searches until the optimum is proved (see the module docstring; at most n =
    ``AUTO_NMAX``); an integer nmax restricts the search to n <= nmax (the optimal design is then the
    best with n <= nmax, which is the true optimum whenever its n is <= nmax).
    Ties: optimal by (EN(p0), n, n1), minimax by (n, EN(p0), n1). Raises ValueError for p0 >= p1,
    a probability outside (0, 1), or no feasible design with n <= nmax.
    """
    p0 = _check_probability("p0", p0)
    p1 = _check_probability("p1", p1)
    alpha = _check_probability("alpha", alpha)
    power = _check_probability("power", power)
    if p0 >= p1:
        raise ValueError(f"p0 must be less than p1, got p0={p0!r}, p1={p1!r}")
    if nmax is not None:
        nmax = _check_int("nmax", nmax, 2)

    t0, t1 = _Tables(p0), _Tables(p1)
    limit = AUTO_NMAX if nmax is None else nmax
    n_low = max(2, _lower_n(p0, p1, alpha, power, limit))
    if n_low > limit:
        raise ValueError(f"no two-stage design with n <= {limit} meets alpha={alpha} and power={power} for "
                         f"p0={p0}, p1={p1}: even the most powerful single-stage test needs more patients"
                         + ("; pass a larger nmax" if nmax is None else "; raise nmax"))

    # per n1: r1max = largest r1 with P1(X1 > r1) >= power (a feasible design needs it), and q0 =
    # P0(X1 > r1) for r1 = 0..r1max (decreasing), for the lower bound of EN(p0).
    r1max: dict[int, int] = {}
    q0: dict[int, np.ndarray] = {}

    def stage1(n1: int) -> int:
        if n1 not in r1max:
            cont1 = t1.upper(n1)[:n1]  # P1(X1 > r1), r1 = 0..n1-1, decreasing
            k = int(np.count_nonzero(cont1 >= power - 1e-12))  # r1 = 0..k-1 can reach the power
            r1max[n1] = k - 1
            q0[n1] = t0.upper(n1)[:k]
        return r1max[n1]

    best_opt = None  # (en0, n, n1, r1, r)
    best_mm = None
    proved = False
    n = n_low
    while n <= limit:
        # lower bound L(n) on EN(p0) of any design with this n (and so every larger n)
        bound = math.inf
        for n1 in range(1, n):
            if stage1(n1) >= 0:
                bound = min(bound, n1 + q0[n1][-1] * (n - n1))
        if best_opt is not None and bound > best_opt[0] + _TIE:
            proved = True
            break
        cutoff = best_opt[0] + _TIE if best_opt is not None else math.inf
        # the single-stage boundary c: P0(Bin(n, p0) > c) <= alpha. A two-stage test rejects less
        # often, so for r >= max(r1, c) alpha holds: the least such r is never above max(r1, c), and
        # columns r = 0..max(c, r1max) + 2 suffice (the margin covers rounding).
        c = int(np.argmax(t0.upper(n) <= alpha))
        found = None  # best (en0, n1, r1, r) at this n
        for n1 in range(1, n):
            k = stage1(n1)
            if k < 0:
                continue
            n2 = n - n1
            en_rows = n1 + q0[n1] * n2  # EN(p0) for r1 = 0..k
            if en_rows[-1] > cutoff:
                continue
            cols = min(n, max(c, k) + 2) + 1
            r = np.arange(cols)
            a0 = _reject_matrix(t0, n1, n, k + 1, cols)
            ok = (a0 <= alpha) & (r[None, :] >= np.arange(k + 1)[:, None])
            rstar = np.argmax(ok, axis=1)  # the least r >= r1 meeting alpha
            a1 = _reject_matrix(t1, n1, n, k + 1, cols)[np.arange(k + 1), rstar]
            feasible = np.flatnonzero(ok.any(axis=1) & (a1 >= power) & (en_rows <= cutoff))
            if feasible.size == 0:
                continue
            i = int(feasible[np.argmin(en_rows[feasible])])
            cand = (float(en_rows[i]), n1, i, int(rstar[i]))
            if found is None or cand[0] < found[0] - _TIE:
                found = cand
        if found is not None:
            en0, n1, r1_, r_ = found
            if best_mm is None:
                best_mm = (en0, n, n1, r1_, r_)
            if best_opt is None or en0 < best_opt[0] - _TIE:
                best_opt = (en0, n, n1, r1_, r_)
        n += 1

    if best_opt is None:
        raise ValueError(f"no two-stage design with n <= {limit} meets alpha={alpha} and power={power} for "
                         f"p0={p0}, p1={p1}" + ("; pass a larger nmax" if nmax is None else "; raise nmax"))
    if nmax is None and not proved:
        raise ValueError(f"the optimal design for p0={p0}, p1={p1}, alpha={alpha}, power={power} was not "
                         f"proved within n <= {AUTO_NMAX}; pass nmax to accept the best design with n <= nmax")
    return {"optimal": _design(best_opt[3], best_opt[2], best_opt[4], best_opt[1], p0, p1),
            "minimax": _design(best_mm[3], best_mm[2], best_mm[4], best_mm[1], p0, p1)}
