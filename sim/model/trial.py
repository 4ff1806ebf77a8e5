"""One simulated trial: the SimPy environment, accrual, and the shared state patients touch.

``TrialModel`` holds what is fixed for a scenario (outcome laws, rates, schedules) and is
built once; ``simulate(model, seed, replicate)`` runs replicate ``replicate`` and returns its
``TrialTable``. The result depends only on (scenario, seed, replicate).
"""
from __future__ import annotations

import math

import numpy as np
import simpy

from ..analyses.design import designs
from ..outcomes.laws import arm_laws
from ..scenario.schema import DAYS_PER_MONTH, Scenario
from . import durations, streams
from .accrual import ArrivalClock
from .cycles import CycleClock
from .patient import screening
from .randomization import BlockRandomizer
from .record import (
    END_CLINICAL_PROGRESSION, END_DEATH, END_SCAN_PROGRESSION, END_TOXICITY, END_WITHDRAWAL, ONGOING, Outcome,
    PatientRecord, TrialTable, build_table,
)

INF = math.inf


def _geometric_cycle(u: np.ndarray, p: float) -> np.ndarray:
    """Cycle after which an event with per-cycle probability p happens (inf if p = 0)."""
    if p <= 0:
        return np.full(u.shape, INF)
    if p >= 1:
        return np.ones(u.shape)
    return np.ceil(np.log(u) / math.log1p(-p))


def _no_delay(c: int) -> float:
    return 0.0


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
        self.designs = designs(scenario)
        cutoff = a.follow_up_cutoff_months * DAYS_PER_MONTH
        self.cutoff_from_start = a.follow_up_cutoff_from == "study_start"
        self.cutoff = cutoff
        fixed = [d.primary_analysis_months * DAYS_PER_MONTH for d in self.designs if d.primary_analysis_months]
        # The simulation runs to the PFS/OS cut-off and to every fixed-time DCR analysis, and on until
        # each randomized patient's DCR outcome is known for the designs that wait for it.
        self.run_after_last_rand = max([0.0 if self.cutoff_from_start else cutoff] + fixed)
        self.awaited_scans = max([d.scans for d in self.designs if d.primary_analysis_months is None] + [1])
        self.max_accrual_days = scenario.accrual.max_months * DAYS_PER_MONTH
        d = scenario.treatment.delay
        self.delay_p = d.prob_per_cycle
        self.delay_days = d.days


class BlockDraws:
    """Per-patient draws of one block of patients, vectorized from their uniforms."""

    def __init__(self, m: TrialModel, U: np.ndarray):
        s = m.cfg.screening
        S = streams
        self.U = U
        self.gap = -np.log(U[:, S.ARRIVAL]) if m.poisson_arrivals else np.ones(len(U))
        self.turnaround = durations.quantile(s.turnaround_days, U[:, S.TURNAROUND])
        self.turnaround_retest = durations.quantile(s.turnaround_days, U[:, S.TURNAROUND_RETEST])
        h = s.death_while_waiting_per_month / DAYS_PER_MONTH
        self.death_wait = -np.log(U[:, S.DEATH_WAITING]) / h if h > 0 else np.full(len(U), INF)
        self.assay_fail = U[:, S.ASSAY_FAIL] < s.assay_failure_prob
        self.assay_fail_retest = U[:, S.ASSAY_FAIL_RETEST] < s.assay_failure_prob
        self.months_since_cetuximab = durations.quantile(
            s.ras_mutant.months_since_cetuximab, U[:, S.MONTHS_SINCE_CETUXIMAB])
        self.u_mutant = U[:, S.TRULY_MUTANT]
        self.u_call = U[:, S.ASSAY_CALL]
        self.sensitivity, self.specificity = s.assay_sensitivity, s.assay_specificity
        self.non_molecular = U[:, S.NON_MOLECULAR] < s.non_molecular_failure_prob
        stratum = np.zeros(len(U), dtype=np.int64)
        for j, cum in enumerate(m.strata_cum):
            level = np.minimum(np.searchsorted(cum, U[:, S.STRATA + j], side="right"), len(cum) - 1)
            stratum = stratum * m.strata_sizes[j] + level
        self.stratum = stratum
        self.backbone = np.minimum(np.searchsorted(m.backbone_cum, U[:, S.BACKBONE], side="right"),
                                   len(m.backbone_cum) - 1)
        t = m.cfg.treatment
        self.toxicity_cycle = _geometric_cycle(U[:, S.TOXICITY_STOP], t.discontinuation_toxicity_prob_per_cycle)
        self.withdrawal_cycle = _geometric_cycle(U[:, S.WITHDRAWAL], t.withdrawal_prob_per_cycle)
        self.clinical = U[:, S.CLINICAL] < m.cfg.imaging.clinical_detection_prob
        self.u_outcome = U[:, [S.PFS, S.PFS_EVENT_TYPE, S.PPS, S.RESPONDER, S.COMPLETE_RESPONSE]].tolist()
        # Patients read their draws one at a time: Python lists index far faster than arrays.
        for name in ("gap", "turnaround", "turnaround_retest", "death_wait", "assay_fail", "assay_fail_retest",
                     "months_since_cetuximab", "u_mutant", "u_call", "non_molecular", "stratum", "backbone",
                     "toxicity_cycle", "withdrawal_cycle", "clinical"):
            setattr(self, name, getattr(self, name).tolist())

    def calls_mutant(self, i: int, truly_mutant: bool) -> bool:
        if truly_mutant:
            return bool(self.u_call[i] < self.sensitivity)
        return bool(self.u_call[i] >= self.specificity)


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
        self.records: list[PatientRecord] = []
        self.scan_log: list = []
        self.n_randomized = 0
        self.awaited_scans = model.awaited_scans
        self.awaiting = 0             # randomized patients whose DCR outcome (awaited_scans scans) is not known
        self._all_known = None        # event, created when the cut-off comes before the last of them
        self.cutoff_day = math.nan
        self.closed = False
        self.accrual_complete = False
        self.last_randomized_day = math.nan
        self.finished = env.event()
        self.days_per_month = DAYS_PER_MONTH
        self.scan_cycles = model.scan_cycles
        self.cycle_days = model.cycle_days
        rm = self.cfg.screening.ras_mutant
        self._mut = (rm.prob_at_reference, rm.reference_months_since_cetuximab, rm.half_life_months)

    # -- per-patient draws -------------------------------------------------------------
    def draws(self, k: int) -> tuple[BlockDraws, int]:
        b, i = divmod(k, streams.BLOCK)
        while len(self.blocks) <= b:
            blk = BlockDraws(self.m, self.uniforms.block(len(self.blocks)))
            offset = self.cum_intensity
            cum = offset + np.cumsum(blk.gap)
            self.cum_intensity = float(cum[-1])
            self.arrival_days.extend(self.m.clock.days(cum).tolist())
            self.blocks.append(blk)
        return self.blocks[b], i

    def arrival_day(self, k: int) -> float:
        self.draws(k)
        return self.arrival_days[k]

    def p_mutant(self, months: float) -> float:
        p_ref, ref, half = self._mut
        return min(1.0, p_ref * 2.0 ** (-(months - ref) / half))

    def outcome(self, rec: PatientRecord, d: BlockDraws, i: int) -> Outcome:
        law = self.m.mutant_law if rec.truly_mutant else self.m.laws[rec.arm]
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
        return CycleClock(self.cycle_days[d.backbone[i]], self.cycle_delays(d, i))

    def cycle_delays(self, d: BlockDraws, i: int):
        """delay(c): toxicity delay before cycle c >= 2, from the patient's own delay columns."""
        p, dist = self.m.delay_p, self.m.delay_days
        if p <= 0:
            return _no_delay
        row = d.U[i, streams.CYCLE_DELAYS:].tolist()
        fixed = dist.mean if dist.distribution == "fixed" else None

        def delay(c: int) -> float:
            u = row[(c - 2) % streams.N_DELAY_COLUMNS]
            if u >= p:
                return 0.0
            return fixed if fixed is not None else float(durations.quantile(dist, np.array([u / p]))[0])

        return delay

    # -- events shared between patients ------------------------------------------------
    def new_record(self, k: int, day: float) -> PatientRecord:
        rec = PatientRecord(k, day, self.scan_log)
        self.records.append(rec)
        return rec

    def randomize(self, rec: PatientRecord, stratum: int) -> None:
        rec.stratum = int(stratum)
        rec.arm = self.randomizer.next_arm(rec.stratum)
        rec.rand_day = self.last_randomized_day = self.env.now
        rec.backbone = self.blocks[rec.k // streams.BLOCK].backbone[rec.k % streams.BLOCK]
        self.n_randomized += 1
        self.awaiting += 1
        if self.n_randomized >= self.cfg.accrual.target_randomized:
            self.accrual_complete = True
            self._close()

    def on_scan(self, rec: PatientRecord) -> None:
        """Every scan passes here, after a progression it shows has ended follow-up."""
        if rec.n_scans == self.awaited_scans or (rec.n_scans < self.awaited_scans and rec.end_reason != ONGOING):
            self.outcome_known()

    def on_end(self, rec: PatientRecord) -> None:
        """Follow-up for PFS ended off a scan (death, clinical progression, withdrawal)."""
        if rec.n_scans < self.awaited_scans:
            self.outcome_known()

    def outcome_known(self) -> None:
        """A randomized patient had the scans the DCR definitions need, or follow-up ended before them."""
        self.awaiting -= 1
        if self.awaiting == 0 and self._all_known is not None:
            self._all_known.succeed()

    def _close(self) -> None:
        """Accrual ends (target reached or given up): follow-up runs on to the cut-off."""
        self.closed = True
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

    def accrue(self):
        """Screening arrivals until the target is randomized or accrual gives up."""
        env = self.env
        k = 0
        while not self.closed:
            t = self.arrival_day(k)
            if t > self.m.max_accrual_days:
                yield env.timeout(self.m.max_accrual_days - env.now)
                if not self.closed:
                    self._close()
                return
            yield env.timeout(t - env.now)
            if self.closed:
                return
            env.process(screening(env, self, k))
            k += 1

    # -- the patient table -------------------------------------------------------------
    def treatment_course(self, rec: PatientRecord, until_rel: float) -> tuple[int, float, int]:
        """(cycles started, day treatment ended or NaN if ongoing at until_rel, why it ended).

        Treatment ends at progression seen, death, withdrawal or after the toxicity cycle,
        whichever comes first; cycles are counted from the patient's own delays.
        """
        d, i = self.draws(rec.k)
        o = rec.outcome
        ends = [(o.death, END_DEATH)]
        if rec.end_reason in (END_SCAN_PROGRESSION, END_CLINICAL_PROGRESSION, END_WITHDRAWAL):
            ends.append((rec.end_rel, rec.end_reason))
        tox, wd = d.toxicity_cycle[i], d.withdrawal_cycle[i]
        clock = self.cycle_clock(d, i)
        end, reason = min(ends)
        c = 0  # cycles started so far
        while clock.start(c + 1) < min(end, until_rel):
            c += 1
            if c >= tox and c < wd:  # stops after this cycle for toxicity
                if clock.end(c) < end:
                    end, reason = clock.end(c), END_TOXICITY
                break
            if c >= wd:
                break
        if end > until_rel:
            return c, math.nan, ONGOING
        return c, end, reason

    def table(self) -> TrialTable:
        tab = build_table(
            self.records, self.m.t_ref, len(self.scan_cycles), end_day=self.env.now, cutoff_day=self.cutoff_day,
            last_randomized_day=self.last_randomized_day, accrual_complete=self.accrual_complete,
        )
        course = [self.treatment_course(r, self.cutoff_day - r.tx_start) if r.outcome is not None
                  else (0, math.nan, ONGOING) for r in self.records]
        tab.patients["n_cycles"] = np.array([c[0] for c in course], dtype=np.int16)
        tab.patients["tx_end_rel"] = np.array([c[1] for c in course], dtype=float)
        tab.patients["tx_end_reason"] = np.array([c[2] for c in course], dtype=np.int8)
        return tab


def simulate(model: TrialModel, seed: int, replicate: int) -> TrialTable:
    """Run replicate ``replicate`` of the scenario to its final data cut-off."""
    env = simpy.Environment()
    trial = Trial(model, seed, replicate, env)
    env.process(trial.accrue())
    env.run(until=trial.finished)
    return trial.table()
