"""The run's tables in the terminal, from the run record: estimate, MCSE, Monte Carlo interval, and
what was configured. Labels and formats come from the metric catalogue."""
from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table

from ..summary.catalogue import format_compact, format_row, label

#: The columns of the design comparison table: (metric, heading).
COMPARISON = (("power", "power"), ("type_I_error", "type I error"), ("exact_power_plain_binomial", "exact ref."),
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
            cells.append(format_compact(by.get((d, m))))
        body.append((d, cells))
    return [h for _, h in shown], body


def _table(title, rows, configured, caption=None) -> Table:
    table = Table(title=title, caption=caption)
    for col, just in (("metric", "left"), ("estimate", "right"), ("MCSE", "right"), ("MC 95% interval", "right"),
                      ("configured", "right")):
        table.add_column(col, justify=just)
    for r in rows:
        conf = configured.get(r["metric"])
        est, mcse, interval = format_row(r)
        table.add_row(label(r["metric"]), est, mcse, interval,
                      "" if conf is None or isinstance(conf, bool) else f"{conf:.3f}")
    return table


def overrides_line(summary: dict) -> str | None:
    """The overrides of a run in one line ('--set effects.rechallenge.dcr=0.6, ...'), or None."""
    items = summary.get("overrides") or []
    if not items:
        return None
    return ", ".join(f"{o['path']}={o['value']} ({o['origin']})" for o in items)


def print_summary(summary: dict, console: Console | None = None) -> None:
    """The primary design's operating characteristics, what the trials show, and the other designs."""
    # Off a terminal rich assumes 80 columns, which wraps every label; logs read better wide.
    console = console or Console(width=None if sys.stdout.isatty() else 140)
    configured = summary.get("configured", {})
    rows = summary["metrics"]
    designs = [d["label"] for d in summary.get("designs", [])]
    title = (f"{summary['scenario_name']}: {summary['replicates']} replicates, seed {summary['seed']}, "
             f"{summary['elapsed_s']:.1f} s" + (" (INTERRUPTED)" if summary.get("interrupted") else ""))
    changed = overrides_line(summary)
    if changed:
        console.print(f"[bold]overrides:[/bold] {changed}")
    for warning in summary.get("warnings", []):
        console.print(f"[bold red]warning:[/bold red] {warning}")
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
