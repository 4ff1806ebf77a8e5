"""The run's headline table in the terminal: estimate, MCSE, 95% CI, and what was configured."""
from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table

LABELS = {
    "power": "Power of the DCR comparison",
    "exact_power": "Exact power (plain binomial, configured DCRs)",
    "dcr_rechallenge": "DCR at reference day, rechallenge (truly RAS wt)",
    "dcr_control": "DCR at reference day, control (truly RAS wt)",
    "orr_rechallenge": "ORR at reference day, rechallenge (truly RAS wt)",
    "orr_control": "ORR at reference day, control (truly RAS wt)",
    "dcr_observed_rechallenge": "DCR at first scan as analysed, rechallenge (ITT)",
    "dcr_observed_control": "DCR at first scan as analysed, control (ITT)",
    "orr_observed_rechallenge": "ORR at first scan as analysed, rechallenge (ITT)",
    "orr_observed_control": "ORR at first scan as analysed, control (ITT)",
    "median_pfs_true_rechallenge": "Median PFS, true (months), rechallenge",
    "median_pfs_observed_rechallenge": "Median PFS, seen at scans (months), rechallenge",
    "median_os_rechallenge": "Median OS (months), rechallenge",
    "median_pfs_true_control": "Median PFS, true (months), control",
    "median_pfs_observed_control": "Median PFS, seen at scans (months), control",
    "median_os_control": "Median OS (months), control",
    "n_screened": "Patients screened (mean)",
    "n_randomized": "Patients randomized (mean)",
    "accrual_months": "Accrual duration, months (mean)",
    "time_to_primary_analysis_months": "Time to primary DCR analysis, months (mean)",
    "accrual_completed": "Share of trials reaching the target",
}


def _fmt(x, digits=3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def print_summary(summary: dict, console: Console | None = None) -> None:
    # Off a terminal rich assumes 80 columns, which wraps every label; logs read better wide.
    console = console or Console(width=None if sys.stdout.isatty() else 120)
    configured = summary.get("configured", {})
    rows = summary["metrics"]
    title = (f"{summary['scenario_name']}: {summary['replicates']} replicates, seed {summary['seed']}, "
             f"{summary['elapsed_s']:.1f} s" + (" (INTERRUPTED)" if summary.get("interrupted") else ""))
    table = Table(title=title, caption=rows[0]["design"] if rows else None)
    for col, just in (("metric", "left"), ("estimate", "right"), ("MCSE", "right"), ("95% CI", "right"),
                      ("configured", "right")):
        table.add_column(col, justify=just)
    for r in rows:
        conf = configured.get(r["metric"])
        table.add_row(
            LABELS.get(r["metric"], r["metric"]), _fmt(r["estimate"]), _fmt(r["mcse"], 4),
            f"{_fmt(r['ci_low'])} – {_fmt(r['ci_high'])}", "" if conf is None else _fmt(conf),
        )
    console.print(table)
    for note in summary.get("notes", []):
        console.print(f"[dim]note:[/dim] {note}")
