"""Figures for the steering committee and methodologists (matplotlib, written as PNG and SVG).

Each function takes tidy data (the same DataFrames the tables and tests read) and writes one
figure; nothing here computes a statistic.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt  # noqa: E402

from ..engine.store import atomic_path  # noqa: E402

FORMATS = (".png", ".svg")


def save(fig, stem: Path, formats=FORMATS) -> list[Path]:
    """Write the figure as stem.png and stem.svg (or the one format stem's suffix names)."""
    stem = Path(stem)
    paths = [stem] if stem.suffix in FORMATS else [stem.with_suffix(f) for f in formats]
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(p) as tmp:  # a stop while saving leaves the old figure or none, never half of one
            fig.savefig(tmp, dpi=120, bbox_inches="tight", format=p.suffix.lstrip("."))
    plt.close(fig)
    return paths


def sample_size_sawtooth(grid, summary, target: float, path: Path) -> list[Path]:
    """Exact power against n per arm for each design, with the target and the two recommended n."""
    keys = [c for c in grid.columns if c not in ("n_per_arm", "power")]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    groups = grid.groupby(keys, sort=False, dropna=False) if keys else [((), grid)]
    for (key, g), (_, s) in zip(groups, summary.iterrows()):
        g = g.sort_values("n_per_arm")
        label = ", ".join(f"{k}={v}" for k, v in zip(keys, key if isinstance(key, tuple) else (key,))
                          if len(grid[k].unique()) > 1) or "exact power"
        line, = ax.plot(g["n_per_arm"], g["power"], marker="o", ms=3, lw=1, label=label)
        best_before = g["power"].cummax().shift(1)
        dips = g[g["power"] < best_before - 1e-12]
        ax.plot(dips["n_per_arm"], dips["power"], "x", color=line.get_color(), ms=6)
        for col, style in (("first_n", ":"), ("stable_n", "--")):
            if s[col] is not None and s[col] == s[col]:
                ax.axvline(s[col], color=line.get_color(), ls=style, lw=1)
    ax.axhline(target, color="grey", lw=1)
    ax.set_xlabel("patients per arm")
    ax.set_ylabel("exact power")
    ax.set_title(f"Exact power is a saw-tooth in n: x = below a smaller n's power; "
                 f"dotted = first n reaching {target:g}, dashed = n from which it stays above", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, path)


def power_curve_data(table):
    """The points of the power curve: per design and sweep value, simulated power (or type I error)
    with its MCSE, and the exact power where the design has one. The test of the plot reads this."""
    import pandas as pd

    t = table[table["sweep_value"].notna()]
    rates = t[t["metric"].isin(("power", "type_I_error"))]
    exact = t[t["metric"] == "exact_power_plain_binomial"][["design", "sweep_value", "estimate"]].rename(
        columns={"estimate": "exact_power"})
    data = rates[["design", "sweep_value", "estimate", "mcse"]].rename(columns={"estimate": "power"})
    data = data.merge(exact, on=["design", "sweep_value"], how="left")
    return pd.DataFrame(data).sort_values(["design", "sweep_value"]).reset_index(drop=True)


def power_curve(data, x_label: str, path: Path) -> list[Path]:
    """Simulated power ± 1.96 MCSE against the effect size per design, the exact curve as a line;
    the data are written beside the figure (stem.csv)."""
    fig, ax = plt.subplots(figsize=(8, 4.8))
    for design, g in data.groupby("design", sort=False):
        bars = ax.errorbar(g["sweep_value"], g["power"], yerr=1.96 * g["mcse"], fmt="o", ms=4, capsize=3,
                           label=f"{design} (simulated)")
        if g["exact_power"].notna().any():
            ax.plot(g["sweep_value"], g["exact_power"], "-", color=bars[0].get_color(), lw=1,
                    label=f"{design} (exact)")
    ax.set_xlabel(x_label)
    ax.set_ylabel("power (type I error at no effect)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("Power against effect size: simulated (95% Monte Carlo error bars) and exact", fontsize=10)
    stem = Path(path)
    stem.parent.mkdir(parents=True, exist_ok=True)
    data.to_csv(stem.with_suffix(".csv"), index=False)
    return save(fig, stem)


def screening_funnel(summary: dict, path: Path) -> list[Path]:
    """Mean numbers per trial: screened, each screen-failure reason, randomized."""
    rows = {r["metric"]: r for r in summary["metrics"] if r["design"] is None}
    primary = {r["metric"]: r for r in summary["metrics"] if summary["designs"]
               and r["design"] == summary["designs"][0]["label"]}
    stages = [("screened", primary.get("n_screened")),
              ("RAS-mutant ctDNA", rows.get("n_ras_mutant_ctdna")),
              ("non-molecular", rows.get("n_non_molecular")),
              ("assay failure", rows.get("n_assay_failure")),
              ("died or deteriorated waiting", rows.get("n_died_or_deteriorated_waiting")),
              ("passed screening after enrolment closed", rows.get("n_enrolment_closed")),
              ("randomized", primary.get("n_randomized"))]
    stages = [(name, r) for name, r in stages if r is not None and r["estimate"] is not None]
    fig, ax = plt.subplots(figsize=(8, 3.8))
    names = [s[0] for s in stages][::-1]
    values = [s[1]["estimate"] for s in stages][::-1]
    errors = [1.96 * (s[1]["mcse"] or 0) for s in stages][::-1]
    colors = ["#4c72b0" if n in ("screened", "randomized") else "#c44e52" for n in names]
    ax.barh(names, values, xerr=errors, color=colors, capsize=3)
    for y, v in enumerate(values):
        ax.text(v, y, f"  {v:.1f}", va="center", fontsize=8)
    ax.set_xlabel("patients per trial (mean, 95% Monte Carlo interval)")
    ax.set_title("Screening funnel: screened, screen failures by reason, randomized", fontsize=10)
    return save(fig, path)


def durations(analyses, path: Path) -> list[Path]:
    """Distributions over trials of the accrual duration and the time to the primary analysis."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    for ax, column, title in ((axes[0], "accrual_months", "accrual duration"),
                              (axes[1], "duration_months", "time to the primary analysis")):
        v = analyses[column].dropna()
        ax.hist(v, bins=40, color="#4c72b0", alpha=0.85)
        for q, style in ((0.1, ":"), (0.5, "-"), (0.9, ":")):
            ax.axvline(v.quantile(q), color="k", ls=style, lw=1)
        ax.set_title(f"{title} (10/50/90%)", fontsize=10)
        ax.set_xlabel("months")
    axes[0].set_ylabel("trials")
    return save(fig, path)


def _km(time, event):
    """Kaplan-Meier step function (x, y) of one sample."""
    import numpy as np

    order = np.lexsort((~event, time))
    t, e = time[order], event[order]
    at_risk = len(t) - np.arange(len(t))
    s = np.cumprod(np.where(e, 1 - 1 / at_risk, 1.0))
    return np.r_[0, t], np.r_[1, s]


def km_typical(trial: dict, path: Path) -> list[Path]:
    """One simulated trial's Kaplan-Meier curves per arm: true PFS against PFS as the scans see it
    (``trial``: the run record's typical_trial, in months)."""
    import numpy as np

    fig, ax = plt.subplots(figsize=(8, 4.2))
    for name, color in (("rechallenge", "#c44e52"), ("control", "#4c72b0")):
        arm = trial[name]
        true = np.asarray(arm["pfs_true_months"], dtype=float)
        x, y = _km(true, np.ones(len(true), dtype=bool))
        ax.step(x, y, where="post", color=color, lw=1, ls="--", label=f"{name}, true PFS")
        x, y = _km(np.asarray(arm["pfs_observed_months"], dtype=float), np.asarray(arm["pfs_observed_event"], bool))
        ax.step(x, y, where="post", color=color, lw=1.5, label=f"{name}, PFS seen at scans")
    ax.set_xlabel("months since first treatment")
    ax.set_ylabel("progression-free")
    ax.set_xlim(0, 24)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"One simulated trial (replicate {trial['replicate']}): the scan schedule delays and bunches "
                 f"progressions", fontsize=10)
    return save(fig, path)


def oc_table(rows: list[dict], title: str, path: Path) -> list[Path]:
    """The operating-characteristic table as a figure (for slides): figure, estimate, MCSE, MC 95% interval."""
    from ..summary.catalogue import format_row, label

    cells = [[label(r["metric"]).strip(), *format_row(r)] for r in rows]
    fig, ax = plt.subplots(figsize=(9, 0.28 * len(cells) + 0.9))
    ax.axis("off")
    table = ax.table(cellText=cells, colLabels=["figure", "estimate", "MCSE", "MC 95% interval"], loc="upper center",
                     cellLoc="right", colLoc="right", colWidths=[0.55, 0.13, 0.13, 0.19])
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    for (i, j), cell in table.get_celld().items():
        if j == 0:
            cell.set_text_props(ha="left")
        if i == 0:
            cell.set_facecolor("#eef2f8")
    ax.set_title(title, fontsize=10)
    return save(fig, path, formats=(".png",))  # a table: PNG for slides (the report has it as HTML)
