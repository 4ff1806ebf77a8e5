"""Fast two-arm survival analyses of simulated trials: log-rank test and Cox model.

Built for one call per simulated replicate (20-120 patients, thousands of calls per second):
plain numpy on the trial's arrays, no DataFrame, no lifelines object. ``logrank``,
``cox_two_arm`` and ``logrank_and_cox`` (one shared sort) analyse one trial;
``logrank_batch`` and ``cox_two_arm_batch`` analyse many trials stacked in one set of arrays.

Conventions: ``arm`` is 1 for rechallenge (experimental) and 0 for control (bool works too;
any other value raises ValueError: drop unrandomised patients first). A patient is at risk at
time t when ``time >= t`` (censorings tied with events are at risk at those events).

Reduction used by both analyses. Sort once; for the j-th distinct event time let n_j, n1_j be
the numbers at risk (overall, arm 1) and d_j, d1_j the events (overall, arm 1); n0 = n - n1,
d0 = d - d1. Both analyses depend on the data only through these. The arrays hold one entry per
*event* (each event of tie group j carries j's aggregates), so per-time sums weighted by d_j
become plain sums over events.

Log-rank (Mantel-Haenszel variance with lifelines' tie correction):
    O1 = sum_j d1_j,  E1 = sum_j d_j n1_j / n_j,
    V = sum_j d_j (n1_j n0_j / n_j^2) (n_j - d_j) / (n_j - 1),
    z = (E1 - O1) / sqrt(V)  (z > 0 favours arm 1), chisq = z^2 (lifelines' test_statistic),
    p_two_sided = P(chi2_1 > chisq) = erfc(|z| / sqrt 2) (lifelines' p_value).
    One-sided p-value for H1 "arm 1 survives longer": ``p_one = norm.sf(z)``
    (``one_sided_p(result)``); reject at level alpha when p_one <= alpha.

Cox with the single binary covariate x = arm, Efron's ties (lifelines' and R's default).
With r = exp(beta), Efron's k-th term (k = 0..d_j-1) at time j removes the fraction k/d_j of
the tied events' weight from the risk set. Since x is 0/1 (x^2 = x), that weight splits by arm:
its denominator is (n0_j - k d0_j/d_j) + r (n1_j - k d1_j/d_j) =: c_k + r a_k, and its
weighted mean of x is p_k = r a_k / (c_k + r a_k). Hence
    loglik = O1 beta - sum_k log(c_k + r a_k),  score = O1 - sum_k p_k,
    information = sum_k p_k (1 - p_k),
a logistic-like problem with one pseudo risk set per event, vectorised over all events.
Newton-Raphson starts at beta = 0, halves steps that lower the log-likelihood and stops once
|step| < 1e-8 (the step is applied, so the estimate is the MLE up to rounding, ~1e-13). lifelines stops
earlier (damped steps; stops on a Newton decrement < 1e-7 without applying the last step): its
log HR is often 1e-5 to 1e-4 and up to ~5e-4 from the MLE, its SE up to ~1e-4.
``lifelines_compat=True`` replays lifelines' iterations and reproduces it to ~1e-14.

Degenerate data (no warnings, no exceptions; only malformed input raises ValueError):

* Log-rank with V == 0 (no events at all, one arm empty, or every event at a time where only
  one arm is at risk or all at risk die): ``z``, ``chisq`` and ``p_two_sided`` are nan,
  ``observed_minus_expected`` and ``variance`` are 0 and ``events`` counts the events, so
  callers can count non-informative trials. (lifelines reports statistic 0 and p = 1 there.)
* Cox with a monotone partial likelihood (infinite MLE). The score decreases from
  O1 - #{events at times with nobody of arm 0 at risk} (beta -> -inf) to
  O1 - #{events at times with somebody of arm 1 at risk} (beta -> +inf); both limits are
  integers, so this is decided exactly before iterating. Only the +inf limit >= 0 (e.g. no
  events in arm 0): ``log_hr = +inf``; only the -inf limit <= 0 (e.g. no events in arm 1):
  ``log_hr = -inf``; both (flat likelihood: no events, one arm empty): ``log_hr = nan``.
  Then ``se = nan`` and ``converged = False``, and ``hr_ci`` gives (nan, nan). lifelines
  warns and returns some large finite value instead.
"""
from __future__ import annotations

import math
from statistics import NormalDist
from typing import NamedTuple

import numpy as np
from scipy.special import erfc

_SQRT2 = math.sqrt(2.0)
_Z = {0.95: 1.959963984540054}

# Newton-Raphson settings for the Cox fit.
_MAX_ITER = 50
_MAX_HALVINGS = 30
_STEP_TOL = 1e-8  # stop once the Newton step on beta is below this, after applying it (error ~ step^2)
_MAX_STEP = 10.0  # cap on one Newton step (nearly separated data can propose huge first steps)


class LogRank(NamedTuple):
    z: float  # (E1 - O1) / sqrt(V): positive when arm 1 has fewer events than expected
    chisq: float  # z**2, lifelines' test_statistic
    p_two_sided: float  # P(chi2_1 > chisq) = 2 norm.sf(|z|)
    observed_minus_expected: float  # O1 - E1 in arm 1 (negative favours arm 1)
    variance: float  # V, hypergeometric variance of O1
    events: int  # total number of events


class CoxFit(NamedTuple):
    log_hr: float  # log hazard ratio arm 1 vs arm 0 (negative favours arm 1)
    se: float  # sqrt of the inverse observed information at log_hr
    converged: bool


def one_sided_p(result: LogRank) -> float:
    """P-value for H1 "arm 1 survives longer": ``norm.sf(z)`` (nan when z is nan)."""
    return 0.5 * math.erfc(result.z / _SQRT2)


def hr_ci(fit: CoxFit, level: float = 0.95) -> tuple[float, float]:
    """Wald confidence interval for the hazard ratio: exp(log_hr -/+ z_{(1+level)/2} se).

    (nan, nan) when the fit has no finite estimate or standard error.
    """
    if not (math.isfinite(fit.log_hr) and math.isfinite(fit.se)):
        return math.nan, math.nan
    z = _Z.get(level)
    if z is None:
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        z = _Z[level] = NormalDist().inv_cdf(0.5 + level / 2.0)
    half = z * fit.se
    return math.exp(fit.log_hr - half), math.exp(fit.log_hr + half)


class _Events(NamedTuple):
    """Per-event aggregates of the event's tie group (see the module docstring)."""

    n: np.ndarray  # at risk
    n1: np.ndarray  # at risk in arm 1
    d: np.ndarray  # tied events
    d1: np.ndarray  # tied events in arm 1
    k: np.ndarray  # rank of the event within its tie group, 0..d-1
    o1: int  # events in arm 1
    n_arm1: int  # patients in arm 1
    size: int  # patients


def _events(time, event, arm) -> _Events:
    # numpy methods rather than np.* functions: the latter's dispatch costs ~1 us per call here.
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    x = np.asarray(arm, dtype=float)
    if not (t.ndim == 1 and t.shape == e.shape == x.shape):
        raise ValueError(f"time, event and arm must be 1-d of equal length, got {np.shape(time)}, "
                         f"{np.shape(event)}, {np.shape(arm)}")
    if np.count_nonzero(x * (x - 1.0)):  # not all 0 or 1
        raise ValueError("arm must be 0 (control) or 1 (rechallenge)")
    size = len(t)
    order = t.argsort(kind="stable")
    ts = t[order]
    if size and ts[-1] != ts[-1]:  # nan sorts last
        raise ValueError("time must not be nan")
    xs = x[order]
    ev = e[order].nonzero()[0]  # sorted positions of the events
    te = ts[ev]
    events = len(te)
    # Risk set of an event: everyone from the first sorted position with its time on.
    first = ts.searchsorted(te)
    ones_from = xs[::-1].cumsum()[::-1]  # ones_from[i] = number in arm 1 among sorted[i:]
    # Tie groups among the (sorted) events: positions lo..hi-1 of te.
    lo = te.searchsorted(te)
    hi = te.searchsorted(te, "right")
    cum1 = np.empty(events + 1)  # cum1[i] = arm-1 events among the first i events
    cum1[0] = 0.0
    xs[ev].cumsum(out=cum1[1:])
    return _Events(size - first, ones_from[first], hi - lo, cum1[hi] - cum1[lo],
                   np.arange(events) - lo, int(cum1[-1]), int(ones_from[0]) if size else 0, size)


def _logrank(ev: _Events) -> LogRank:
    n, n1, d = ev.n, ev.n1, ev.d
    events = len(n)
    if events == 0:
        return LogRank(math.nan, math.nan, math.nan, 0.0, 0.0, 0)
    frac1 = n1 / n
    o_minus_e = ev.o1 - float(frac1.sum())
    if n[-1] == 1:  # a last event with one patient at risk adds 0 to V (and 0/0 below)
        n, d, frac1 = n[:-1], d[:-1], frac1[:-1]
    # Per-event share of V: (n1 n0 / n^2) (n - d) / (n - 1).
    variance = float((frac1 * (1.0 - frac1) * (n - d) / (n - 1.0)).sum())
    if not variance > 0.0:  # exactly 0 when every term is (then O1 - E1 == 0 too)
        return LogRank(math.nan, math.nan, math.nan, 0.0, 0.0, events)
    z = -o_minus_e / math.sqrt(variance)
    return LogRank(z, z * z, math.erfc(abs(z) / _SQRT2), o_minus_e, variance, events)


def _cox(ev: _Events, lifelines_compat: bool = False) -> CoxFit:
    n1, d, d1, k = ev.n1, ev.d, ev.d1, ev.k
    o1 = ev.o1
    # Exact monotone-likelihood check (module docstring): limits of the score at -/+ inf.
    score_at_plus_inf = o1 - int(np.count_nonzero(n1))
    score_at_minus_inf = o1 - int(np.count_nonzero(n1 == ev.n))
    plus, minus = score_at_plus_inf >= 0, score_at_minus_inf <= 0
    if plus or minus:
        log_hr = math.nan if (plus and minus) else (math.inf if plus else -math.inf)
        return CoxFit(log_hr, math.nan, False)

    frac = k / d
    a = n1 - frac * d1  # arm-1 part of the Efron risk set
    c = (ev.n - n1) - frac * (d - d1)  # arm-0 part

    def evaluate(beta: float) -> tuple[float, float, float]:
        """Log partial likelihood, score and information at beta."""
        num = math.exp(beta) * a
        den = c + num
        p = num / den
        return o1 * beta - float(np.log(den).sum()), o1 - float(p.sum()), float(p.dot(c / den))

    if lifelines_compat:
        return _cox_lifelines_steps(evaluate, ev.n_arm1, ev.size)

    beta = 0.0
    loglik, score, info = evaluate(beta)
    converged = False
    for _ in range(_MAX_ITER):
        step = score / info
        if abs(step) < _STEP_TOL:
            beta += step
            converged = True
            break
        step = max(-_MAX_STEP, min(_MAX_STEP, step))
        for _ in range(_MAX_HALVINGS):
            new = evaluate(beta + step)
            # Accept unless the log-likelihood drops beyond rounding noise (it is concave).
            if new[0] >= loglik - 1e-11 * (1.0 + abs(loglik)):
                break
            step *= 0.5
        else:
            break
        beta += step
        loglik, score, info = new
    return CoxFit(beta, 1.0 / math.sqrt(info), converged)


def _cox_lifelines_steps(evaluate, n_arm1: int, size: int) -> CoxFit:
    """lifelines' CoxPHFitter iterations (_newton_raphson_for_efron_model as of lifelines 0.30).

    lifelines works on the covariate standardised by its sample sd s (beta_s = s beta; centring
    changes nothing), takes damped Newton steps (utils.StepSizer, starting at 0.95) and stops
    when |delta_s| < 1e-7, the relative log-likelihood change < 1e-9 or the Newton decrement
    < 1e-7, returning the point where the last delta was computed (not applied), with the
    information there. Replaying that sequence reproduces its estimate to rounding; it differs
    from the exact MLE by up to ~5e-4 in log HR.
    """
    s = math.sqrt(n_arm1 * (size - n_arm1) / (size * (size - 1.0)))
    beta_s = delta_s = 0.0
    step_size, temper, norms = 0.95, False, []
    previous = 0.0
    for i in range(1, 501):
        beta_s += step_size * delta_s
        loglik, score, info = evaluate(beta_s / s)
        delta_s = s * score / info
        norm_delta = abs(delta_s)
        if (norm_delta < 1e-7 or (previous != 0.0 and abs(loglik - previous) / -previous < 1e-9)
                or score * score / info / 2.0 < 1e-7):
            return CoxFit(beta_s / s, 1.0 / math.sqrt(info), True)
        if step_size <= 1e-5 or (abs(loglik) < 1e-4 and norm_delta > 1.0):
            break
        previous = loglik
        # utils.StepSizer.update
        norms.append(norm_delta)
        if temper:
            step_size = min(step_size * 1.3, 0.95)
        if norm_delta >= 15.0:
            step_size *= 0.1
            temper = True
        elif norm_delta > 5.0:
            step_size *= 0.25
            temper = True
        if len(norms) >= 3:
            if norms[-3] > norms[-2] > norms[-1]:
                step_size = min(step_size * 1.3, 1.0)
            else:
                step_size *= 0.98
    return CoxFit(beta_s / s, 1.0 / math.sqrt(info), False)


def logrank(time, event, arm) -> LogRank:
    """Two-arm log-rank test (arm 1 vs arm 0); see the module docstring for conventions."""
    return _logrank(_events(time, event, arm))


def cox_two_arm(time, event, arm, *, lifelines_compat: bool = False) -> CoxFit:
    """Cox model with the arm indicator as only covariate, Efron ties (module docstring).

    Default: Newton-Raphson from beta = 0 with step halving, to the exact MLE.
    ``lifelines_compat=True`` replays lifelines' damped iterations and stopping rules instead,
    reproducing ``CoxPHFitter().fit(df, duration_col, event_col)`` to rounding.
    """
    return _cox(_events(time, event, arm), lifelines_compat)


def logrank_and_cox(time, event, arm, *, lifelines_compat: bool = False) -> tuple[LogRank, CoxFit]:
    """Both analyses sharing one sort of the data."""
    ev = _events(time, event, arm)
    return _logrank(ev), _cox(ev, lifelines_compat)


# ---------------------------------------------------------------------------------------------
# Many trials at once: the same computations with per-trial sums done by np.bincount.


class _BatchEvents(NamedTuple):
    """_Events for stacked trials: per-event arrays plus each event's trial, per-trial totals."""

    n: np.ndarray
    n1: np.ndarray
    d: np.ndarray
    d1: np.ndarray
    k: np.ndarray
    trial: np.ndarray  # 0-based trial index of each event
    o1: np.ndarray  # events in arm 1, per trial
    events: np.ndarray  # events, per trial


def _batch_events(time, event, arm, trial) -> _BatchEvents:
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    x = np.asarray(arm, dtype=float)
    g = np.asarray(trial)
    if not (t.ndim == 1 and t.shape == e.shape == x.shape == g.shape):
        raise ValueError(f"time, event, arm and trial must be 1-d of equal length, got "
                         f"{np.shape(time)}, {np.shape(event)}, {np.shape(arm)}, {np.shape(trial)}")
    if np.count_nonzero(x * (x - 1.0)):  # not all 0 or 1
        raise ValueError("arm must be 0 (control) or 1 (rechallenge)")
    if np.isnan(t).any():
        raise ValueError("time must not be nan")
    if len(g) and (g[1:] >= g[:-1]).all():  # already grouped in order: skip np.unique's sort
        gid = np.zeros(len(g), dtype=np.intp)
        (g[1:] != g[:-1]).cumsum(out=gid[1:])
    else:
        gid = np.unique(g, return_inverse=True)[1].reshape(-1)
    order = np.lexsort((t, gid))  # by trial, then time
    ts, xs, es, gs = t[order], x[order], e[order], gid[order]
    total = len(ts)
    trial_end = np.bincount(gs).cumsum()  # one past each trial's last sorted position
    n_trials = len(trial_end)
    # First sorted position of each patient's (trial, time) group.
    new = np.ones(total, dtype=bool)
    new[1:] = (gs[1:] != gs[:-1]) | (ts[1:] != ts[:-1])
    first = np.maximum.accumulate(np.where(new, np.arange(total), 0)) if total else new.nonzero()[0]
    ones_from = np.zeros(total + 1)
    ones_from[:total] = xs[::-1].cumsum()[::-1]
    ev = es.nonzero()[0]
    fe, ge, xe = first[ev], gs[ev], xs[ev]
    end = trial_end[ge]
    # Tie groups among the events: consecutive events sharing their first position.
    events = len(ev)
    new_tie = np.ones(events, dtype=bool)
    new_tie[1:] = fe[1:] != fe[:-1]
    starts = new_tie.nonzero()[0]
    tie = new_tie.cumsum() - 1
    lo = starts[tie]
    hi = np.append(starts[1:], events)[tie]
    cum1 = np.zeros(events + 1)
    xe.cumsum(out=cum1[1:])
    return _BatchEvents(end - fe, ones_from[fe] - ones_from[end], hi - lo, cum1[hi] - cum1[lo],
                        np.arange(events) - lo, ge,
                        np.bincount(ge, weights=xe, minlength=n_trials),
                        np.bincount(ge, minlength=n_trials))


def _batch_logrank(ev: _BatchEvents) -> LogRank:
    m = len(ev.o1)
    n, d = ev.n, ev.d
    frac1 = ev.n1 / n
    o_minus_e = ev.o1 - np.bincount(ev.trial, weights=frac1, minlength=m)
    variance = np.bincount(ev.trial, minlength=m,
                           weights=frac1 * (1.0 - frac1) * (n - d) / np.maximum(n - 1, 1))
    ok = variance > 0.0
    z = np.where(ok, -o_minus_e / np.sqrt(np.where(ok, variance, 1.0)), np.nan)
    return LogRank(z, z * z, erfc(np.abs(z) / _SQRT2), np.where(ok, o_minus_e, 0.0),
                   np.where(ok, variance, 0.0), ev.events)


def _batch_cox(ev: _BatchEvents) -> CoxFit:
    m = len(ev.o1)
    n, n1, d, d1, trial, o1 = ev.n, ev.n1, ev.d, ev.d1, ev.trial, ev.o1
    plus = o1 - np.bincount(trial[n1 > 0], minlength=m) >= 0
    minus = o1 - np.bincount(trial[n1 == n], minlength=m) <= 0
    log_hr = np.where(plus, np.where(minus, np.nan, np.inf), -np.inf)
    se = np.full(m, np.nan)
    converged = np.zeros(m, dtype=bool)
    active = ~(plus | minus)
    fitted = active.nonzero()[0]
    if len(fitted) == 0:
        return CoxFit(log_hr, se, converged)
    rows = active[trial]
    g = (active.cumsum() - 1)[trial[rows]]  # index among fitted trials
    size = len(fitted)
    frac = ev.k[rows] / d[rows]
    a = n1[rows] - frac * d1[rows]
    c = (n[rows] - n1[rows]) - frac * (d[rows] - d1[rows])
    o = o1[fitted]

    def evaluate(beta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        num = np.exp(beta)[g] * a
        den = c + num
        p = num / den
        return (o * beta - np.bincount(g, weights=np.log(den), minlength=size),
                o - np.bincount(g, weights=p, minlength=size),
                np.bincount(g, weights=p * (c / den), minlength=size))

    beta = np.zeros(size)
    loglik, score, info = evaluate(beta)
    done = np.zeros(size, dtype=bool)
    failed = np.zeros(size, dtype=bool)
    for _ in range(_MAX_ITER):
        step = score / info
        small = ~(done | failed) & (np.abs(step) < _STEP_TOL)
        beta[small] += step[small]
        done |= small
        work = ~(done | failed)
        if not work.any():
            break
        step = np.where(work, np.clip(step, -_MAX_STEP, _MAX_STEP), 0.0)
        floor = loglik - 1e-11 * (1.0 + np.abs(loglik))
        new_ll, new_score, new_info = evaluate(beta + step)
        bad = work & ~(new_ll >= floor)
        for _ in range(_MAX_HALVINGS):
            if not bad.any():
                break
            step[bad] *= 0.5
            tried = evaluate(beta + step)
            new_ll[bad], new_score[bad], new_info[bad] = tried[0][bad], tried[1][bad], tried[2][bad]
            bad &= ~(new_ll >= floor)
        failed |= bad
        take = work & ~bad
        beta[take] += step[take]
        loglik[take], score[take], info[take] = new_ll[take], new_score[take], new_info[take]
    log_hr[fitted] = beta
    se[fitted] = 1.0 / np.sqrt(info)
    converged[fitted] = done
    return CoxFit(log_hr, se, converged)


def logrank_batch(time, event, arm, trial) -> LogRank:
    """``logrank`` of every trial in stacked arrays; ``trial`` labels each patient's trial.

    Returns a LogRank of arrays, one entry per trial in the order of ``np.unique(trial)``.
    """
    return _batch_logrank(_batch_events(time, event, arm, trial))


def cox_two_arm_batch(time, event, arm, trial) -> CoxFit:
    """``cox_two_arm`` (exact MLE) of every trial in stacked arrays, as ``logrank_batch``."""
    return _batch_cox(_batch_events(time, event, arm, trial))


def logrank_and_cox_batch(time, event, arm, trial) -> tuple[LogRank, CoxFit]:
    """Both batched analyses sharing one sort."""
    ev = _batch_events(time, event, arm, trial)
    return _batch_logrank(ev), _batch_cox(ev)
