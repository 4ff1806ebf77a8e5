"""Figures for the steering committee and methodologists (matplotlib, written as PNG and SVG).

Each function takes tidy data (the same DataFrames the tables and tests read) and writes one
figure; nothing here computes a statistic.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt  # noqa: E402

FORMATS = (".png", ".svg")


def save(fig, stem: Path, formats=FORMATS) -> list[Path]:
    """Write the figure as stem.png and stem.svg (or the one format stem's suffix names)."""
    stem = Path(stem)
    paths = [stem] if stem.suffix in FORMATS else [stem.with_suffix(f) for f in formats]
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(p, dpi=120, bbox_inches="tight")
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
