"""Every design's decisions for a batch of replicates, from the rows ``extract.py`` made.

Vectorized over replicates: a binary test is a lookup in its cached rejection region (one per
distinct pair of arm sizes), a survival test a comparison of z with its critical value, the futility
look a lookup in its cached predictive-probability table. This is what makes an extra analysis
variant nearly free: no design re-reads a patient table.

A futility stop at the look truncates the trial there: the numbers screened and randomized are those
by the look, the duration ends at the look, nothing is rejected, and the estimates are those the
look saw (its first-scan counts). The simulated trial ran on past
the look, but nothing before it depends on what happens after, so this is the trial that stops.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from ..scenario.schema import DAYS_PER_MONTH
from . import binary
from .design import AnalysisPlan, Design
from .interim import stops
from .intervals import newcombe_difference

ARM_NAMES = ("rechallenge", "control")


def binary_reject(design: Design, n1, n2, x1, x2) -> np.ndarray:
    """The design's binary test on per-replicate counts; False where an arm is empty."""
    n1, n2, x1, x2 = (np.asarray(v, dtype=np.int64) for v in (n1, n2, x1, x2))
    out = np.zeros(len(n1), dtype=bool)
    ok = (n1 > 0) & (n2 > 0)
    extra = {} if design.prior is None else {"prior": design.prior}
    for a, b in set(zip(n1[ok].tolist(), n2[ok].tolist())):
        rows = ok & (n1 == a) & (n2 == b)
        region = binary.rejection_region(a, b, design.test, design.region_alpha, design.sided, **extra)
        out[rows] = region[x1[rows], x2[rows]]
    return out


def survival_reject(z, alpha: float, sided: str) -> np.ndarray:
    """Log-rank decision from the signed z (> 0 favours rechallenge); NaN (no events) never rejects."""
    z = np.asarray(z, dtype=float)
    with np.errstate(invalid="ignore"):
        if sided == "one":
            return z >= norm.isf(alpha)
        return np.abs(z) >= norm.isf(alpha / 2)


def decide(rows: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """One row per (replicate, design): decisions, denominators, estimates and operational figures."""
    out = []
    for index, d in enumerate(plan.designs):
        k = f"k{plan.key_index(d)}"
        if d.population == "itt":
            n1, n2 = rows["n_rechallenge"].to_numpy(), rows["n_control"].to_numpy()
        else:
            n1, n2 = rows[f"{k}_eval_rechallenge"].to_numpy(), rows[f"{k}_eval_control"].to_numpy()
        x1, x2 = rows[f"{k}_dc_rechallenge"].to_numpy(), rows[f"{k}_dc_control"].to_numpy()
        r1, r2 = rows[f"{k}_resp_rechallenge"].to_numpy(), rows[f"{k}_resp_control"].to_numpy()
        day = rows[f"{k}_day"].to_numpy(dtype=float)
        screened = rows["n_screened"].to_numpy()
        randomized = rows["n_randomized"].to_numpy()
        accrual = rows["accrual_months"].to_numpy(dtype=float)
        e1, e2 = rows[f"{k}_eval_rechallenge"].to_numpy(), rows[f"{k}_eval_control"].to_numpy()
        looked = np.zeros(len(rows), dtype=bool)
        stopped = np.zeros(len(rows), dtype=bool)
        survival_go = np.ones(len(rows), dtype=bool)
        if d.interim is not None:
            j = f"look{plan.look_index(d)}"
            look_day = rows[f"{j}_day"].to_numpy(dtype=float)
            looked = np.isfinite(look_day) & (look_day < day)  # no look after the final analysis
            i = d.interim
            final = (*plan.planned, d.test, d.region_alpha, d.sided, d.prior, i.prior)
            stopped = looked & stops(i.rule, i.stop_below, rows[f"{j}_m_rechallenge"], rows[f"{j}_y_rechallenge"],
                                     rows[f"{j}_m_control"], rows[f"{j}_y_control"], final)
            # A stopped trial ends at the look: its figures and estimates are those the look saw.
            day = np.where(stopped, look_day, day)
            screened = np.where(stopped, rows[f"{j}_screened"], screened)
            randomized = np.where(stopped, rows[f"{j}_randomized"], randomized)
            accrual = np.where(stopped, rows[f"{j}_accrual_months"], accrual)
            look = {c: rows[f"{j}_{c}"].to_numpy() for c in (
                "m_rechallenge", "m_control", "eval_rechallenge", "eval_control", "y_rechallenge", "y_control",
                "resp_rechallenge", "resp_control")}
            if d.population == "itt":
                n1, n2 = np.where(stopped, look["m_rechallenge"], n1), np.where(stopped, look["m_control"], n2)
            else:
                n1 = np.where(stopped, look["eval_rechallenge"], n1)
                n2 = np.where(stopped, look["eval_control"], n2)
            x1, x2 = np.where(stopped, look["y_rechallenge"], x1), np.where(stopped, look["y_control"], x2)
            r1, r2 = np.where(stopped, look["resp_rechallenge"], r1), np.where(stopped, look["resp_control"], r2)
            e1, e2 = np.where(stopped, look["eval_rechallenge"], e1), np.where(stopped, look["eval_control"], e2)
            # PFS/OS analyses cut before the look (a cut-off fixed from the study's start) still happen.
            survival_go = ~stopped | (rows["cutoff_months"].to_numpy(dtype=float) * DAYS_PER_MONTH <= look_day)
        go = ~stopped
        diff, low, high = newcombe_difference(x1, n1, x2, n2)
        out.append(pd.DataFrame({
            "replicate": rows["replicate"].to_numpy(),
            "design": np.full(len(rows), index, dtype=np.int16),
            "reject": go & binary_reject(d, n1, n2, x1, x2),
            "reject_orr": go & binary_reject(d, n1, n2, r1, r2),
            "reject_pfs": survival_go & survival_reject(rows["pfs_z"], d.alpha, d.sided),
            "reject_os": survival_go & survival_reject(rows["os_z"], d.alpha, d.sided),
            "looked": looked,
            "stopped": stopped,
            "n_rechallenge": n1, "n_control": n2,
            "n_evaluable_rechallenge": e1, "n_evaluable_control": e2,
            "dcr_successes_rechallenge": x1, "dcr_successes_control": x2,
            "orr_successes_rechallenge": r1, "orr_successes_control": r2,
            "dcr_difference": diff, "dcr_difference_low": low, "dcr_difference_high": high,
            "n_screened": screened, "n_randomized": randomized,
            "accrual_months": accrual,
            "duration_months": day / DAYS_PER_MONTH,
        }))
    return pd.concat(out, ignore_index=True)
