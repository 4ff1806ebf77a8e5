"""One randomized patient's treatment on the SimPy queue: cycles, scans, progression and death.

The patient's random draws are columns of a fixed row of uniforms (see streams.py); ``course``
turns them into events in the order the trial would see them, and ``Follow`` puts each on the
SimPy queue while the trial waits for the patient. Patients interact only through the shared
Trial: its count of DCR outcomes still awaited decides when follow-up may end.
"""
from __future__ import annotations

import math

from . import imaging
from ..table import END_CLINICAL_PROGRESSION, END_DEATH, END_SCAN_PROGRESSION, END_TOXICITY, END_WITHDRAWAL

INF = math.inf


class Follow:
    """A randomized patient on the SimPy queue: one timeout per event of ``steps`` (``course``) while the
    patient's DCR outcome is awaited, which the trial's end depends on. Once it is known, the later
    events concern this patient alone: ``rec.rest`` keeps them, and ``catch_up`` records those that
    happen by the end of the simulation (the same events, in the same order).

    Timeouts with a callback, not a SimPy process: the same events on the same queue, without the
    process machinery (an initialization event and a generator resumption per event)."""

    __slots__ = ("env", "rec", "steps")

    def __init__(self, env, rec, steps):
        self.env, self.rec, self.steps = env, rec, steps
        t = next(steps, None)  # the day of the first event
        if t is not None:
            self._wait(t)

    def _wait(self, t: float) -> None:
        event = self.env.timeout(max(0.0, self.rec.tx_start + t - self.env.now))
        event.callbacks.append(self._happen)

    def _happen(self, _event) -> None:
        t = next(self.steps, None)  # the event happens; t becomes the day of the next one
        if t is None:
            return
        if self.rec.known:
            self.rec.rest = (self.steps, t)
        else:
            self._wait(t)


def catch_up(rec, end_day: float) -> None:
    """Record the patient's events after their DCR outcome was known, up to the end of the simulation."""
    if rec.rest is None:
        return
    steps, t = rec.rest
    while t is not None and rec.tx_start + t <= end_day:
        t = next(steps, None)
    rec.rest = None


def course(trial, rec, d, i):
    """Cycles of the backbone with delays, cycle-tied then calendar scans, until follow-up ends: a
    generator yielding the day (since first treatment) of each next event, which happens when the
    generator is resumed.

    The scan after cycle c is at its end (cycles.CycleClock: delays push every later cycle and
    scan). Progression is seen at a scan, or when it becomes clinically obvious, or at death.
    The events are the scans and the end of follow-up; the lead time to the first cycle adds none.
    """
    cfg = trial.cfg
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
            return (yield from _end_at(trial, rec, o, first_event))
        yield t_scan
        if _scan(trial, rec, o, t_scan, tied=True):
            return
        last = t_scan

    # Treatment stops after cycle stop_c (toxicity or withdrawal) unless it ended first. Its day is
    # computed only once it is near: stop_c may be far beyond follow-up (1e9 at a probability of 1e-9).
    interval = cfg.imaging.follow_up_interval_days
    off_cycles = stop_c < INF and not (trial.scan_cycles and stop_c >= trial.scan_cycles[-1])
    t_next = imaging.next_calendar_scan(last, clock.end(int(stop_c)) if off_cycles else last, interval)
    withdraws = stop_c < INF and stop_reason == END_WITHDRAWAL
    while True:
        if withdraws and clock.ends_before(int(stop_c), min(first_event, t_next)):
            t_stop = clock.end(int(stop_c))
            yield t_stop
            rec.end(END_WITHDRAWAL, t_stop)
            trial.on_end(rec)
            return
        if first_event < t_next:
            return (yield from _end_at(trial, rec, o, first_event))
        yield t_next
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


def _end_at(trial, rec, o, t: float):
    """Death, or progression made clinically obvious, before the next scan."""
    yield t
    rec.end(END_DEATH if o.death <= o.clinical else END_CLINICAL_PROGRESSION, t)
    trial.on_end(rec)
