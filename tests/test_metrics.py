import numpy as np
import pytest
from scipy import linalg

from feedback.lifelong import LifelongMatrix, forgetting_rate
from policies.evaluator.metrics import (diversity, fid, frechet_distance, macro_f1, mm_dist, multimodality,
                                        r_precision, weighted_f1)


def test_frechet_distance_matches_closed_forms(rng):
    a, b = np.diag([1.0, 4.0, 9.0]), np.diag([4.0, 1.0, 16.0])
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    # Diagonal covariances: ||mu1 - mu2||^2 + sum (sqrt(a) - sqrt(b))^2.
    expected = 1 + 4 + ((1 - 2) ** 2 + (2 - 1) ** 2 + (3 - 4) ** 2)
    assert frechet_distance(mu1, a, mu2, b) == pytest.approx(expected, abs=1e-9)
    # Full covariances against scipy's symmetric form Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2).
    m1, m2 = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
    s1, s2 = m1 @ m1.T + np.eye(5), m2 @ m2.T + np.eye(5)
    r1 = linalg.sqrtm(s1)
    ref = np.sum((mu1[:1] - mu2[:1]) ** 2) * 0 + np.trace(s1 + s2 - 2 * np.real(linalg.sqrtm(r1 @ s2 @ r1)))
    assert frechet_distance(np.zeros(5), s1, np.zeros(5), s2) == pytest.approx(ref, rel=1e-6)


def test_fid_of_samples(rng):
    x = rng.normal(size=(4000, 4))
    assert fid(x[:2000], x[2000:]) < 0.05
    assert fid(x, x + 1.0) == pytest.approx(4.0, rel=0.05)  # mean shift of 1 in 4 dims


def test_r_precision_known_answer():
    m = (np.arange(32) * 10.0)[:, None]
    assert r_precision(m, m + 4.0, pool=32) == {1: 1.0, 2: 1.0, 3: 1.0}
    # Texts shifted by 6: the text of motion i-1 (at distance 4) beats the true one, except for i = 0.
    rp = r_precision(m, m + 6.0, pool=32)
    assert rp[1] == pytest.approx(1 / 32) and rp[2] == 1.0
    with pytest.raises(ValueError, match="at least 32"):
        r_precision(m[:10], m[:10])


def test_simple_metrics(rng):
    m = np.zeros((10, 2)); t = np.ones((10, 2))
    assert mm_dist(m, t) == pytest.approx(np.sqrt(2))
    pts = np.array([[0.0, 0.0], [3.0, 4.0]] * 50)
    assert diversity(pts, pairs=300) >= 0 and diversity(np.ones((20, 3))) == 0
    assert multimodality([np.array([[0.0], [2.0]]), np.array([[1.0], [1.0]])], pairs=4) == pytest.approx(1.0)


def test_weighted_and_macro_f1():
    true = ["a", "a", "a", "b"]
    pred = ["a", "a", "b", "b"]
    # F1(a) = 2*2/(2*2+0+1) = 0.8 (support 3); F1(b) = 2*1/(2+1+0) = 2/3 (support 1)
    assert weighted_f1(true, pred) == pytest.approx((3 * 0.8 + 1 * 2 / 3) / 4)
    assert macro_f1(true, pred) == pytest.approx((0.8 + 2 / 3) / 2)


def test_forgetting_rate_and_summary_on_a_hand_made_matrix(tmp_path):
    r = np.array([[0.50, np.nan, np.nan],
                  [0.40, 0.60, np.nan],
                  [0.30, 0.55, 0.70]])
    # j=0: max(0.50, 0.40) - 0.30 = 0.20; j=1: max(0.60) - 0.55 = 0.05 -> mean 0.125 -> 12.5 points
    assert forgetting_rate(r) == pytest.approx(12.5)
    lm = LifelongMatrix(["a", "b", "c"])
    lm.values["r_precision_top1"] = r
    lm.values["fid"] = np.array([[1.0, 0, 0], [2.0, 1.0, 0], [3.0, 2.0, 1.0]])
    s = lm.summary()
    assert s["AF"] == pytest.approx(2.0) and s["AR"] == pytest.approx(100 * (0.30 + 0.55 + 0.70) / 3)
    assert s["FR"] == pytest.approx(12.5)
    assert lm.heatmap(tmp_path / "m.png").stat().st_size > 1000
    improved = np.array([[0.3, np.nan], [0.5, 0.6]])
    assert forgetting_rate(improved) == pytest.approx(-20.0)  # negative = improved
