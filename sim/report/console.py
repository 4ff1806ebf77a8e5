"""The run's headline table in the terminal: estimate, MCSE, 95% CI, and what was configured."""
from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table

LABELS = {
    "power": "Power of the DCR comparison",
    "type_I_error": "Type I error of the DCR comparison",
    "exact_power": "Exact power (plain binomial, configured DCRs)",
    "power_orr": "Power of the ORR comparison",
    "type_I_error_orr": "Type I error of the ORR comparison",
    "power_pfs": "Power of the PFS log-rank (at the cut-off)",
    "type_I_error_pfs": "Type I error of the PFS log-rank",
    "power_os": "Power of the OS log-rank (at the cut-off)",
    "type_I_error_os": "Type I error of the OS log-rank",
    "dcr_observed_rechallenge": "DCR as analysed, rechallenge",
    "dcr_observed_control": "DCR as analysed, control",
    "orr_observed_rechallenge": "ORR as analysed, rechallenge",
    "orr_observed_control": "ORR as analysed, control",
    "dcr_difference": "DCR difference as analysed (mean estimate)",
    "bias_dcr_difference": "  bias against the configured difference",
    "rmse_dcr_difference": "  RMSE",
    "coverage_dcr_difference": "  coverage of the Newcombe 95% CI",
    "n_evaluable_rechallenge": "Evaluable patients, rechallenge (mean)",
    "n_evaluable_control": "Evaluable patients, control (mean)",
    "prob_interim_look": "Probability the interim look happens",
    "prob_stop_early": "Probability of stopping for futility",
    "n_screened": "Patients screened (mean)",
    "n_randomized": "Patients randomized (mean)",
    "accrual_months": "Accrual duration, months (mean)",
    "accrual_months_q10": "  10% quantile",
    "accrual_months_q50": "  median",
    "accrual_months_q90": "  90% quantile",
    "time_to_primary_analysis_months": "Time to primary DCR analysis, months (mean)",
    "time_to_primary_analysis_months_q10": "  10% quantile",
    "time_to_primary_analysis_months_q50": "  median",
    "time_to_primary_analysis_months_q90": "  90% quantile",
    "dcr_rechallenge": "DCR at reference day, rechallenge (truly RAS wt)",
    "dcr_control": "DCR at reference day, control (truly RAS wt)",
    "orr_rechallenge": "ORR at reference day, rechallenge (truly RAS wt)",
    "orr_control": "ORR at reference day, control (truly RAS wt)",
    "median_pfs_true_rechallenge": "Median PFS, true (months), rechallenge",
    "median_pfs_observed_rechallenge": "Median PFS, seen at scans (months), rechallenge",
    "median_os_rechallenge": "Median OS (months), rechallenge",
    "median_pfs_true_control": "Median PFS, true (months), control",
    "median_pfs_observed_control": "Median PFS, seen at scans (months), control",
    "median_os_control": "Median OS (months), control",
    "log_hr_pfs": "Cox log HR, PFS as seen (mean)",
    "bias_log_hr_pfs": "  bias against the true-law log HR",
    "rmse_log_hr_pfs": "  RMSE",
    "coverage_log_hr_pfs": "  coverage of the Wald 95% CI",
    "events_pfs": "PFS events at the cut-off (mean)",
    "cox_not_estimable_pfs": "Trials without a finite Cox estimate, PFS",
    "cox_not_estimable_os": "Trials without a finite Cox estimate, OS",
    "log_hr_os": "Cox log HR, OS (mean)",
    "bias_log_hr_os": "  bias against the true-law log HR",
    "rmse_log_hr_os": "  RMSE",
    "coverage_log_hr_os": "  coverage of the Wald 95% CI",
    "events_os": "Deaths at the cut-off (mean)",
    "accrual_completed": "Share of trials reaching the target",
    "n_truly_mutant_randomized": "Truly RAS-mutant patients randomized (mean)",
    "n_died_or_deteriorated_waiting": "Screen failures: died or deteriorated waiting (mean)",
    "n_assay_failure": "Screen failures: ctDNA assay failed (mean)",
    "n_ras_mutant_ctdna": "Screen failures: RAS-mutant ctDNA (mean)",
    "n_non_molecular": "Screen failures: non-molecular criteria (mean)",
    "n_enrolment_closed": "Screened after enrolment closed (mean)",
}
#: The columns of the design comparison table: (metric, heading).
COMPARISON = (("power", "power"), ("type_I_error", "type I error"), ("exact_power", "exact"),
              ("dcr_difference", "DCR difference"), ("power_pfs", "PFS power"),
              ("prob_stop_early", "P(stop)"), ("n_randomized", "randomized"),
              ("time_to_primary_analysis_months", "months to analysis"))


def comparison_cells(summary: dict) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """The design comparison of one run as text: headings, then (design, cells) per design."""
    designs = [d["label"] for d in summary.get("designs", [])]
    by = {(r["design"], r["metric"]): r for r in summary["metrics"]}
    shown = [(m, h) for m, h in COMPARISON if any((d, m) in by for d in designs)]
    body = []
    for d in designs:
        cells = []
        for m, _ in shown:
            r = by.get((d, m))
            cells.append("" if r is None or r["estimate"] is None else
                         f"{r['estimate']:.3f}" + ("" if not r["mcse"] else f" ± {r['mcse']:.3f}"))
        body.append((d, cells))
    return [h for _, h in shown], body


def _fmt(x, digits=3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _table(title, rows, configured, caption=None) -> Table:
    table = Table(title=title, caption=caption)
    for col, just in (("metric", "left"), ("estimate", "right"), ("MCSE", "right"), ("95% CI", "right"),
                      ("configured", "right")):
        table.add_column(col, justify=just)
    for r in rows:
        conf = configured.get(r["metric"])
        if r["metric"] in ("bias_dcr_difference", "rmse_dcr_difference", "coverage_dcr_difference"):
            conf = None
        table.add_row(
            LABELS.get(r["metric"], r["metric"]), _fmt(r["estimate"]), _fmt(r["mcse"], 4),
            f"{_fmt(r['ci_low'])} – {_fmt(r['ci_high'])}", "" if conf is None or isinstance(conf, bool)
            else _fmt(conf),
        )
    return table


def print_summary(summary: dict, console: Console | None = None) -> None:
    """The primary design's operating characteristics, what the trials show, and the other designs."""
    # Off a terminal rich assumes 80 columns, which wraps every label; logs read better wide.
    console = console or Console(width=None if sys.stdout.isatty() else 140)
    configured = summary.get("configured", {})
    rows = summary["metrics"]
    designs = [d["label"] for d in summary.get("designs", [])]
    title = (f"{summary['scenario_name']}: {summary['replicates']} replicates, seed {summary['seed']}, "
             f"{summary['elapsed_s']:.1f} s" + (" (INTERRUPTED)" if summary.get("interrupted") else ""))
    if designs:
        console.print(_table(title, [r for r in rows if r["design"] == designs[0]], configured,
                             caption=f"primary analysis: {designs[0]}"))
    console.print(_table("The simulated trials (any analysis)", [r for r in rows if r["design"] is None],
                         configured))
    if len(designs) > 1:
        headings, body = comparison_cells(summary)
        table = Table(title="Analysis variants on the same simulated trials (estimate ± MCSE)")
        table.add_column("design")
        for heading in headings:
            table.add_column(heading, justify="right")
        for d, cells in body:
            table.add_row(d, *cells)
        console.print(table)
    t = summary.get("target")
    if t:
        verdict = "reached" if t["reached"] else "NOT reached (cap hit)"
        console.print(f"target MCSE {t['mcse']:g} of {t['metric']} {verdict}: {t['achieved_mcse']:.4g} after "
                      f"{t['replicates_needed']} replicates (cap {t['cap']})")
    for note in summary.get("notes", []):
        console.print(f"[dim]note:[/dim] {note}")


def print_comparison(result, console: Console | None = None) -> None:
    """Power (or type I error) per design and scenario, then operational figures, then differences."""
    console = console or Console(width=None if sys.stdout.isatty() else 160)
    t = result.table
    if t.empty:
        console.print("no simulation finished")
        return
    scenarios = list(dict.fromkeys(t["scenario"]))
    designs = list(dict.fromkeys(t["design"]))
    for metrics, title in ((("power", "type_I_error"), "Power (type I error under a null scenario) ± MCSE"),
                           (("n_randomized",), "Patients randomized (mean ± MCSE)"),
                           (("n_screened",), "Patients screened (mean ± MCSE)"),
                           (("time_to_primary_analysis_months",), "Months to the primary analysis (mean ± MCSE)")):
        rows = t[t["metric"].isin(metrics)]
        table = Table(title=f"{result.grid.name}: {title}")
        table.add_column("design")
        for sc in scenarios:
            table.add_column(sc, justify="right")
        for d in designs:
            cells = []
            for sc in scenarios:
                r = rows[(rows["design"] == d) & (rows["scenario"] == sc)]
                cells.append("" if r.empty or r.iloc[0]["estimate"] is None else
                             f"{r.iloc[0]['estimate']:.3f} ± {r.iloc[0]['mcse']:.3f}")
            table.add_row(d, *cells)
        console.print(table)
    dif = result.differences
    if not dif.empty:
        rows = dif[dif["metric"].isin(("power", "type_I_error"))]
        table = Table(title=f"Power difference against {dif['reference'].iloc[0]}: paired MCSE (same trials) "
                            f"beside the unpaired one")
        for col in ("scenario", "design", "difference", "MCSE paired", "MCSE unpaired"):
            table.add_column(col, justify="left" if col in ("scenario", "design") else "right")
        for _, r in rows.iterrows():
            table.add_row(r["scenario"], r["design"], f"{r['difference']:+.3f}", f"{r['mcse_paired']:.4f}",
                          f"{r['mcse_unpaired']:.4f}")
        console.print(table)
