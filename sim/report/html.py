"""report.html: one self-contained page for the steering committee (images embedded, nothing fetched).

It reads only what a run wrote (summary.json's content, the analyses table, the scenario file as
written) and the figures of plots.py, so the report is decoupled from the simulation.
"""
from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import pandas as pd

from . import plots
from .console import LABELS, comparison_cells

QUESTION = (
    "NCT04509635 randomizes 50 patients with RAS wild-type colorectal cancer liver metastases, whose "
    "tumour is still RAS wild-type by a ctDNA test, to third-line chemotherapy with or without cetuximab "
    "rechallenge. The primary endpoint is the disease control rate (RECIST 1.1) at scans after 4, 8 and 12 "
    "cycles; ORR, PFS and OS are secondary, within a 2-year frame. This report says how likely the design "
    "is to show a benefit under the assumptions below, how long it takes, how many patients must be "
    "screened, and how good its estimates are. Every simulated figure carries its Monte Carlo standard "
    "error (MCSE): the uncertainty from simulating a finite number of trials.")

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #4c72b0;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th{background:#eef2f8}td:first-child,th:first-child{text-align:left}
.headline{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ccd;border-radius:8px;padding:.8em 1.2em;
background:#f7f9fc;min-width:180px}.card .v{font-size:1.8em;font-weight:600}.card .s{color:#555;font-size:.85em}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}pre{background:#f5f5f5;padding:1em;overflow:auto;font-size:.8em}
.note{color:#555;font-size:.9em}
"""


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _fmt(x, digits=3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def metrics_table(rows: list[dict], configured: dict | None = None) -> str:
    configured = configured or {}
    out = ["<table><tr><th>figure</th><th>estimate</th><th>MCSE</th><th>95% interval</th><th>configured</th></tr>"]
    for r in rows:
        conf = configured.get(r["metric"])
        conf = "" if conf is None or isinstance(conf, bool) or r["metric"].endswith("dcr_difference") else _fmt(conf)
        out.append(f"<tr><td>{html.escape(LABELS.get(r['metric'], r['metric']))}</td><td>{_fmt(r['estimate'])}</td>"
                   f"<td>{_fmt(r['mcse'], 4)}</td><td>{_fmt(r['ci_low'])} – {_fmt(r['ci_high'])}</td>"
                   f"<td>{conf}</td></tr>")
    out.append("</table>")
    return "".join(out)


def _sources(source_text: str | None) -> str:
    """The effects section of the scenario file as written: each figure beside its comment (its source)."""
    if not source_text:
        return ""
    rows, section, arm = [], None, None
    for line in source_text.splitlines():
        m = re.match(r"^(\s*)([A-Za-z_]+):\s*([^#]*?)\s*(?:#\s*(.*))?$", line)
        if not m:
            continue
        indent, key, value, comment = len(m.group(1)), m.group(2), m.group(3), m.group(4) or ""
        if indent == 0:
            section = key
        elif section == "effects" and indent == 2:
            arm = key
            if value:
                rows.append((key, "", value, comment))
        elif section == "effects" and indent >= 4 and value:
            rows.append((arm, key, value, comment))
    if not rows:
        return ""
    body = "".join(f"<tr><td>{html.escape(a or '')}</td><td>{html.escape(k)}</td><td>{html.escape(v)}</td>"
                   f"<td style='text-align:left'>{html.escape(c)}</td></tr>" for a, k, v, c in rows)
    return ("<table><tr><th>arm</th><th>figure</th><th>value</th><th>source (from the scenario file)</th></tr>"
            f"{body}</table>")


def _variants_table(summary: dict) -> str:
    if len(summary.get("designs", [])) < 2:
        return ""
    headings, body = comparison_cells(summary)
    head = "<tr><th>design</th>" + "".join(f"<th>{html.escape(h)}</th>" for h in headings) + "</tr>"
    rows = "".join(f"<tr><td>{html.escape(d)}</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
                   for d, cells in body)
    return f"<table>{head}{rows}</table>"


def _headline(summary: dict) -> str:
    primary = summary["designs"][0]["label"] if summary.get("designs") else None
    by = {r["metric"]: r for r in summary["metrics"] if r["design"] == primary}
    cards = []
    for metric, title in (("power", "Power of the DCR comparison"), ("type_I_error", "Type I error of the DCR comparison"),
                          ("exact_power", "Exact power, plain binomial"),
                          ("time_to_primary_analysis_months", "Months to the primary analysis"),
                          ("n_screened", "Patients screened")):
        r = by.get(metric)
        if r is None or r["estimate"] is None:
            continue
        digits = 1 if metric in ("n_screened", "time_to_primary_analysis_months") else 3
        detail = ("no Monte Carlo error: enumerated" if metric == "exact_power" else
                  f"MCSE {_fmt(r['mcse'], 4)}; 95% interval {_fmt(r['ci_low'], digits)} – {_fmt(r['ci_high'], digits)}")
        cards.append(f'<div class="card" id="headline-{metric}"><div>{title}</div>'
                     f'<div class="v">{_fmt(r["estimate"], digits)}</div><div class="s">{detail}</div></div>')
    return f'<div class="headline">{"".join(cards)}</div><p class="note">Primary design: {html.escape(primary or "")}</p>'


def page(title: str, sections: list[tuple[str, str]]) -> str:
    body = "".join(f"<h2>{html.escape(h)}</h2>{content}" for h, content in sections if content)
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>")


def run_report(out: Path, summary: dict, analyses: pd.DataFrame, table=None, source_text: str | None = None,
               resolved_yaml: str = "", continuous: bool = False) -> Path:
    """Write out/report.html (and the figures under out/figures as PNG and SVG)."""
    figs = out / "figures"
    images = []
    if summary["metrics"]:
        plots.screening_funnel(summary, figs / "screening_funnel")
        images.append((figs / "screening_funnel.png", "Screening funnel"))
    if len(analyses):
        plots.durations(analyses[analyses["design"] == 0], figs / "durations")
        images.append((figs / "durations.png", "Accrual and time to analysis"))
    if table is not None and len(table.patients["arm"]):
        plots.km_typical(table, continuous, figs / "km_typical_trial")
        images.append((figs / "km_typical_trial.png", "Kaplan-Meier curves of one simulated trial"))
    primary = summary["designs"][0]["label"] if summary.get("designs") else None
    oc_rows = [r for r in summary["metrics"] if r["design"] == primary]
    if oc_rows:
        plots.oc_table(oc_rows, LABELS, f"Operating characteristics: {primary}", figs / "oc_table")
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in summary.get("notes", []))
    versions = ", ".join(f"{k} {v}" for k, v in summary.get("versions", {}).items())
    sc = summary.get("scenario", {})
    provenance = (f"<p>Scenario <b>{html.escape(summary['scenario_name'])}</b>; seed {summary['seed']}; "
                  f"{summary['replicates']} replicates ({summary['replicates_requested']} requested"
                  f"{', INTERRUPTED' if summary.get('interrupted') else ''}); {summary.get('workers')} worker(s); "
                  f"{summary['elapsed_s']:.1f} s.</p><p class='note'>{html.escape(versions)}</p>"
                  f"<details><summary>Resolved scenario (every default filled in)</summary><pre>"
                  f"{html.escape(resolved_yaml)}</pre></details>")
    sections = [
        ("The question", f"<p>{html.escape(QUESTION)}</p><p><i>{html.escape(sc.get('description', ''))}</i></p>"),
        ("Headline", _headline(summary)),
        ("Assumptions and their sources", _sources(source_text) + (
            f"<details><summary>The scenario file as written</summary><pre>{html.escape(source_text)}</pre></details>"
            if source_text else "")),
        ("Operating characteristics of the primary design",
         metrics_table([r for r in summary["metrics"] if r["design"] == primary], summary.get("configured"))),
        ("Analysis designs compared on the same simulated trials", _variants_table(summary)),
        ("Figures", "".join(_img(p, alt) for p, alt in images)),
        ("What the simulated trials show, against the configured figures",
         metrics_table([r for r in summary["metrics"] if r["design"] is None], summary.get("configured"))),
        ("Notes", f"<ul>{notes}</ul>" if notes else ""),
        ("Provenance", provenance),
    ]
    path = out / "report.html"
    path.write_text(page(f"rechallenge-sim: {summary['scenario_name']}", sections), encoding="utf-8")
    return path


def compare_report(result) -> Path:
    """report.html of a comparison: power per design and scenario, differences, power curve."""
    out, t, dif = result.out, result.table, result.differences
    sections = [("The question", f"<p>{html.escape(QUESTION)}</p><p><i>{html.escape(result.grid.description)}</i></p>")]
    if not t.empty:
        for metrics, title in ((("power", "type_I_error"), "Power (type I error under a null scenario) ± MCSE"),
                               (("exact_power",), "Exact power (plain binomial)"),
                               (("n_screened",), "Patients screened (mean ± MCSE)"),
                               (("n_randomized",), "Patients randomized (mean ± MCSE)"),
                               (("time_to_primary_analysis_months",), "Months to the primary analysis (mean ± MCSE)")):
            rows = t[t["metric"].isin(metrics)]
            if rows.empty:
                continue
            pivot = rows.pivot_table(index="design", columns="scenario", values="estimate", aggfunc="first", sort=False)
            se = rows.pivot_table(index="design", columns="scenario", values="mcse", aggfunc="first", sort=False)
            cells = pivot.map(lambda v: f"{v:.3f}") + se.map(lambda v: f" ± {v:.3f}" if v else "")
            sections.append((title, cells.to_html(escape=True, na_rep="")))
        sweep = plots.power_curve_data(t)
        if len(sweep):
            axis = next(iter(result.grid.sweep), "effect size")
            plots.power_curve(sweep, axis, out / "figures" / "power_curve")
            sections.append(("Power against effect size", _img(out / "figures" / "power_curve.png", "Power curve")))
    if not dif.empty:
        d = dif.copy()
        sections.append((f"Differences against {d['reference'].iloc[0]}: paired MCSE (same trials) beside unpaired",
                         d[["scenario", "design", "metric", "difference", "mcse_paired", "mcse_unpaired"]]
                         .to_html(index=False, float_format=lambda v: f"{v:.4f}")))
    sections.append(("Provenance", f"<p>grid {html.escape(result.grid.name)}; {len(result.cells)} simulations; "
                                   f"seed {result.cells[0].scenario.monte_carlo.seed if result.cells else ''}</p>"))
    path = out / "report.html"
    path.write_text(page(f"rechallenge-sim compare: {result.grid.name}", sections), encoding="utf-8")
    return path
