"""Sample-quality metrics against independent oracles: closed-form Fréchet distances,
brute-force k-NN precision/recall/density/coverage, the Inception score's limits,
scikit-image's PSNR, brute-force nearest neighbours, and MS-SSIM of identical images."""

import numpy as np
import pytest

from zoo import data, evaluation
from zoo.errors import ZooError
from zoo.evaluation import (
    density_coverage,
    frechet_distance,
    frechet_distance_from_moments,
    inception_score,
    precision_recall,
)
from zoo.metrics import psnr


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


# --- Issue #4, second part: feature-L2, MS-SSIM diversity, probes, PSNR oracle ---------


def test_feature_l2_is_the_mean_paired_euclidean_distance():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((7, 5)), rng.standard_normal((7, 5))
    expected = np.mean([np.sqrt(np.sum((a[i] - b[i]) ** 2)) for i in range(7)])
    assert evaluation.feature_l2(a, b) == pytest.approx(expected, rel=1e-12)
    assert evaluation.feature_l2(a, a) == 0.0
    with pytest.raises(ZooError, match="pairs rows"):
        evaluation.feature_l2(a, b[:6])


def test_ms_ssim_diversity_is_zero_for_identical_images_and_positive_for_real_ones():
    real = data.test_images("fashion_mnist", 200)
    same = np.repeat(real[:1], 50, axis=0)
    assert evaluation.ms_ssim_diversity(same, pairs=100) == pytest.approx(0.0, abs=1e-6)
    assert 0.3 < evaluation.ms_ssim_diversity(real, pairs=300) < 1.0


@pytest.mark.parametrize(
    "size, scales, taps", [(28, 3, 7), (32, 3, 7), (44, 3, 11), (64, 3, 11), (176, 5, 11)]
)
def test_ms_ssim_settings_are_valid_for_the_image_size(size, scales, taps):
    settings = evaluation.ms_ssim_settings(size)
    assert (len(settings["power_factors"]), settings["filter_size"]) == (scales, taps)
    assert sum(settings["power_factors"]) == pytest.approx(1.0)
    # TensorFlow accepts them: the coarsest scale is at least the filter size.
    images = np.random.default_rng(0).uniform(size=(4, size, size, 1)).astype(np.float32)
    assert evaluation.ms_ssim_diversity(images, pairs=4) >= 0.0
    with pytest.raises(ZooError, match="side >= 28"):
        evaluation.ms_ssim_settings(20)


def test_psnr_matches_scikit_image_per_example():
    from skimage.metrics import peak_signal_noise_ratio

    rng = np.random.default_rng(0)
    x = rng.uniform(size=(5, 28, 28, 1))
    y = np.clip(x + rng.normal(0, 0.05 * np.arange(1, 6))[:, None, None, None], 0, 1)
    ours = psnr(x, y)
    theirs = [peak_signal_noise_ratio(x[i], y[i], data_range=1.0) for i in range(5)]
    assert ours == pytest.approx(theirs, rel=1e-9)


def test_knn_accuracy_matches_brute_force_for_l1_and_l2():
    rng = np.random.default_rng(1)
    train, test = rng.standard_normal((60, 4)), rng.standard_normal((25, 4))
    ytr, yte = rng.integers(0, 3, 60), rng.integers(0, 3, 25)
    for metric, dist in (("l2", lambda d: np.sum(d * d, -1)), ("l1", lambda d: np.sum(np.abs(d), -1))):
        nearest = dist(test[:, None, :] - train[None, :, :]).argmin(1)
        expected = np.mean(ytr[nearest] == yte)
        assert evaluation.knn_accuracy(train, ytr, test, yte, metric) == pytest.approx(expected)


def test_linear_probe_separates_linear_classes_and_not_random_labels():
    rng = np.random.default_rng(2)
    centres = rng.standard_normal((4, 16)) * 3
    ytr, yte = rng.integers(0, 4, 800), rng.integers(0, 4, 400)
    xtr = centres[ytr] + rng.standard_normal((800, 16))
    xte = centres[yte] + rng.standard_normal((400, 16))
    assert evaluation.linear_probe_accuracy(xtr, ytr, xte, yte) > 0.95
    shuffled = rng.permutation(ytr)  # labels carry no information about the codes
    assert evaluation.linear_probe_accuracy(xtr, shuffled, xte, yte) < 0.45
    with pytest.raises(ZooError, match="labels do not match"):
        evaluation.linear_probe_accuracy(xtr, ytr[:-1], xte, yte)


def test_class_histogram_counts_argmax_shares():
    one_class = np.tile(np.eye(10)[3] * 5.0, (40, 1))  # every image in class 3
    np.testing.assert_array_equal(evaluation.class_histogram(one_class), np.eye(10)[3])
    logits = np.eye(4)[[0, 0, 1, 3, 3, 3, 3, 0]]  # 3 x class 0, 1 x class 1, 4 x class 3
    np.testing.assert_allclose(evaluation.class_histogram(logits, classes=5), [3 / 8, 1 / 8, 0, 4 / 8, 0])
    with pytest.raises(ZooError, match="classes=3"):
        evaluation.class_histogram(logits, classes=3)


def test_class_agreement_is_the_share_predicted_as_labelled():
    labels = np.arange(100) % 10
    identity = np.eye(10)[labels]  # reconstructions the classifier puts in x's class
    assert evaluation.class_agreement(identity, labels) == 1.0
    assert evaluation.class_agreement(np.eye(10)[(labels + 1) % 10], labels) == 0.0
    shifted = np.eye(10)[np.where(np.arange(100) < 30, labels, (labels + 1) % 10)]
    assert evaluation.class_agreement(shifted, labels) == pytest.approx(0.3)
    with pytest.raises(ZooError, match="labels of shape"):
        evaluation.class_agreement(identity, labels[:5])
