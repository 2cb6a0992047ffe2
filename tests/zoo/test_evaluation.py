"""Sample-quality metrics against independent oracles: closed-form Fréchet distances,
brute-force k-NN precision/recall/density/coverage, and the Inception score's limits."""

import numpy as np
import pytest

from zoo.errors import ZooError
from zoo.evaluation import (
    density_coverage,
    frechet_distance,
    frechet_distance_from_moments,
    inception_score,
    precision_recall,
)


def test_frechet_distance_closed_forms():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=4), rng.normal(size=4)
    a, b = rng.uniform(0.5, 2, size=4), rng.uniform(0.5, 2, size=4)
    # Diagonal covariances: ||mu1 - mu2||^2 + sum (sqrt(a) - sqrt(b))^2.
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    got = frechet_distance_from_moments(mu1, np.diag(a), mu2, np.diag(b))
    assert got == pytest.approx(expected, rel=1e-9)
    # S2 = c^2 S1 for a full S1: Tr(S1) (1 - c)^2.
    m = rng.normal(size=(4, 4))
    s1 = m @ m.T + 0.1 * np.eye(4)
    got = frechet_distance_from_moments(mu1, s1, mu1, 9.0 * s1)
    assert got == pytest.approx(np.trace(s1) * 4.0, rel=1e-7)


def test_frechet_distance_of_features():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 8))
    assert abs(frechet_distance(x, x)) < 1e-6
    shifted = x + 3.0  # same covariance, mean moved by 3 in each of 8 dims
    assert frechet_distance(x, shifted) == pytest.approx(72.0, rel=1e-6)
    # Singular covariances (fewer rows than dimensions) still give a finite value.
    assert np.isfinite(frechet_distance(rng.normal(size=(5, 16)), rng.normal(size=(5, 16))))


def _brute(real, fake, k):
    def radius(points, i):
        d = sorted(np.sum((points[i] - points[j]) ** 2) for j in range(len(points)) if j != i)
        return d[k - 1]

    rr = [radius(real, i) for i in range(len(real))]
    fr = [radius(fake, j) for j in range(len(fake))]
    inside = [[np.sum((f - r) ** 2) <= rr[i] for i, r in enumerate(real)] for f in fake]
    precision = np.mean([any(row) for row in inside])
    recall = np.mean([any(np.sum((r - f) ** 2) <= fr[j] for j, f in enumerate(fake)) for r in real])
    density = sum(sum(row) for row in inside) / (k * len(fake))
    coverage = np.mean([any(inside[j][i] for j in range(len(fake))) for i in range(len(real))])
    return precision, recall, density, coverage


@pytest.mark.parametrize("k", [1, 3, 5])
def test_knn_metrics_match_brute_force(k):
    rng = np.random.default_rng(k)
    real, fake = rng.normal(size=(40, 3)), rng.normal(0.5, 1.3, size=(30, 3))
    p, r, d, c = _brute(real, fake, k)
    assert precision_recall(real, fake, k) == pytest.approx((p, r), abs=1e-12)
    assert density_coverage(real, fake, k) == pytest.approx((d, c), abs=1e-12)


def test_inception_score_limits():
    confident = np.full((100, 10), -50.0)
    confident[np.arange(100), np.arange(100) % 10] = 50.0  # sure, and uniform over classes
    mean, std = inception_score(confident, splits=2)
    assert mean == pytest.approx(10.0, rel=1e-6) and std < 1e-6
    identical = np.tile(np.random.default_rng(0).normal(size=10), (100, 1))
    assert inception_score(identical, splits=1)[0] == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: frechet_distance(np.zeros((10, 3)), np.zeros((10, 4))), "feature sizes differ"),
        (lambda: frechet_distance(np.full((10, 3), np.nan), np.zeros((10, 3))), "NaN"),
        (lambda: frechet_distance(np.zeros((1, 3)), np.zeros((10, 3))), "at least 2"),
        (lambda: precision_recall(np.zeros((3, 2)), np.zeros((10, 2)), k=3), "more than k rows"),
        (lambda: inception_score(np.zeros((5, 10)), splits=10), "at least 10"),
    ],
)
def test_bad_inputs_are_one_line_errors(call, match):
    with pytest.raises(ZooError, match=match):
        call()
