"""One randomized patient's treatment as a SimPy process: cycles, scans, progression and death.

The patient's random draws are columns of a fixed row of uniforms (see streams.py); the process
turns them into events in the order the trial would see them. Patients interact only through the
shared Trial: its count of DCR outcomes still awaited decides when follow-up may end.
"""
from __future__ import annotations

import math

from . import imaging
from .record import END_CLINICAL_PROGRESSION, END_DEATH, END_SCAN_PROGRESSION, END_TOXICITY, END_WITHDRAWAL

INF = math.inf


def treatment(env, trial, rec, d, i: int):
    """Cycles of the backbone with delays, cycle-tied then calendar scans, until follow-up ends.

    The scan after cycle c is at its end (cycles.CycleClock: delays push every later cycle and
    scan). Progression is seen at a scan, or when it becomes clinically obvious, or at death.
    The events are the scans and the end of follow-up; the lead time to the first cycle adds none.
    """
    cfg = trial.cfg
    t0 = rec.tx_start
    o = rec.outcome
    clock = rec.clock
    stop_c = min(d.toxicity_cycle[i], d.withdrawal_cycle[i])
    stop_reason = END_WITHDRAWAL if d.withdrawal_cycle[i] <= d.toxicity_cycle[i] else END_TOXICITY
    first_event = min(o.death, o.clinical)  # death or clinically obvious progression

    last = 0.0  # last assessment without progression (baseline = 0)
    for sc in trial.scan_cycles:
        if sc > stop_c:
            break
        t_scan = clock.end(sc)
        if first_event < t_scan:
            return (yield from _end_at(env, trial, rec, o, t0, first_event))
        yield env.timeout(max(0.0, t0 + t_scan - env.now))
        if _scan(trial, rec, o, t_scan, tied=True):
            return
        last = t_scan

    # Treatment stops after cycle stop_c (toxicity or withdrawal) unless it ended first.
    t_stop = clock.end(int(stop_c)) if stop_c < INF else INF
    interval = cfg.imaging.follow_up_interval_days
    off_cycles = stop_c < INF and not (trial.scan_cycles and stop_c >= trial.scan_cycles[-1])
    t_next = imaging.next_calendar_scan(last, t_stop if off_cycles else last, interval)
    while True:
        if t_stop < min(first_event, t_next) and stop_reason == END_WITHDRAWAL:
            yield env.timeout(max(0.0, t0 + t_stop - env.now))
            rec.end(END_WITHDRAWAL, t_stop)
            trial.on_end(rec)
            return
        if first_event < t_next:
            return (yield from _end_at(env, trial, rec, o, t0, first_event))
        yield env.timeout(max(0.0, t0 + t_next - env.now))
        if _scan(trial, rec, o, t_next, tied=False):
            return
        t_next += interval


def _scan(trial, rec, o, t: float, tied: bool) -> bool:
    """Record a scan at relative day t; True when it shows progression (follow-up for PFS ends)."""
    cat = imaging.recist(t, o.progression, o.responder, o.complete)
    rec.add_scan(t, cat, tied)
    if cat == imaging.PD:
        rec.end(END_SCAN_PROGRESSION, t)
    trial.on_scan(rec)
    return cat == imaging.PD


def _end_at(env, trial, rec, o, t0: float, t: float):
    """Death, or progression made clinically obvious, before the next scan."""
    yield env.timeout(max(0.0, t0 + t - env.now))
    rec.end(END_DEATH if o.death <= o.clinical else END_CLINICAL_PROGRESSION, t)
    trial.on_end(rec)
