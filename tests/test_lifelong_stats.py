"""The lifelong table's statistics against cases whose answer is known."""
import math

import numpy as np
import pytest

from feedback.lifelong import LifelongMatrix
from feedback.lifelong_stats import (LifelongStats, RunItems, ScenarioItems, bootstrap_difference, bootstrap_method,
                                     t_interval, weighted_f1_codes)
from policies.evaluator.metrics import r_precision, r_precision_hits, weighted_f1

LABELS = ["neutral", "happy", "sad"]


def items(n, per_window=1, emotions=None):
    return ScenarioItems([f"w{i // per_window}" for i in range(n)], emotions or [None] * n)


def run_with(order, value):
    """Every cell's hits from ``value(after, on, n)``."""
    return RunItems(order, {(a, j): value(a, j) for k, a in enumerate(order) for j in order[: k + 1]})


def test_a_constant_difference_has_a_zero_width_interval():
    stats = LifelongStats({"a": items(40), "b": items(40)}, LABELS)
    good = run_with(["a", "b"], lambda a, j: np.ones(40))
    bad = run_with(["a", "b"], lambda a, j: np.zeros(40))
    d = bootstrap_difference(stats, [(good, bad)], metrics=("AR", "FR"), resamples=200)
    assert d["AR"]["mean"] == 100.0 and d["AR"]["ci"] == (100.0, 100.0) and d["AR"]["se"] == 0.0
    assert d["FR"]["mean"] == 0.0 and d["AR"]["mdd"] == 0.0


def test_cells_without_r_precision_give_undefined_ar_and_fr_not_an_error():
    stats = LifelongStats({"a": items(10), "b": items(10)}, LABELS)
    run = RunItems(["a", "b"], {})  # pools of 32 need more than 10 items: no hits were recorded
    out = bootstrap_method(stats, [run], metrics=("AR", "FR"), resamples=20)
    assert all(math.isnan(out[m]["mean"]) and all(math.isnan(x) for x in out[m]["ci"]) for m in ("AR", "FR"))


def test_forgetting_rate_from_items_matches_the_matrix_definition():
    rng = np.random.default_rng(0)
    order = ["a", "b", "c"]
    hits = {(a, j): rng.random(50) < rng.uniform(0.1, 0.6) for k, a in enumerate(order) for j in order[: k + 1]}
    run = RunItems(order, hits)
    stats = LifelongStats({s: items(50) for s in order}, LABELS)
    m = LifelongMatrix(order)
    for (a, j), h in hits.items():
        m.record(a, j, {"r_precision_top1": h.mean()})
    ident = stats.identity()
    assert stats.fr(run, ident) == pytest.approx(m.summary()["FR"])
    assert stats.ar(run, ident) == pytest.approx(m.summary()["AR"])
    # forgetting of exactly half the items of "a": 1.0 after a, 0.5 after c (max over a, b = 1.0) -> FR = 25 points
    exact = run_with(order, lambda a, j: np.r_[np.ones(25), np.ones(25) if a != "c" or j != "a" else np.zeros(25)])
    assert stats.fr(exact, ident) == pytest.approx(25.0)


def test_bootstrap_interval_of_a_difference_of_two_proportions_matches_the_normal_approximation():
    n = 3000
    rng = np.random.default_rng(1)
    a, b = rng.random(n) < 0.3, rng.random(n) < 0.2
    stats = LifelongStats({"s": items(n)}, LABELS)
    d = bootstrap_difference(stats, [(RunItems(["s"], {("s", "s"): a}), RunItems(["s"], {("s", "s"): b}))],
                             metrics=("AR",), resamples=2000, seed=0)["AR"]
    pa, pb = a.mean(), b.mean()
    se = 100 * math.sqrt(pa * (1 - pa) / n + pb * (1 - pb) / n - 2 * np.cov(a, b)[0, 1] / n)
    assert d["mean"] == pytest.approx(100 * (pa - pb))
    assert d["se"] == pytest.approx(se, rel=0.1)
    lo, hi = d["ci"]
    assert lo < 10.0 < hi  # the true difference
    assert (hi - lo) / 2 == pytest.approx(1.96 * se, rel=0.12)
    assert d["mdd"] == pytest.approx(2.80 * d["se"], rel=1e-3)


def test_paired_runs_cancel_what_they_share():
    # both methods hit the same hard items; B misses 10 % more of the others: the paired interval is narrow
    rng = np.random.default_rng(2)
    n = 500
    shared = rng.random(n) < 0.5
    extra = rng.random(n) < 0.1
    stats = LifelongStats({"s": items(n)}, LABELS)
    a = RunItems(["s"], {("s", "s"): shared})
    b = RunItems(["s"], {("s", "s"): shared & ~extra})
    paired = bootstrap_difference(stats, [(a, b)], metrics=("AR",), resamples=500)["AR"]
    alone = bootstrap_method(stats, [a], metrics=("AR",), resamples=500)["AR"]
    assert paired["ci"][0] > 0 and (paired["ci"][1] - paired["ci"][0]) < (alone["ci"][1] - alone["ci"][0]) / 2


def test_windows_are_resampled_as_clusters():
    stats = LifelongStats({"s": items(30, per_window=3)}, LABELS)
    idx = stats.resample(np.random.default_rng(0))["s"]
    assert len(idx) == 30 and all(idx[i] // 3 == idx[i + 1] // 3 == idx[i + 2] // 3 for i in range(0, 30, 3))


def test_vectorised_weighted_f1_equals_the_metric():
    rng = np.random.default_rng(3)
    t, p = rng.integers(0, 3, 200), rng.integers(0, 3, 200)
    assert weighted_f1_codes(t, p, 3) == pytest.approx(weighted_f1([LABELS[i] for i in t], [LABELS[i] for i in p], LABELS))


def test_awf_skips_unlabelled_items_and_run_interval_covers_the_mean():
    emo = ["happy", None, "sad", "neutral"] * 10
    stats = LifelongStats({"s": items(40, emotions=emo)}, LABELS)
    run = RunItems(["s"], {("s", "s"): np.ones(40)}, {("s", "s"): [e if e else "happy" for e in emo]})
    assert stats.awf(run, stats.identity()) == 100.0
    t = t_interval([1.0, 2.0, 3.0])
    assert t["mean"] == 2.0 and t["ci"][0] == pytest.approx(2.0 - 4.303 * 1.0 / math.sqrt(3), abs=1e-3)


def test_per_item_hits_reproduce_r_precision():
    rng = np.random.default_rng(4)
    m, txt = rng.normal(size=(64, 8)), rng.normal(size=(64, 8))
    hits = r_precision_hits(m, txt, seed=0)
    assert r_precision(m, txt, seed=0) == {1: hits[:, 0].mean(), 2: hits[:, 1].mean(), 3: hits[:, 2].mean()}


def test_awf_on_held_out_and_trained_combinations_scores_each_subset_alone():
    emotions = ["happy", "sad", "happy", "sad", "neutral", "neutral"]
    stats = LifelongStats({"a": items(6, emotions=emotions)}, LABELS, holdout={"a": ["happy", "sad"]})
    # right on every held-out item (happy, sad), wrong on every trained one (neutral read as happy)
    run = RunItems(["a"], {}, {("a", "a"): ["happy", "sad", "happy", "sad", "happy", "happy"]})
    ident = stats.identity()
    assert stats.metric("AWF-held", run, ident) == 100.0
    assert stats.metric("AWF-trained", run, ident) == 0.0
    assert 0.0 < stats.metric("AWF", run, ident) < 100.0
    no_holdout = LifelongStats({"a": items(6, emotions=emotions)}, LABELS)
    assert math.isnan(no_holdout.metric("AWF-held", run, ident))  # nothing held out: undefined, not 0
