"""One simulated trial: the SimPy environment, accrual, and the shared state patients touch.

``TrialModel`` holds what is fixed for a scenario (outcome laws, rates, schedules) and is
built once; ``simulate(model, seed, replicate)`` runs replicate ``replicate`` and returns its
``TrialTable``. The result depends only on (scenario, seed, replicate).
"""
from __future__ import annotations

import gc
import itertools
import math
from bisect import bisect_left, bisect_right

import numpy as np
import simpy

from ..outcomes.laws import arm_laws
from ..scenario.schema import Scenario
from ..table import (
    END_CLINICAL_PROGRESSION, END_DEATH, END_SCAN_PROGRESSION, END_TOXICITY, END_WITHDRAWAL, ENROLMENT_CLOSED,
    ONGOING, RANDOMIZED, TrialTable,
)
from ..units import DAYS_PER_MONTH
from . import durations, streams
from .accrual import ArrivalClock
from .cycles import CycleClock, block_starts
from .patient import Follow, catch_up, course
from .randomization import BlockRandomizer
from .record import Outcome, PatientRecord, ScanLog, build_table, single
from .screening import PASSED, ScreeningPaths, screen

INF = math.inf
ARRIVAL_BATCH = 16  # arrivals per wake of accrue(); divides streams.BLOCK


def _geometric_cycle(u: np.ndarray, p: float) -> np.ndarray:
    """Cycle after which an event with per-cycle probability p happens (inf if p = 0)."""
    if p <= 0:
        return np.full(u.shape, INF)
    if p >= 1:
        return np.ones(u.shape)
    return np.ceil(np.log(u) / math.log1p(-p))


class TrialModel:
    """Scenario-level constants, computed once and shared by every replicate."""

    def __init__(self, scenario: Scenario):
        self.cfg = scenario
        eff = scenario.effects
        self.t_ref = eff.reference_assessment_day
        self.laws, self.mutant_law = arm_laws(scenario)
        self.clock = ArrivalClock(scenario.accrual)
        self.poisson_arrivals = scenario.accrual.arrivals == "poisson"
        shares = np.array([b.share for b in scenario.treatment.backbones])
        self.backbone_cum = np.cumsum(shares) / shares.sum()
        self.cycle_days = [float(b.cycle_days) for b in scenario.treatment.backbones]
        self.strata_cum = [np.cumsum(list(s.levels.values())) / sum(s.levels.values())
                           for s in scenario.randomization.strata]
        self.strata_sizes = [len(s.levels) for s in scenario.randomization.strata]
        self.scan_cycles = list(scenario.imaging.scan_after_cycles)
        a = scenario.analysis
        ctx = scenario.design_context()
        keys = [k for d in scenario.designs() for k in d.needs(ctx)[0]]
        cutoff = a.follow_up_cutoff_months * DAYS_PER_MONTH
        self.cutoff_from_start = a.follow_up_cutoff_from == "study_start"
        self.cutoff = cutoff
        fixed = [k.months * DAYS_PER_MONTH for k in keys if k.months]
        # The simulation runs to the PFS/OS cut-off and to every fixed-time DCR analysis, and on until
        # each randomized patient's DCR outcome is known for the designs that wait for it.
        self.run_after_last_rand = max([0.0 if self.cutoff_from_start else cutoff] + fixed)
        self.awaited_scans = max([k.scans for k in keys if k.months is None] + [1])
        self.max_accrual_days = scenario.accrual.max_months * DAYS_PER_MONTH
        d = scenario.treatment.delay
        self.delay_p = d.prob_per_cycle
        self.delay_days = d.days

    def delays(self, u: np.ndarray) -> np.ndarray:
        """Toxicity delay before each cycle from its uniform: with probability p, a draw of the delay
        distribution at u / p (so the draw is monotone in u, for common random numbers)."""
        out = np.zeros(u.shape)
        if self.delay_p > 0:
            hit = u < self.delay_p
            out[hit] = durations.quantile(self.delay_days, u[hit] / self.delay_p)
        return out


class BlockDraws:
    """Per-patient draws of one block of patients, vectorized from their uniforms, and the paths
    that need no other patient: screening (screening.py) and the starts of treatment cycles.

    ``many`` computes several blocks (of one trial or of many: simulate_many draws every trial's
    first blocks at once) in one pass of numpy calls and splits them; a block's values depend
    only on its own uniforms and arrival days, so they are the same however blocks are grouped."""

    @classmethod
    def many(cls, m: TrialModel, U: np.ndarray, arrival: np.ndarray) -> list[BlockDraws]:
        """Blocks of ``streams.BLOCK`` rows each: U (rows, WIDTH) and arrival days (rows,)."""
        s = m.cfg.screening
        S = streams
        n = len(U)
        c = _Columns()
        c.turnaround = durations.quantile(s.turnaround_days, U[:, S.TURNAROUND])
        c.turnaround_retest = (durations.quantile(s.turnaround_days, U[:, S.TURNAROUND_RETEST])
                               if s.retest_on_failure else None)
        h = s.death_while_waiting_per_month / DAYS_PER_MONTH
        c.death_wait = -np.log(U[:, S.DEATH_WAITING]) / h if h > 0 else np.full(n, INF)
        c.assay_fail = U[:, S.ASSAY_FAIL] < s.assay_failure_prob
        c.assay_fail_retest = U[:, S.ASSAY_FAIL_RETEST] < s.assay_failure_prob
        c.months_since_cetuximab = durations.quantile(s.ras_mutant.months_since_cetuximab,
                                                      U[:, S.MONTHS_SINCE_CETUXIMAB])
        c.u_mutant = U[:, S.TRULY_MUTANT]
        c.u_call = U[:, S.ASSAY_CALL]
        c.non_molecular = U[:, S.NON_MOLECULAR] < s.non_molecular_failure_prob
        paths = screen(s, arrival, c)
        stratum = np.zeros(n, dtype=np.int64)
        for j, cum in enumerate(m.strata_cum):
            level = np.minimum(np.searchsorted(cum, U[:, S.STRATA + j], side="right"), len(cum) - 1)
            stratum = stratum * m.strata_sizes[j] + level
        backbone = np.minimum(np.searchsorted(m.backbone_cum, U[:, S.BACKBONE], side="right"),
                              len(m.backbone_cum) - 1)
        t = m.cfg.treatment
        length = np.asarray(m.cycle_days)[backbone]
        # Cycle starts only for the patients who pass screening.
        passing = np.flatnonzero(paths.outcome == PASSED)
        delays = m.delays(U[passing, S.CYCLE_DELAYS:])
        starts = block_starts(length[passing], delays)
        toxicity = _geometric_cycle(U[:, S.TOXICITY_STOP], t.discontinuation_toxicity_prob_per_cycle)
        withdrawal = _geometric_cycle(U[:, S.WITHDRAWAL], t.withdrawal_prob_per_cycle)
        clinical = U[:, S.CLINICAL] < m.cfg.imaging.clinical_detection_prob
        u_outcome = U[:, [S.PFS, S.PFS_EVENT_TYPE, S.PPS, S.RESPONDER, S.COMPLETE_RESPONSE]]
        blocks = []
        B = S.BLOCK
        cuts = np.searchsorted(passing, np.arange(0, n + 1, B))
        for k in range(n // B):
            rows = slice(k * B, (k + 1) * B)
            d = cls.__new__(cls)
            d.screening = ScreeningPaths(paths.outcome[rows], paths.end_day[rows], paths.n_assays[rows],
                                         paths.truly_mutant[rows])
            # Patients read their draws one at a time: Python lists index far faster than arrays.
            d.passing = (passing[cuts[k]: cuts[k + 1]] - k * B).tolist()
            d.cycle_row = dict(zip(d.passing, range(len(d.passing))))
            d.cycle_delays = delays[cuts[k]: cuts[k + 1]]
            d.cycle_starts = starts[cuts[k]: cuts[k + 1]]
            d.screen_end = paths.end_day[rows].tolist()
            d.truly_mutant = paths.truly_mutant[rows].tolist()
            d.stratum, d.backbone = stratum[rows].tolist(), backbone[rows].tolist()
            d.cycle_length = length[rows].tolist()
            d.toxicity_cycle, d.withdrawal_cycle = toxicity[rows].tolist(), withdrawal[rows].tolist()
            d.clinical = clinical[rows].tolist()
            d.u_outcome = u_outcome[rows].tolist()
            blocks.append(d)
        return blocks


class _Columns:
    """Screening draws of many patients, as screening.screen reads them."""


def arrivals(m: TrialModel, U: np.ndarray, offset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Arrival days of blocks of patients: U (trials, BLOCK, WIDTH), ``offset`` (trials,) the cumulative
    intensity before each block. Returns (days (trials, BLOCK), cumulative intensity after each block)."""
    gap = -np.log(U[:, :, streams.ARRIVAL]) if m.poisson_arrivals else np.ones(U.shape[:2])
    cum = offset[:, None] + np.cumsum(gap, axis=1)
    return m.clock.days(cum), cum[:, -1]


class Trial:
    """Shared state of one replicate: patients screened so far, randomizer, enrolment status."""

    def __init__(self, model: TrialModel, seed: int, replicate: int, env: simpy.Environment):
        self.m = model
        self.cfg = model.cfg
        self.env = env
        self.uniforms = streams.PatientUniforms(seed, replicate)
        self.blocks: list[BlockDraws] = []
        self.arrival_days: list[float] = []
        self.cum_intensity = 0.0  # cumulative arrival intensity at the last drawn patient
        self.randomizer = BlockRandomizer(seed, replicate, self.cfg.randomization.ratio,
                                          self.cfg.randomization.block_size)
        self.records: list[PatientRecord] = []   # randomized patients, in order of randomization
        self.decisions: dict[int, int] = {}       # patient -> RANDOMIZED or ENROLMENT_CLOSED
        self.scan_log = ScanLog()
        self.n_screened = 0
        self.closed_day = math.nan
        self.seen_until = 0           # accrue() has scheduled the decisions of patients before this one
        self.n_randomized = 0
        self.awaited_scans = model.awaited_scans
        self.awaiting = 0             # randomized patients whose DCR outcome (awaited_scans scans) is not known
        self._all_known = None        # event, created when the cut-off comes before the last of them
        self.cutoff_day = math.nan
        self.closed = False
        self.accrual_complete = False
        self.last_randomized_day = math.nan
        self.finished = env.event()
        self.end_day = math.nan       # when the simulation ended (set by run_trial)
        self.scan_cycles = model.scan_cycles
        self.lead = self.cfg.treatment.days_to_first_cycle

    # -- per-patient draws -------------------------------------------------------------
    def draws(self, k: int) -> tuple[BlockDraws, int]:
        b, i = divmod(k, streams.BLOCK)
        while len(self.blocks) <= b:
            U = self.uniforms.block(len(self.blocks))
            days, cum = arrivals(self.m, U[None], np.array([self.cum_intensity]))
            self.add_block(BlockDraws.many(self.m, U, days[0])[0], days[0], float(cum[0]))
        return self.blocks[b], i

    def add_block(self, block: BlockDraws, days: np.ndarray, cum_intensity: float) -> None:
        self.blocks.append(block)
        self.arrival_days.extend(days.tolist())
        self.cum_intensity = cum_intensity

    def outcome(self, arm: int, truly_mutant: bool, d: BlockDraws, i: int) -> Outcome:
        law = self.m.mutant_law if truly_mutant else self.m.laws[arm]
        u_pfs, u_type, u_pps, u_resp, u_cr = d.u_outcome[i]
        pfs = law.scale_days * (-math.log(u_pfs)) ** (1.0 / law.shape)
        if u_type < law.p_death_first:
            progression, death = INF, pfs
        else:
            pps = -math.log(u_pps) / law.pps_rate_per_day if law.pps_rate_per_day > 0 else 0.0
            progression, death = pfs, pfs + pps
        clinical = progression + self.cfg.imaging.clinical_detection_lag_days if d.clinical[i] else INF
        return Outcome(pfs, progression, death, u_resp < law.p_responder, u_cr < law.p_cr, clinical)

    def cycle_clock(self, d: BlockDraws, i: int) -> CycleClock:
        """The patient's cycles: the backbone's length and the patient's own delays."""
        j = d.cycle_row[i]
        return CycleClock(d.cycle_length[i], d.cycle_starts[j], d.cycle_delays[j])

    # -- events shared between patients ------------------------------------------------
    def accrue(self):
        """Screening arrivals until the target is randomized or accrual gives up.

        Screen failures interact with nobody (screening.py), so the process wakes at the first of
        every ``ARRIVAL_BATCH`` arrivals and schedules the decision of each of them who passes
        screening, as an event at the end of that patient's screening. Patients who arrive by the
        moment enrolment closes are screened; decisions of later arrivals are void."""
        env, max_days = self.env, self.m.max_accrual_days
        for k in itertools.count(0, ARRIVAL_BATCH):
            d, i = self.draws(k)
            t = self.arrival_days[k]
            if t > max_days:
                yield env.timeout(max(0.0, max_days - env.now))
                if not self.closed:
                    self._close()
                return
            yield env.timeout(t - env.now)
            if self.closed:
                return
            for j in d.passing[bisect_left(d.passing, i): bisect_left(d.passing, i + ARRIVAL_BATCH)]:
                if self.arrival_days[k - i + j] > max_days:
                    break
                # now + (t - now) may exceed t by a rounding: a screening of 0 days ends "before" now.
                decision = env.timeout(max(0.0, d.screen_end[j] - env.now))
                decision.callbacks.append(lambda _event, k=k - i + j: self._decide(k))
            self.seen_until = k + ARRIVAL_BATCH

    def _decide(self, k: int) -> None:
        """Screening passed: randomize unless enrolment closed meanwhile, and start treatment."""
        if self.closed:
            if self.arrival_days[k] <= self.closed_day:
                self.decisions[k] = ENROLMENT_CLOSED
            return
        self.decisions[k] = RANDOMIZED
        d, i = self.draws(k)
        rec = PatientRecord(k, self.scan_log)
        rec.stratum = d.stratum[i]
        rec.arm = self.randomizer.next_arm(rec.stratum)
        rec.rand_day = self.last_randomized_day = self.env.now
        rec.backbone = d.backbone[i]
        rec.tx_start = rec.rand_day + self.lead
        rec.outcome = self.outcome(rec.arm, d.truly_mutant[i], d, i)
        rec.clock = self.cycle_clock(d, i)
        self.records.append(rec)
        self.n_randomized += 1
        self.awaiting += 1
        Follow(self.env, rec, course(self, rec, d, i))
        if self.n_randomized >= self.cfg.accrual.target_randomized:
            self.accrual_complete = True
            self._close()

    def on_scan(self, rec: PatientRecord) -> None:
        """Every scan passes here, after a progression it shows has ended follow-up."""
        if rec.n_scans == self.awaited_scans or (rec.n_scans < self.awaited_scans and rec.end_reason != ONGOING):
            self.outcome_known(rec)

    def on_end(self, rec: PatientRecord) -> None:
        """Follow-up for PFS ended off a scan (death, clinical progression, withdrawal)."""
        if rec.n_scans < self.awaited_scans:
            self.outcome_known(rec)

    def outcome_known(self, rec: PatientRecord) -> None:
        """A randomized patient had the scans the DCR definitions need, or follow-up ended before them."""
        rec.known = True
        self.awaiting -= 1
        if self.awaiting == 0 and self._all_known is not None:
            self._all_known.succeed()

    def _close(self) -> None:
        """Accrual ends (target reached or given up): follow-up runs on to the cut-off. Patients who
        arrived before (at the latest on the last day of accrual) were screened."""
        self.closed = True
        self.closed_day = self.env.now
        while self.arrival_days[-1] <= self.closed_day:  # draw until some arrival is later than closing
            self.draws(len(self.arrival_days))
        # Screened: arrivals before closing, and those at the very moment that accrue() saw first.
        self.n_screened = max(bisect_left(self.arrival_days, self.closed_day),
                              min(bisect_right(self.arrival_days, self.closed_day), self.seen_until))
        self.env.process(self._follow_up_then_finish())

    def _follow_up_then_finish(self):
        """Follow up to the PFS/OS cut-off and every fixed-time analysis, and on until every DCR outcome
        is in (analyses cut PFS and OS at cutoff_day, DCR at their own analysis day)."""
        env = self.env
        last = env.now if math.isnan(self.last_randomized_day) else self.last_randomized_day
        m = self.m
        self.cutoff_day = m.cutoff if m.cutoff_from_start else last + m.cutoff
        yield env.timeout(max(0.0, self.cutoff_day - env.now, last + m.run_after_last_rand - env.now))
        if self.awaiting > 0:
            self._all_known = env.event()
            yield self._all_known
        self.finished.succeed()

    # -- the patient table -------------------------------------------------------------
    def screened_columns(self) -> dict[str, np.ndarray]:
        """Screening columns of the patients screened; those still in screening at the end of the
        simulation have no outcome yet (-1, NaN, no assay)."""
        n = self.n_screened
        nb = -(-n // streams.BLOCK)
        paths = [b.screening for b in self.blocks[:max(nb, 1)]]  # accrue() drew block 0 at least
        outcome = np.concatenate([p.outcome for p in paths])[:n]
        end = np.concatenate([p.end_day for p in paths])[:n]
        assays = np.concatenate([p.n_assays for p in paths])[:n]
        mutant = np.concatenate([p.truly_mutant for p in paths])[:n]
        if self.decisions:
            k = np.fromiter(self.decisions.keys(), dtype=np.int64, count=len(self.decisions))
            outcome[k] = np.fromiter(self.decisions.values(), dtype=np.int8, count=len(k))
        for r in self.records:
            end[r.k] = r.rand_day
        pending = (outcome == PASSED) | (end > self.end_day)
        outcome[pending], end[pending], assays[pending], mutant[pending] = -1, np.nan, 0, False
        return {"arrival_day": np.array(self.arrival_days[:n]), "screen_end_day": end, "screen_outcome": outcome,
                "n_assays": assays, "truly_mutant": mutant}


def treatment_courses(trials: list[Trial]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """At the PFS/OS cut-off, for every randomized patient of ``trials`` (in the order of their
    ``records``): cycles started, the day treatment ended (NaN if ongoing), and why it ended.

    Treatment ends at progression seen, death, withdrawal or after the toxicity cycle, whichever
    comes first; cycles are counted from the patient's own delays.
    """
    pairs = [(t, r) for t in trials for r in t.records]
    n = len(pairs)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.int64)
    rows, tox, wd, length = [], np.empty(n), np.empty(n), np.empty(n)
    for j, (t, r) in enumerate(pairs):
        d, i = t.draws(r.k)
        rows.append(d.cycle_starts[d.cycle_row[i]])
        tox[j], wd[j], length[j] = d.toxicity_cycle[i], d.withdrawal_cycle[i], d.cycle_length[i]
    starts = np.stack(rows)
    death = np.array([r.outcome.death for _, r in pairs])
    reason = np.array([r.end_reason for _, r in pairs], dtype=np.int64)
    end_rel = np.array([r.end_rel for _, r in pairs])
    until = np.array([t.cutoff_day - r.tx_start for t, r in pairs])
    ended = np.isin(reason, (END_SCAN_PROGRESSION, END_CLINICAL_PROGRESSION, END_WITHDRAWAL)) & (end_rel < death)
    end = np.where(ended, end_rel, death)
    why = np.where(ended, reason, END_DEATH)
    t_lim = np.minimum(end, until)
    started = (starts < t_lim[:, None]).sum(axis=1)
    # Followed beyond the precomputed cycle starts: count on the patient's own clock.
    for j in np.flatnonzero(starts[:, -1] < t_lim).tolist():
        started[j] = pairs[j][1].clock.started_before(t_lim[j])
    on_tox = (tox <= started) & (tox < wd)  # stops after cycle tox for toxicity
    cycles = np.where(on_tox, tox, np.where(wd <= started, wd, started))
    tox_end = np.full(n, np.inf)
    for j in np.flatnonzero(on_tox).tolist():
        tox_end[j] = pairs[j][1].clock.end(int(tox[j]))
    by_tox = tox_end < end
    end = np.where(by_tox, tox_end, end)
    why = np.where(by_tox, END_TOXICITY, why)
    ongoing = end > until
    return cycles.astype(np.int64), np.where(ongoing, np.nan, end), np.where(ongoing, ONGOING, why)


def run_trial(model: TrialModel, seed: int, replicate: int, ahead: tuple | None = None) -> Trial:
    """Run replicate ``replicate`` of the scenario to its final data cut-off (``ahead``: its first
    blocks of draws, from draw_ahead)."""
    env = simpy.Environment()
    trial = Trial(model, seed, replicate, env)
    if ahead is not None:
        trial.uniforms = ahead[0]
        for block in ahead[1]:
            trial.add_block(*block)
    accrual = trial.accrue()
    env.process(accrual)
    env.run(until=trial.finished)
    trial.end_day = env.now
    for rec in trial.records:
        catch_up(rec, trial.end_day)
    # Events still pending after the end form reference cycles with the environment (an event holds
    # its env, whose queue holds the event): the trial lets go of the environment and the accrual
    # process's frame, and simulate_many frees the cycles once per chunk (gc.collect of the youngest
    # generation), instead of the cyclic collector walking every trial of a chunk again and again.
    accrual.close()
    trial.env = None
    return trial


def simulate(model: TrialModel, seed: int, replicate: int) -> TrialTable:
    """The patient table of replicate ``replicate`` (scalar trial facts)."""
    return simulate_many(model, seed, [replicate], stacked=False)


def simulate_many(model: TrialModel, seed: int, replicates, stacked: bool = True) -> TrialTable:
    """The stacked patient table of several replicates (``trial`` column: position in ``replicates``)."""
    replicates = list(replicates)
    # The trials stay alive until their table is built: the cyclic garbage collector would walk them
    # again and again (a third of the time); SimPy's few cycles are freed when the chunk is done.
    enabled = gc.isenabled()
    gc.disable()
    try:
        trials = []
        for g in range(0, len(replicates), AHEAD_GROUP):
            group = replicates[g: g + AHEAD_GROUP]
            trials += [run_trial(model, seed, i, ahead) for i, ahead in zip(group, draw_ahead(model, seed, group))]
        table = build_table(trials, treatment_courses(trials), model.t_ref, len(model.scan_cycles))
        del trials
        gc.collect(0)  # the chunk's SimPy environments (see run_trial), in one pass
    finally:
        if enabled:
            gc.enable()
    return table if stacked else single(table)


AHEAD = 2          # blocks drawn in advance for every trial: about 100 patients are screened
AHEAD_GROUP = 100  # trials whose first blocks are computed together


def draw_ahead(model: TrialModel, seed: int, replicates: list[int]) -> list[tuple]:
    """Per trial: (its PatientUniforms, [(BlockDraws, arrival days, cumulative intensity)] of its first
    AHEAD blocks). The blocks of all these trials are computed in one pass of numpy calls instead of
    one per block; every value is what the trial would compute alone."""
    uniforms = [streams.PatientUniforms(seed, i) for i in replicates]
    if not uniforms:
        return []
    B = streams.BLOCK
    # Rows ordered trial by trial, block by block (one copy of the uniforms).
    U = np.concatenate([u.block(b) for u in uniforms for b in range(AHEAD)])
    blocks3 = U.reshape(len(uniforms), AHEAD, B, streams.WIDTH)
    day = np.empty((len(uniforms), AHEAD, B))
    offsets, offset = [], np.zeros(len(uniforms))
    for b in range(AHEAD):
        day[:, b], offset = arrivals(model, blocks3[:, b], offset)
        offsets.append(offset)
    blocks = BlockDraws.many(model, U, day.reshape(-1))
    return [(u, [(blocks[t * AHEAD + b], day[t, b], float(offsets[b][t])) for b in range(AHEAD)])
            for t, u in enumerate(uniforms)]
