"""report.html: one self-contained page for the steering committee (images embedded, nothing fetched).

It reads only what a run wrote (summary.json's content, the analyses table, the scenario file as
written) and the figures of plots.py, so the report is decoupled from the simulation.
"""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import pandas as pd

from ..engine.store import write_text
from . import plots
from ..summary.catalogue import format_row, label
from .console import comparison_cells

def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def question(summary: dict) -> str:
    """The question of the run, in words, from its resolved scenario and its primary design."""
    sc, conf = summary["scenario"], summary.get("configured", {})
    a, b = sc["randomization"]["ratio"]
    n = sc["accrual"]["target_randomized"]
    primary = summary["designs"][0]["label"] if summary.get("designs") else "the primary design"
    cycles = _join([str(c) for c in sc["imaging"]["scan_after_cycles"]])
    an = sc["analysis"]
    cut = (f"{an['follow_up_cutoff_months']:g} months after the last randomization"
           if an["follow_up_cutoff_from"] == "last_randomized" else f"{an['follow_up_cutoff_months']:g} months "
           f"after the study starts")
    effect = ""
    if "dcr_control" in conf:
        effect = (f" The scenario assumes a disease control rate of {conf['dcr_control']:.0%} on control and "
                  f"{conf['dcr_rechallenge']:.0%} on rechallenge at day {sc['effects']['reference_assessment_day']:g} "
                  f"among truly RAS wild-type patients.")
    return (f"The trial randomizes {n} patients {a}:{b} (rechallenge : control) whose ctDNA shows RAS wild-type "
            f"tumours to third-line chemotherapy with cetuximab rechallenge or chemotherapy alone, with scans "
            f"after cycles {cycles}. The primary analysis is {primary}; ORR, PFS and OS are secondary, PFS and OS "
            f"cut {cut}.{effect} This report says how likely the design is to show a benefit under these "
            f"assumptions, how long it takes, how many patients must be screened, and how good its estimates are. "
            f"Every simulated figure carries its Monte Carlo standard error (MCSE): the uncertainty from "
            f"simulating a finite number of trials ({summary['replicates']} here).")


def title(summary: dict) -> str:
    changed = summary.get("overrides") or []
    head = f"rechallenge-sim: {summary['scenario_name']}"
    return head + (" with " + ", ".join(f"{o['path']}={o['value']}" for o in changed) if changed else "")


CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #4c72b0;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th{background:#eef2f8}td:first-child,th:first-child{text-align:left}
.headline{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ccd;border-radius:8px;padding:.8em 1.2em;
background:#f7f9fc;min-width:180px}.card .v{font-size:1.8em;font-weight:600}.card .s{color:#555;font-size:.85em}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}pre{background:#f5f5f5;padding:1em;overflow:auto;font-size:.8em}
.note{color:#555;font-size:.9em}.warn{color:#8a1c1c;font-weight:600}tr.overridden td{background:#fff3cd}
#overrides{border-left:4px solid #e0a800;padding:.3em 1em;background:#fffbea}
"""


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def metrics_table(rows: list[dict], configured: dict | None = None) -> str:
    configured = configured or {}
    out = ["<table><tr><th>figure</th><th>estimate</th><th>MCSE</th><th>MC 95% interval</th><th>configured</th></tr>"]
    for r in rows:
        conf = configured.get(r["metric"])
        conf = "" if conf is None or isinstance(conf, bool) else f"{conf:.3f}"
        est, mcse, interval = format_row(r)
        note = f' title="{html.escape(r["note"])}"' if r.get("note") else ""
        out.append(f"<tr data-metric='{html.escape(r['metric'])}'><td>{html.escape(label(r['metric']))}</td>"
                   f"<td>{est}</td><td{note}>{html.escape(mcse)}</td><td>{interval}</td><td>{conf}</td></tr>")
    out.append("</table>")
    return "".join(out)


def assumptions_table(summary: dict) -> str:
    """Every resolved field that differs from the schema default, and every effect, with its source."""
    rows = summary.get("assumptions") or []
    if not rows:
        return ""
    body = "".join(
        f"<tr{' class=overridden' if a['overridden'] else ''} data-path='{html.escape(a['path'])}'>"
        f"<td>{html.escape(a['path'])}</td><td>{html.escape(_value(a['value']))}</td>"
        f"<td>{'' if a['default'] is None else html.escape(_value(a['default']))}</td>"
        f"<td style='text-align:left'>{html.escape(a['source'])}</td></tr>" for a in rows)
    return ("<table id='assumptions'><tr><th>field</th><th>value</th><th>schema default</th>"
            f"<th>source (the scenario file's comment, or the override)</th></tr>{body}</table>")


def _value(v) -> str:
    if isinstance(v, list) and v and isinstance(v[0], dict):
        return "; ".join(", ".join(f"{k} {x}" for k, x in item.items()) for item in v)
    if isinstance(v, dict):
        return ", ".join(f"{k} {x}" for k, x in v.items())
    return str(v)


def overrides_block(summary: dict) -> str:
    changed = summary.get("overrides") or []
    if not changed:
        return ""
    items = "".join(f"<li><code>{html.escape(o['path'])}={html.escape(str(o['value']))}</code> "
                    f"({html.escape(o['origin'])})</li>" for o in changed)
    return f"<div id='overrides'><b>This run changes the scenario file:</b><ul>{items}</ul></div>"


def warnings_block(summary: dict) -> str:
    items = "".join(f"<li>{html.escape(w)}</li>" for w in summary.get("warnings", []))
    return f"<div id='warnings' class='warn'><ul>{items}</ul></div>" if items else ""


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
    for metric in ("power", "type_I_error", "exact_power_plain_binomial", "time_to_primary_analysis_months",
                   "n_screened"):
        r = by.get(metric)
        if r is None or r["estimate"] is None:
            continue
        est, mcse, interval = format_row(r)
        detail = (r.get("note") or "no Monte Carlo error" if mcse == "exact" else
                  f"MCSE {mcse}; Monte Carlo 95% interval {interval}")
        cards.append(f'<div class="card" id="headline-{metric}"><div>{html.escape(label(metric))}</div>'
                     f'<div class="v">{est}</div><div class="s">{html.escape(detail)}</div></div>')
    return f'<div class="headline">{"".join(cards)}</div><p class="note">Primary design: {html.escape(primary or "")}</p>'


def page(title: str, sections: list[tuple[str, str]]) -> str:
    body = "".join(f"<h2>{html.escape(h)}</h2>{content}" for h, content in sections if content)
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>")


def run_report(out: Path, summary: dict, analyses: pd.DataFrame | None = None) -> Path:
    """Write out/report.html (and the figures under out/figures as PNG and SVG) from the run record
    (summary.json) and the per-trial durations of the primary design (the run's analyses table)."""
    figs = out / "figures"
    images = []
    if summary["metrics"]:
        plots.screening_funnel(summary, figs / "screening_funnel")
        images.append((figs / "screening_funnel.png", "Screening funnel"))
    if analyses is None and summary.get("replicates") and (out / "analyses.parquet").exists():
        # The primary design's two duration columns only: the whole table of a large run is not needed.
        analyses = pd.read_parquet(out / "analyses.parquet", columns=["design", "accrual_months", "duration_months"],
                                   filters=[("design", "==", 0)])
    if analyses is not None and len(analyses):
        plots.durations(analyses[analyses["design"] == 0], figs / "durations")
        images.append((figs / "durations.png", "Accrual and time to analysis"))
    if summary.get("typical_trial"):
        plots.km_typical(summary["typical_trial"], figs / "km_typical_trial")
        images.append((figs / "km_typical_trial.png", "Kaplan-Meier curves of one simulated trial"))
    primary = summary["designs"][0]["label"] if summary.get("designs") else None
    oc_rows = [r for r in summary["metrics"] if r["design"] == primary]
    if oc_rows:
        plots.oc_table(oc_rows, f"Operating characteristics: {primary}", figs / "oc_table")
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in summary.get("notes", []))
    versions = ", ".join(f"{k} {v}" for k, v in summary.get("versions", {}).items())
    sc = summary.get("scenario", {})
    source = f" from {html.escape(summary['source_file'])}" if summary.get("source_file") else ""
    provenance = (f"<p>Scenario <b>{html.escape(summary['scenario_name'])}</b>{source}; seed {summary['seed']}; "
                  f"{summary['replicates']} replicates ({summary['replicates_requested']} requested"
                  f"{', INTERRUPTED' if summary.get('interrupted') else ''}); {summary.get('workers')} worker(s); "
                  f"{summary['elapsed_s']:.1f} s.</p><p class='note'>{html.escape(versions)}</p>"
                  f"<details><summary>Resolved scenario (every default filled in), as JSON</summary><pre>"
                  f"{html.escape(json.dumps(sc, indent=1))}</pre></details>")
    sections = [
        ("The question", overrides_block(summary) + warnings_block(summary) + f"<p id='question'>"
         f"{html.escape(question(summary))}</p><p><i>{html.escape(sc.get('description', ''))}</i></p>"),
        ("Headline", _headline(summary)),
        ("Assumptions and their sources", assumptions_table(summary)),
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
    write_text(path, page(title(summary), sections))
    return path


def compare_report(result) -> Path:
    """report.html of a comparison: power per design and scenario, differences, power curve."""
    out, t, dif = result.out, result.table, result.differences
    first = result.runs[0].summary if result.runs else None
    sections = [("The question", (f"<p>{html.escape(question(first))}</p>" if first and first.get("designs") else "")
                 + f"<p><i>{html.escape(result.grid.description)}</i></p>")]
    if not t.empty:
        for metrics, title in ((("power", "type_I_error"), "Power (type I error under a null scenario) ± MCSE"),
                               (("exact_power_plain_binomial",), label("exact_power_plain_binomial")),
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
    write_text(path, page(f"rechallenge-sim compare: {result.grid.name}", sections))
    return path
