"""The SimPy model's mechanisms, each checked against what it must do."""
import math

import numpy as np
import pytest

import sim
from sim.model import imaging
from sim.table import NE
from sim.model.accrual import ArrivalClock
from sim.arms import CONTROL, RECHALLENGE
from sim.model.randomization import BlockRandomizer
from sim.table import END_CLINICAL_PROGRESSION, END_DEATH, END_SCAN_PROGRESSION, RANDOMIZED
from sim.model.trial import TrialModel, simulate

from conftest import SCENARIOS


def scenario(name="plain_binary", *overrides):
    return sim.load_scenario(SCENARIOS / f"{name}.yaml", list(overrides))


def tables(sc, n, seed=3):
    model = TrialModel(sc)
    return [simulate(model, seed, i) for i in range(n)]


def test_piecewise_poisson_arrivals_have_the_configured_intensity():
    sc = scenario("expected")
    clock = ArrivalClock(sc.accrual)
    rng = np.random.default_rng(1)
    reps, counts = 4000, []
    for _ in range(reps):
        days = clock.days(np.cumsum(rng.exponential(size=80)))
        counts.append(((days >= 0) & (days < 18 * 30.4375)).sum())
    expected = 6 * 1.2 + 6 * 2.0 + 6 * 2.4  # months x rate, from expected.yaml
    mean, se = np.mean(counts), np.std(counts) / math.sqrt(reps)
    assert abs(mean - expected) <= 3 * se
    assert np.var(counts) == pytest.approx(expected, rel=0.1)  # Poisson: variance = mean


def test_permuted_blocks_balance_every_block_and_keep_their_prefix():
    r = BlockRandomizer(seed=4, replicate=0, ratio=(2, 1), block_size=6)
    arms = [r.next_arm(0) for _ in range(60)]
    for b in range(10):
        block = arms[6 * b: 6 * b + 6]
        assert block.count(RECHALLENGE) == 4 and block.count(CONTROL) == 2
    again = BlockRandomizer(seed=4, replicate=0, ratio=(2, 1), block_size=6)
    assert [again.next_arm(0) for _ in range(13)] == arms[:13]
    assert [BlockRandomizer(4, 1, (2, 1), 6).next_arm(0) for _ in range(60)] != arms


def test_toxicity_delays_push_every_later_cycle_and_scan():
    sc = scenario("plain_binary", "treatment.delay.prob_per_cycle=1.0", "treatment.delay.days.mean=7")
    for t in tables(sc, 3):
        p = t.patients
        scanned = p["first_scan_rel"][p["arm"] >= 0]
        scanned = scanned[~np.isnan(scanned)]
        # Cycles 2, 3 and 4 each start 7 days late: the scan after cycle 4 is on day 4*14 + 3*7.
        assert len(scanned) and np.all(scanned == 77.0)
        tied = t.scans["day_rel"][t.scans["cycle_tied"]]
        assert set(np.unique(tied)) <= {77.0, 77.0 + 4 * 21, 77.0 + 8 * 21}


def test_scans_follow_the_backbone_cycle_length():
    sc = scenario("plain_binary", "treatment.backbones.0.cycle_days=21")
    t = tables(sc, 1)[0]
    tied = t.scans["day_rel"][t.scans["cycle_tied"]]
    assert set(np.unique(tied)) <= {84.0, 168.0, 252.0}
    calendar = np.unique(t.scans["day_rel"][~t.scans["cycle_tied"]])
    assert np.all((calendar - 252.0) % 56 == 0)


def test_progression_is_seen_only_at_scans_or_death_without_clinical_detection():
    for t in tables(scenario("expected", "imaging.clinical_detection_prob=0"), 5):
        p = t.patients
        ended = p["end_reason"]
        assert not np.any(ended == END_CLINICAL_PROGRESSION)
        by_scan = ended == END_SCAN_PROGRESSION
        scan_days = {(k, d) for k, d in zip(t.scans["patient"], t.scans["day_rel"])}
        for k, d in zip(p["patient"][by_scan], p["end_rel"][by_scan]):
            assert (k, d) in scan_days
        # Seen no earlier than the truth, and progression seen at a scan means it truly happened.
        assert np.all(p["end_rel"][by_scan] >= p["pfs_true_rel"][by_scan])
        died = ended == END_DEATH
        assert np.allclose(p["end_rel"][died], p["os_true_rel"][died])


def test_ctdna_mutant_probability_decays_with_the_half_life():
    from sim.model.screening import p_mutant

    sc = scenario("expected")
    rm = sc.screening.ras_mutant
    p0, p1 = p_mutant(sc.screening, np.array([0.0, rm.half_life_months]) + rm.reference_months_since_cetuximab)
    assert p0 == pytest.approx(rm.prob_at_reference)
    assert p1 == pytest.approx(p0 / 2)


def test_screen_failure_shares_match_the_configured_probabilities():
    sc = scenario("expected", "screening.death_while_waiting_per_month=0", "screening.retest_on_failure=false")
    tabs = tables(sc, 150)
    outcome = np.concatenate([t.patients["screen_outcome"] for t in tabs])
    n = len(outcome)
    # Assay failure is the first molecular step: its share of all screened is assay_failure_prob.
    fail = (outcome == 2).mean()
    assert abs(fail - 0.05) <= 3 * math.sqrt(0.05 * 0.95 / n)
    # Non-molecular failure applies to those with a wild-type call.
    reached = np.isin(outcome, [RANDOMIZED, 4, 5])
    share = (outcome[reached] == 4).mean()
    assert abs(share - 0.20) <= 3 * math.sqrt(0.2 * 0.8 / reached.sum())


def test_truly_mutant_patients_let_in_get_the_control_arm_outcome_law():
    sc = scenario("expected", "screening.assay_sensitivity=0", "screening.ras_mutant.prob_at_reference=1",
                  "screening.ras_mutant.months_since_cetuximab.mean=0.001",
                  "screening.ras_mutant.months_since_cetuximab.distribution=fixed",
                  "screening.ras_mutant.months_since_cetuximab.sd=null")
    tabs = tables(sc, 60)
    ctrl_law = TrialModel(sc).laws[0]
    pfs = np.concatenate([t.patients["pfs_true_rel"][t.patients["arm"] == RECHALLENGE] for t in tabs])
    assert np.all(np.concatenate([t.patients["truly_mutant"][t.patients["arm"] >= 0] for t in tabs]))
    # Among rechallenge patients (all truly mutant) disease control at day 56 is the control arm's 0.45.
    share = (pfs > 56).mean()
    assert abs(share - float(ctrl_law.pfs_survival(56))) <= 3 * math.sqrt(0.45 * 0.55 / len(pfs))


def test_patient_draws_do_not_depend_on_the_sample_size():
    small = simulate(TrialModel(scenario("expected", "accrual.target_randomized=20", "analysis.variants=[]")), 8, 3)
    large = simulate(TrialModel(scenario("expected", "accrual.target_randomized=60")), 8, 3)
    n = len(small.patients["patient"])
    for col in ("arrival_day", "screen_outcome", "arm", "pfs_true_rel", "os_true_rel", "backbone"):
        a, b = small.patients[col][: n - 5], large.patients[col][: n - 5]
        assert np.array_equal(a, b, equal_nan=True), col


def test_accrual_stops_at_the_target_and_follow_up_ends_at_the_cut_off():
    for t in tables(scenario("expected"), 5):
        p = t.patients
        assert (p["arm"] >= 0).sum() == 50
        assert t.end_day == pytest.approx(t.last_randomized_day + 24 * 365.25 / 12)
        assert np.nanmax(p["tx_start_day"]) == pytest.approx(t.last_randomized_day)


def test_recist_categories():
    assert imaging.recist(56, progression=40, responder=True, complete=False) == imaging.PD
    assert imaging.recist(56, progression=70, responder=True, complete=True) == imaging.CR
    assert imaging.recist(56, progression=70, responder=True, complete=False) == imaging.PR
    assert imaging.recist(56, progression=70, responder=False, complete=False) == imaging.SD
    assert imaging.next_calendar_scan(56, 60, 56) == 112
    assert imaging.next_calendar_scan(56, 56, 56) == 112
    assert imaging.next_calendar_scan(0, 130, 56) == 168


def _row(table, sc):
    from sim.analyses.plan import AnalysisPlan
    from sim.analyses.extract import extract

    return extract(table, AnalysisPlan.from_scenario(sc))


def test_a_calendar_primary_analysis_counts_patients_not_yet_scanned_as_failures():
    from sim.endpoints.common import first_scan_category

    sc = scenario("expected", "analysis.primary_analysis=months_after_last_randomized",
                  "analysis.primary_analysis_months=1")
    for t in tables(sc, 5):
        rec = _row(t, sc)
        cut = t.last_randomized_day + 365.25 / 12
        assert rec["k0_day"] == pytest.approx(cut)
        p = t.patients
        late = (p["arm"] >= 0) & ~(p["tx_start_day"] + p["first_scan_rel"] <= cut)
        # The last patient's first scan is at least 56 days after randomization: not seen at 1 month.
        assert late.sum() >= 1
        assert np.all(first_scan_category(t, cut)[late] == NE)
        full = _row(t, scenario("expected"))
        assert rec["k0_dc_rechallenge"] + rec["k0_dc_control"] <= full["k0_dc_rechallenge"] + full["k0_dc_control"]


def test_a_short_cut_off_does_not_cut_the_primary_analysis():
    from sim.endpoints.common import observed_pfs

    short, full = scenario("expected", "analysis.follow_up_cutoff_months=1"), scenario("expected")
    for i in range(4):
        a, b = simulate(TrialModel(short), 5, i), simulate(TrialModel(full), 5, i)
        ra, rb = _row(a, full), _row(b, full)
        assert math.isfinite(ra["k0_day"])
        for key in ("k0_dc_control", "k0_dc_rechallenge", "k0_day"):
            assert ra[key] == rb[key], key
        # PFS is still cut at the cut-off: nothing seen after it counts.
        time, event = observed_pfs(a, a.cutoff_day)
        p = a.patients
        r = p["arm"] >= 0
        assert np.all(p["tx_start_day"][r] + time[r] <= a.cutoff_day + 1e-9)
        assert a.cutoff_day == pytest.approx(a.last_randomized_day + 365.25 / 12)


def test_a_trial_that_screens_nobody_is_summarized(tmp_path):
    empty = simulate(TrialModel(scenario("expected", "accrual.max_months=0.01")), 1, 0)
    assert len(empty.patients["patient"]) == 0 and empty.patients["controlled_at_ref"].dtype == bool
    r = sim.run(scenario("expected", "accrual.max_months=0.5"), tmp_path / "e", replicates=20, report=False, seed=1, workers=1)
    assert r.summary["replicates"] == 20
    assert any("did not reach the randomization target" in n for n in r.summary["notes"])


def test_toxicity_stops_are_recorded_with_their_day():
    from sim.table import END_TOXICITY

    sc = scenario("plain_binary", "treatment.discontinuation_toxicity_prob_per_cycle=1.0")
    for t in tables(sc, 3):
        p = t.patients
        tox = (p["arm"] >= 0) & (p["tx_end_reason"] == END_TOXICITY)
        assert tox.sum() >= 40
        assert np.all(p["n_cycles"][tox] == 1) and np.all(p["tx_end_rel"][tox] == 14.0)
        # Off treatment, the first scan moves to the calendar grid: day 56 here.
        assert np.all(p["first_scan_rel"][tox & ~np.isnan(p["first_scan_rel"])] == 56.0)


def test_withdrawn_patients_are_censored_at_withdrawal_for_os():
    from sim.endpoints.common import observed_os
    from sim.table import END_WITHDRAWAL

    sc = scenario("expected", "treatment.withdrawal_prob_per_cycle=0.3")
    for t in tables(sc, 3):
        p = t.patients
        time, event = observed_os(t, t.cutoff_day)
        w = p["end_reason"] == END_WITHDRAWAL
        assert w.sum() > 5
        assert not event[w].any() and np.allclose(time[w], p["end_rel"][w])


def test_when_accrual_gives_up_follow_up_runs_from_the_last_randomization():
    sc = scenario("expected", "accrual.max_months=12")
    for t in tables(sc, 3):
        assert not t.accrual_complete
        assert t.cutoff_day == pytest.approx(t.last_randomized_day + 24 * 365.25 / 12)


def test_the_scan_that_sets_the_analysis_day_is_inside_it():
    """Analysis days are sums tx_start_day + day_rel; counting a scan compares the same sum, so the
    patient whose third scan is the last one awaited counts as controlled (no rounding loss)."""
    from sim.endpoints import common as ep

    sc = scenario("expected", "accrual.target_randomized=80", "analysis.variants=[]")
    for t in tables(sc, 40):
        number = ep.scan_number(t)
        day = ep.analysis_day(t, number, 3, None)
        at, later = (ep.controlled_through(t, number, 3, d) for d in (day, day + 1.0))
        assert np.array_equal(at, later)
        assert np.array_equal(ep.best_category(t, number, 3, day), ep.best_category(t, number, 3, day + 1.0))


def test_an_arrival_at_the_moment_enrolment_closes_gets_an_outcome():
    """Evenly spaced arrivals (one a day) and a fixed 9-day turnaround make arrivals coincide with the
    decision that closes enrolment: every patient counted as screened must have a screening outcome."""
    from sim.model.trial import simulate_many

    sc = scenario("expected", "accrual.arrivals=evenly_spaced",
                  "accrual.screening_rates=[{from_month: 0, per_month: 30.4375}]",
                  "screening.turnaround_days={distribution: fixed, mean: 9}")
    t = simulate_many(TrialModel(sc), 11, range(300))
    assert not (t.patients["screen_outcome"] == -1).any()
