"""One patient's path through the trial as a SimPy process: screening, then treatment and scans.

The patient's random draws are columns of a fixed row of uniforms (see streams.py); the
process turns them into events in the order the trial would see them. Nothing here reads
another patient: patients interact only through the shared Trial (enrolment closing,
randomization, and later the interim look).
"""
from __future__ import annotations

import math

from . import imaging
from .record import (
    ASSAY_FAILURE, DIED_WAITING, ENROLMENT_CLOSED, NON_MOLECULAR, RANDOMIZED, RAS_MUTANT,
    END_CLINICAL_PROGRESSION, END_DEATH, END_SCAN_PROGRESSION, END_TOXICITY, END_WITHDRAWAL,
)

INF = math.inf


def screening(env, trial, k: int):
    """ctDNA screening: turnaround, death while waiting, assay failure and retest, RAS call."""
    d, i = trial.draws(k)
    rec = trial.new_record(k, env.now)
    arrival = env.now
    death_wait = d.death_wait[i]
    waited = d.turnaround[i]
    if death_wait < waited:
        yield env.timeout(death_wait)
        return rec.screen_out(DIED_WAITING, env.now, 1)
    yield env.timeout(waited)
    assays, drawn_at = 1, arrival
    if d.assay_fail[i]:
        if not trial.cfg.screening.retest_on_failure:
            return rec.screen_out(ASSAY_FAILURE, env.now, assays)
        drawn_at = env.now
        if death_wait < waited + d.turnaround_retest[i]:
            yield env.timeout(death_wait - waited)
            return rec.screen_out(DIED_WAITING, env.now, 2)
        yield env.timeout(d.turnaround_retest[i])
        assays = 2
        if d.assay_fail_retest[i]:
            return rec.screen_out(ASSAY_FAILURE, env.now, assays)
    months = d.months_since_cetuximab[i] + (drawn_at - arrival) / trial.days_per_month
    rec.truly_mutant = bool(d.u_mutant[i] < trial.p_mutant(months))
    if d.calls_mutant(i, rec.truly_mutant):
        return rec.screen_out(RAS_MUTANT, env.now, assays)
    if d.non_molecular[i]:
        return rec.screen_out(NON_MOLECULAR, env.now, assays)
    if trial.closed:
        return rec.screen_out(ENROLMENT_CLOSED, env.now, assays)
    rec.screen_out(RANDOMIZED, env.now, assays)
    trial.randomize(rec, d.stratum[i])
    yield from treatment(env, trial, rec, d, i)


def treatment(env, trial, rec, d, i: int):
    """Cycles of the backbone with delays, cycle-tied then calendar scans, until follow-up ends.

    The scan after cycle c is at its end (cycles.CycleClock: delays push every later cycle and
    scan). Progression is seen at a scan, or when it becomes clinically obvious, or at death.
    The events are the scans and the end of follow-up.
    """
    cfg = trial.cfg
    lead = cfg.treatment.days_to_first_cycle
    if lead > 0:
        yield env.timeout(lead)
    t0 = env.now
    rec.tx_start = t0
    o = trial.outcome(rec, d, i)
    rec.outcome = o
    clock = trial.cycle_clock(d, i)
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
