"""Streaming summaries (sim/summary/accumulate.py, summarize.Summarizer): exact sums and quantiles, rows
identical (==) whatever the chunking, and equal to the whole-table computation they replace."""
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS

import sim
from sim.analyses.plan import AnalysisPlan
from sim.arms import ARMS
from sim.engine.chunk import run_chunk
from sim.stats.km import Z95
from sim.summary import accumulate
from sim.summary import summarize as S
from sim.summary.accumulate import ExactMoments, QuantileColumn, exact_sum, linear_quantile
from sim.summary.summarize import Summarizer, configured_figures, summarize
from sim.table import SCREEN_OUTCOMES

# -- exact sums ----------------------------------------------------------------------------------


def _exact(values) -> tuple[Fraction, Fraction]:
    finite = [Fraction(float(v)) for v in values if math.isfinite(v)]
    return sum(finite, Fraction(0)), sum((v * v for v in finite), Fraction(0))


def _as_fractions(m: ExactMoments) -> tuple[Fraction, Fraction]:
    return Fraction(m.sum, 2 ** 1074), Fraction(m.sum_of_squares, 2 ** 2148)


CORNERS = {
    "cancelling magnitudes": [1e16, 1.0, -1e16, 1.0, 3.0, -1.0],
    "negative": [-0.1, -0.2, -0.3, 0.7, -2.5e-3],
    "subnormal": [5e-324, -5e-324, 1.5e-320, 2.2250738585072014e-308, 2.2250738585072009e-308, 1e-310],
    "huge": [1.7976931348623157e308, -1.7976931348623157e308, 1e300, 1e300],
    "zeros": [0.0, -0.0, 0.0],
    "nan and inf": [1.0, math.nan, 2.0, math.inf, 3.0, math.nan],
}


@pytest.mark.parametrize("case", CORNERS)
def test_exact_sum_and_sum_of_squares(case):
    values = CORNERS[case]
    m = ExactMoments()
    m.add(values)
    assert _as_fractions(m) == _exact(values)
    assert m.n == sum(math.isfinite(v) for v in values)
    assert m.count == sum(not math.isnan(v) for v in values)


def test_exact_sums_of_random_magnitudes_any_chunking_and_merge(monkeypatch):
    # Small blocks and flushes exercise every path of the limb arithmetic.
    monkeypatch.setattr(accumulate, "_BLOCK", 7)
    monkeypatch.setattr(accumulate, "_FLUSH", 20)
    rng = np.random.default_rng(0)
    x = rng.normal(size=400) * 10.0 ** rng.integers(-310, 300, 400)
    x[::37] = np.nan
    whole = ExactMoments()
    whole.add(x)
    assert _as_fractions(whole) == _exact(x)
    for cuts in ([1], [5, 1, 33], [400]):
        parts, pos, k = [], 0, 0
        while pos < len(x):
            parts.append(x[pos: pos + cuts[k % len(cuts)]])
            pos += cuts[k % len(cuts)]
            k += 1
        chunked, merged = ExactMoments(), ExactMoments()
        for p in parts[::-1]:                       # any order
            chunked.add(p)
            other = ExactMoments()
            other.add(p)
            merged.merge(other)
        for m in (chunked, merged):
            assert (m.sum, m.sum_of_squares, m.n) == (whole.sum, whole.sum_of_squares, whole.n)


def test_mean_and_variance_are_the_exact_values_rounded_once():
    rng = np.random.default_rng(1)
    for x in (rng.normal(46.5, 6.5, 1000), rng.integers(0, 200, 777).astype(float), np.full(5, 0.1),
              np.array([1e16, 1.0, 1.0]), rng.normal(0, 1, 2)):
        m = ExactMoments()
        m.add(x)
        s1, s2 = _exact(x)
        n = len(x)
        assert m.mean() == float(s1 / n)
        assert m.variance() == float((s2 - s1 * s1 / n) / (n - 1))
        assert m.mean() == pytest.approx(np.mean(x), rel=1e-15)
        assert m.sd() == pytest.approx(np.std(x, ddof=1), rel=1e-12, abs=1e-300)


def test_infinite_and_too_few_values_give_what_numpy_gives():
    m = ExactMoments()
    m.add([1.0, math.inf, math.nan])
    assert m.mean() == math.inf and math.isnan(m.variance()) and m.count == 2
    m.add([-math.inf])
    assert math.isnan(m.mean())
    one = ExactMoments()
    one.add([2.5, math.nan])
    assert one.mean() == 2.5 and math.isnan(one.variance())
    assert exact_sum([]) == (0, 0)


# -- exact quantiles -----------------------------------------------------------------------------


def _quantile_in_two_passes(x, ps, cuts=(13, 1, 50)) -> list[float]:
    col = QuantileColumn()
    chunks, pos, k = [], 0, 0
    while pos < len(x):
        chunks.append(x[pos: pos + cuts[k % len(cuts)]])
        pos += cuts[k % len(cuts)]
        k += 1
    for c in chunks:
        col.add(c)
    n = col.n
    col.want({r for p in ps for r in accumulate.quantile_ranks(n, p)[:2]})
    for c in chunks[::-1]:
        col.collect(c)
    return [linear_quantile(n, p, col.value_at) for p in ps]


@pytest.mark.parametrize("seed", range(12))
def test_two_pass_quantiles_are_np_quantile(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 3000))
    x = rng.normal(40, 8, n)
    if seed % 3 == 0:
        x[rng.random(n) < 0.3] = 45.0                  # a value many trials share (accrual.max_months)
    if seed % 3 == 1:
        x = np.round(x) * (1 if seed % 2 else -1)      # ties everywhere, negative values
    if seed % 4 == 0:
        x[rng.random(n) < 0.1] = np.nan
    ps = [0.0, 1.0, 0.1, 0.5, 0.9, *rng.random(8)]
    for q in (0.1, 0.5, 0.9):
        ps += list(S.quantile_probabilities(int(np.sum(~np.isnan(x))), q))
    got = _quantile_in_two_passes(x, ps)
    want = [float(np.quantile(x[~np.isnan(x)], p)) for p in ps]
    assert got == want


def test_quantile_row_is_the_whole_column_computation():
    rng = np.random.default_rng(5)
    for n in (2, 3, 10, 999):
        v = rng.gamma(4, 10, n)
        for q in (0.1, 0.5, 0.9):
            half = Z95 * math.sqrt(n * q * (1 - q)) / n
            lo, hi = np.quantile(v, [max(0.0, q - half), min(1.0, q + half)])
            row = S.quantile("d", "m", v, q)
            assert (row["estimate"], row["ci_low"], row["ci_high"]) == (float(np.quantile(v, q)), lo, hi)
            assert row["mcse"] == (hi - lo) / (2 * Z95)
    assert S.quantile("d", "m", [1.0, np.nan], 0.5)["estimate"] is None


def test_second_pass_must_see_the_same_values():
    col = QuantileColumn()
    col.add(np.arange(100.0))
    col.want({49, 50})
    col.collect(np.arange(50.0))
    with pytest.raises(RuntimeError, match="second pass"):
        col.value_at(49)


# -- the summarizer on simulated chunks ----------------------------------------------------------


def _simulate(name: str, overrides: list[str], replicates: int):
    sc = sim.load_scenario(SCENARIOS / name, overrides)
    c = run_chunk(sc.model_dump_json(), sc.monte_carlo.seed, 0, replicates)
    return sc, c.records, c.analyses, c.pooled


@pytest.fixture(scope="module")
def runs():
    """Five designs with a look; trials that stop at accrual.max_months (tied durations, notes); trials
    too small for a Cox fit (NaN estimates)."""
    return {"default": _simulate("default.yaml", [], 60),
            "stopped": _simulate("expected.yaml", ["accrual.max_months=45"], 40),
            "tiny": _simulate("plain_binary.yaml", ["accrual.target_randomized=4", "randomization.block_size=2"], 40)}


def _chunks(records, analyses, pooled, sizes):
    """The tables cut by replicate into chunks of the given sizes (cycled)."""
    reps = np.sort(records["replicate"].unique())
    pos, k = 0, 0
    while pos < len(reps):
        lo, hi = reps[pos], reps[min(pos + sizes[k % len(sizes)], len(reps)) - 1]
        pos += sizes[k % len(sizes)]
        k += 1
        pick = lambda rep: (rep >= lo) & (rep <= hi)  # noqa: E731
        yield (records[pick(records["replicate"])], analyses[pick(analyses["replicate"])],
               {key: v[pick(pooled["replicate"])] for key, v in pooled.items()})


def _stream(sc, chunks, cap=None):
    s = Summarizer(sc, configured_figures(sc), pooled_median_replicates=cap)
    for records, analyses, pooled in chunks:
        s.add(records, analyses, pooled)
    if s.needs_second_pass:
        for _, analyses, _ in chunks[::-1]:          # the second pass in any order and chunking
            s.add_second(None, analyses[s.second_pass_columns["designs"]])
    return s.result()


@pytest.mark.parametrize("name", ["default", "stopped", "tiny"])
def test_rows_are_identical_whatever_the_chunking(runs, name, monkeypatch):
    monkeypatch.setattr(S, "BOOTSTRAP", 40)   # fewer resamples: faster, and as chunk-free as 200
    sc, records, analyses, pooled = runs[name]
    whole = summarize(sc, records, analyses, pooled, configured_figures(sc))
    for sizes in ([1], [7], [3, 11, 1, 17]) if name == "default" else ([1], [3, 11, 1, 17]):
        assert _stream(sc, list(_chunks(records, analyses, pooled, sizes))) == whole, sizes
    # Design rows shuffled within the table (as the engine's sort by design would order them).
    order = np.random.default_rng(0).permutation(len(analyses))
    assert summarize(sc, records, analyses.iloc[order], pooled, configured_figures(sc)) == whole


# The whole-table computation the streaming one replaced (summarize.py before issue 12), kept as the reference.
def _old_mean(design, metric, values):
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return S._row(design, metric, None, None, None, None)
    m = float(v.mean())
    se = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else math.nan
    return S._row(design, metric, m, se, m - Z95 * se, m + Z95 * se)


def _old_quantile(design, metric, values, q):
    v = np.sort(np.asarray(values, dtype=float)[~np.isnan(np.asarray(values, dtype=float))])
    R = len(v)
    if R < 2:
        return S._row(design, metric, None, None, None, None)
    est = float(np.quantile(v, q))
    half = Z95 * math.sqrt(R * q * (1 - q)) / R
    lo, hi = np.quantile(v, [max(0.0, q - half), min(1.0, q + half)])
    return S._row(design, metric, est, (hi - lo) / (2 * Z95), lo, hi)


def _old_error_rows(design, name, estimate, low, high, truth):
    est, low, high = (np.asarray(x, dtype=float) for x in (estimate, low, high))
    ok = np.isfinite(est)
    err = est[ok] - truth
    R = len(err)
    if R < 2:
        return [S._row(design, f"{m}_{name}", None, None, None, None) for m in ("bias", "rmse", "coverage")]
    bias = _old_mean(design, f"bias_{name}", err)
    mse = float(np.mean(err ** 2))
    rmse = math.sqrt(mse)
    se_mse = float(np.std(err ** 2, ddof=1) / math.sqrt(R))
    se = se_mse / (2 * rmse) if rmse > 0 else math.nan
    covered = int(np.sum((low[ok] <= truth) & (truth <= high[ok])))
    return [bias, S._row(design, f"rmse_{name}", rmse, se, rmse - Z95 * se, rmse + Z95 * se),
            S.proportion(design, f"coverage_{name}", covered, R)]


def _old_rows(sc, records, analyses, pooled, configured):
    plan = AnalysisPlan.from_scenario(sc)
    rows = []
    for index, (d, label) in enumerate(zip(plan.designs, plan.labels)):
        a = analyses[analyses["design"] == index]
        R = len(a)
        nulls = S.null_endpoints(configured)
        for endpoint, column in S.REJECTIONS:
            rows.append(S.proportion(label, S.rate_metric(endpoint, nulls[endpoint]), int(a[column].sum()), R))
        sizes = S.plain_reference(sc, d)
        if sizes is not None:
            rows += ["exact"] * len(d.exact_reference(sizes, 0.5, 0.5) or {})
        for what in ("dcr", "orr"):
            for name in ARMS.values():
                rows.append(S.proportion(label, f"{what}_observed_{name}", int(a[f"{what}_successes_{name}"].sum()),
                                         int(a[f"n_{name}"].sum())))
        rows.append(_old_mean(label, "dcr_difference", a["dcr_difference"]))
        rows += _old_error_rows(label, "dcr_difference", a["dcr_difference"], a["dcr_difference_low"],
                                a["dcr_difference_high"], configured["dcr_rechallenge"] - configured["dcr_control"])
        for name in ARMS.values():
            rows.append(_old_mean(label, f"n_evaluable_{name}", a[f"n_evaluable_{name}"]))
        rows.append(_old_mean(label, "n_analysed", a["n_rechallenge"] + a["n_control"]))
        looks = len(d.needs(sc.design_context())[1])
        if looks:
            rows.append(S.proportion(label, "prob_interim_look", int(a["looked"].sum()), R))
            rows.append(S.proportion(label, "prob_stop_early", int(a["stopped"].sum()), R))
            rows.append(S.proportion(label, "prob_stop_for_efficacy", int(a["stopped_for_efficacy"].sum()), R))
            if looks > 1:
                for k in range(1, looks + 1):
                    rows.append(S.proportion(label, f"prob_stop_at_look_{k}", int((a["stop_look"] == k).sum()), R))
        for metric, column in S.MEAN_OVER_REPLICATES:
            rows.append(_old_mean(label, metric, a[column]))
            if metric in S.QUANTILE_COLUMNS:
                for q in (0.1, 0.5, 0.9):
                    rows.append(_old_quantile(label, f"{metric}_q{int(q * 100)}", a[column], q))
    for what, num in (("dcr", "wt_controlled_at_ref"), ("orr", "wt_responding_at_ref")):
        for name in ARMS.values():
            rows.append(S.proportion(None, f"{what}_{name}", int(records[f"{num}_{name}"].sum()),
                                     int(records[f"n_wt_{name}"].sum())))
    rows += ["median"] * 6
    for endpoint in ("pfs", "os"):
        est, se = records[f"{endpoint}_log_hr"].to_numpy(float), records[f"{endpoint}_log_hr_se"].to_numpy(float)
        ok = np.isfinite(est) & np.isfinite(se)
        rows.append(S.proportion(None, f"cox_not_estimable_{endpoint}", int((~ok).sum()), len(ok)))
        est, se = np.where(ok, est, np.nan), np.where(ok, se, np.nan)
        rows.append(_old_mean(None, f"log_hr_{endpoint}", est))
        rows += _old_error_rows(None, f"log_hr_{endpoint}", est, est - Z95 * se, est + Z95 * se,
                                configured[f"log_hr_{endpoint}"])
        rows.append(_old_mean(None, f"events_{endpoint}", records[f"{endpoint}_events"]))
    for name in SCREEN_OUTCOMES.values():
        if name != "randomized":
            rows.append(_old_mean(None, f"n_{name}", records[f"n_{name}"]))
    rows.append(_old_mean(None, "n_truly_mutant_randomized", records["n_truly_mutant_randomized"]))
    incomplete = int((~records["accrual_complete"].astype(bool)).sum())
    rows.append(S.proportion(None, "accrual_completed", len(records) - incomplete, len(records)))
    return rows


@pytest.mark.parametrize("name", ["default", "stopped", "tiny"])
def test_rows_agree_with_the_whole_table_computation(runs, name):
    sc, records, analyses, pooled = runs[name]
    configured = configured_figures(sc)
    rows, notes = summarize(sc, records, analyses, pooled, configured)
    old = _old_rows(sc, records, analyses, pooled, configured)
    assert len(rows) == len(old)
    for new, ref in zip(rows, old):
        if ref in ("exact", "median"):   # computed by the same code as before
            assert new["metric"].startswith({"exact": "exact_", "median": "median_"}[ref])
            continue
        assert (new["design"], new["metric"], new["note"]) == (ref["design"], ref["metric"], ref["note"])
        for k in ("estimate", "mcse", "ci_low", "ci_high"):
            assert (new[k] is None) == (ref[k] is None), (new, ref)
            if ref[k] is not None:
                assert new[k] == pytest.approx(ref[k], rel=1e-12, abs=1e-300), (new, ref)
    medians = [r for r in rows if r["metric"].startswith("median_")]
    for code, arm in ARMS.items():
        keep = pooled["arm"] == code
        ref = S.median(None, f"median_os_{arm}", pooled["os_true"][keep], np.ones(int(keep.sum()), bool),
                       pooled["replicate"][keep], S.DAYS_PER_MONTH)
        assert ref in medians
    if name == "stopped":
        assert "did not reach the randomization target" in notes[-1]
        assert [r for r in rows if r["metric"] == "accrual_completed"][0]["estimate"] < 1
    if name == "tiny":
        assert [r for r in rows if r["metric"] == "cox_not_estimable_pfs"][0]["estimate"] > 0


def test_pooled_medians_over_a_prefix_of_replicates_say_so(runs, monkeypatch):
    monkeypatch.setattr(S, "BOOTSTRAP", 40)
    sc, records, analyses, pooled = runs["stopped"]
    cap = 15
    chunks = list(_chunks(records, analyses, pooled, [4, 9]))
    rows, notes = _stream(sc, chunks, cap=cap)
    monkeypatch.setattr(S, "POOLED_MEDIAN_REPLICATES", cap)   # the module constant is the default
    assert _stream(sc, list(_chunks(records, analyses, pooled, [40]))) == (rows, notes)
    prefix = {k: v[pooled["replicate"] < cap] for k, v in pooled.items()}
    alone, _ = summarize(sc, records[records["replicate"] < cap], analyses[analyses["replicate"] < cap], prefix,
                         configured_figures(sc))
    note = f"pooled over the first {cap} of {len(records)} replicates (those numbered below {cap})"
    for row in rows:
        if row["metric"].startswith("median_"):
            ref = [r for r in alone if r["metric"] == row["metric"]][0]
            assert {k: row[k] for k in ("estimate", "mcse", "ci_low", "ci_high")} == {
                k: ref[k] for k in ("estimate", "mcse", "ci_low", "ci_high")}
            assert note in row["note"] and "MCSE is that of this estimate" in row["note"]
            if ref["note"]:
                assert row["note"].startswith(ref["note"])
        else:
            assert row["note"] is None or "pooled over" not in row["note"]
    # Only the prefix's patients are kept.
    s = Summarizer(sc, configured_figures(sc), pooled_median_replicates=cap)
    for chunk in chunks:
        s.add(*chunk)
    kept = sum(len(p["replicate"]) for parts in s._pooled.values() for p in parts)
    assert kept == int(np.sum(pooled["replicate"] < cap))


def test_interim_rows_then_more_chunks(runs, monkeypatch):
    monkeypatch.setattr(S, "BOOTSTRAP", 40)
    sc, records, analyses, pooled = runs["default"]
    chunks = list(_chunks(records, analyses, pooled, [20]))
    s = Summarizer(sc, configured_figures(sc))
    s.add(*chunks[0])
    early, _ = s.interim(medians=False)
    assert not any(r["metric"].endswith(("_q10", "_q50", "_q90")) or r["metric"].startswith("median_") for r in early)
    with pytest.raises(RuntimeError, match="second pass"):
        s.result()
    for chunk in chunks[1:]:
        s.add(*chunk)
    for _, a, _ in chunks:
        s.add_second(None, a)
    with pytest.raises(RuntimeError):
        s.add(*chunks[0])
    assert s.result() == summarize(sc, records, analyses, pooled, configured_figures(sc))


def test_merged_summarizers_equal_one(runs, monkeypatch):
    monkeypatch.setattr(S, "BOOTSTRAP", 40)
    sc, records, analyses, pooled = runs["default"]
    chunks = list(_chunks(records, analyses, pooled, [13]))
    parts = []
    for chunk in chunks:
        s = Summarizer(sc, configured_figures(sc))
        s.add(*chunk)
        parts.append(s)
    total = parts[0]
    for s in parts[1:][::-1]:
        total.merge(s)
    for _, a, _ in chunks:
        total.add_second(None, a)
    assert total.result() == summarize(sc, records, analyses, pooled, configured_figures(sc))


def test_no_replicates():
    sc = sim.load_scenario(SCENARIOS / "default.yaml")
    s = Summarizer(sc, configured_figures(sc))
    s.add(pd.DataFrame(), pd.DataFrame(), {})
    assert not s.needs_second_pass and not s.second_pass_columns
    assert s.result() == ([], ["no replicate finished"])


def test_the_catalogue_states_the_prefix_of_pooled_medians():
    from sim.summary.catalogue import KINDS
    assert f"first {S.POOLED_MEDIAN_REPLICATES:,}" in KINDS["median"]


def _km_reference(time, event, cluster, n_boot, seed):
    """km_median_bootstrap before it stopped at the median a block at a time: one cumprod over all rows."""
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=bool)
    order = np.lexsort((~event, time))
    t, e = time[order], event[order]
    ids, members = np.unique(np.asarray(cluster)[order], return_inverse=True)

    def median_with(weights):
        at_risk = np.cumsum(weights[::-1])[::-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(e & (at_risk > 0), 1.0 - weights / at_risk, 1.0)
        idx = np.flatnonzero(np.cumprod(step) <= 0.5)
        return float(t[idx[0]]) if len(idx) else math.nan

    rng = np.random.default_rng(seed)
    uniform = np.full(len(ids), 1.0 / len(ids))
    boots = [median_with(rng.multinomial(len(ids), uniform).astype(float)[members]) for _ in range(n_boot)]
    return median_with(np.ones(len(t))), np.array(boots)


@pytest.mark.parametrize("block", [1, 3, 64, 1 << 16])
def test_pooled_median_by_blocks_is_the_single_product(block, monkeypatch):
    from sim.stats import km
    monkeypatch.setattr(km, "BLOCK", block)
    rng = np.random.default_rng(block)
    for trial in range(15):
        n = int(rng.integers(1, 500))
        t = rng.exponential(60, n)
        if trial % 2:
            t = np.ceil(t / 28) * 28   # ties on scan days
        c = rng.exponential(rng.choice([50.0, 150.0, 1e9]), n)
        args = (np.minimum(t, c), t <= c, rng.integers(0, int(rng.integers(1, 30)), n) * 3 + 1)
        est, boots = km.km_median_bootstrap(*args, n_boot=25, seed=trial)
        ref_est, ref_boots = _km_reference(*args, n_boot=25, seed=trial)
        assert (est == ref_est or (math.isnan(est) and math.isnan(ref_est)))
        assert np.array_equal(boots, ref_boots, equal_nan=True)
