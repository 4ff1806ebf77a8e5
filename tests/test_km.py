"""The pooled Kaplan-Meier median (weighted, one pass) against lifelines."""
import numpy as np
import pytest
from lifelines import KaplanMeierFitter

from sim.stats.km import km_median_bootstrap


@pytest.mark.parametrize("seed", range(30))
def test_pooled_median_matches_lifelines_with_ties_and_censoring(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 400))
    t = rng.exponential(60, n)
    if seed % 2:
        t = np.ceil(t / 28) * 28  # bunched on scan days: many ties of events and censorings
    c = rng.exponential(150, n)
    time, event = np.minimum(t, c), t <= c
    est, boots = km_median_bootstrap(time, event, rng.integers(0, 10, n), n_boot=20, seed=1)
    expected = KaplanMeierFitter().fit(time, event).median_survival_time_
    if np.isinf(expected):
        assert np.isnan(est)
    else:
        assert est == pytest.approx(expected)
    assert len(boots) == 20


def test_bootstrap_weights_equal_to_duplicating_clusters():
    rng = np.random.default_rng(3)
    time, event, cluster = rng.exponential(10, 300), rng.random(300) < 0.8, np.repeat(np.arange(30), 10)
    est, boots = km_median_bootstrap(time, event, cluster, n_boot=5, seed=2)
    counts = np.random.default_rng(2).multinomial(30, np.full(30, 1 / 30), size=5)
    for b, c in zip(boots, counts):
        keep = np.repeat(np.arange(300), c[cluster])
        assert b == pytest.approx(KaplanMeierFitter().fit(time[keep], event[keep]).median_survival_time_)
