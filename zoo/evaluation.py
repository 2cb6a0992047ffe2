"""Sample-quality metrics on feature arrays (issue #4's first part): the Fréchet distance
(FID), the Inception score, precision/recall and density/coverage.

Every function takes features (or logits) as arrays [N, D] from any extractor, so the
same code serves InceptionV3 pool-3 features and an in-domain classifier's (seed 001 §6).
Bad input (NaN, mismatched sizes, too few rows) raises ``ZooError`` with one line.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import scipy.special

from zoo.errors import ZooError


def _features(name: str, x, min_rows: int = 1) -> np.ndarray:
    x = np.asarray(x, np.float64)
    if x.ndim != 2:
        raise ZooError(f"{name} must be a 2-D array [N, D], got shape {x.shape}")
    if len(x) < min_rows:
        raise ZooError(f"{name} has {len(x)} rows; at least {min_rows} are needed")
    if not np.all(np.isfinite(x)):
        raise ZooError(f"{name} contains NaN or Inf")
    return x


def _pair(a, b, min_rows: int) -> tuple[np.ndarray, np.ndarray]:
    a, b = _features("first features", a, min_rows), _features("second features", b, min_rows)
    if a.shape[1] != b.shape[1]:
        raise ZooError(f"feature sizes differ: {a.shape[1]} vs {b.shape[1]}")
    return a, b


def frechet_distance_from_moments(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) (seed 000 eq. 3; Heusel et al. 2017).

    The matrix square root is scipy's; when the product is singular (its root not
    finite), ``eps`` is added to both diagonals, as the reference implementation does.
    The real part is kept; an imaginary part above 1e-3 (relative) is an error.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (len(mu1), len(mu1)):
        raise ZooError(
            f"moments do not match: means {mu1.shape}, {mu2.shape}; covariances {s1.shape}, {s2.shape}"
        )
    with warnings.catch_warnings():  # a singular product is handled below
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        root, _ = scipy.linalg.sqrtm(s1 @ s2, disp=False)
    if not np.all(np.isfinite(root)):
        offset = eps * np.eye(len(mu1))
        root, _ = scipy.linalg.sqrtm((s1 + offset) @ (s2 + offset), disp=False)
    if np.iscomplexobj(root):
        if np.max(np.abs(root.imag)) > 1e-3 * max(np.max(np.abs(root.real)), 1.0):
            raise ZooError(
                f"covariance square root has a large imaginary part ({np.max(np.abs(root.imag)):.3g})"
            )
        root = root.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(root))


def frechet_distance(features_a, features_b) -> float:
    """FID between two feature arrays [N, D] and [M, D] (seed 000 eq. 3): the Fréchet
    distance of Gaussians fitted to each (means; unbiased covariances)."""
    a, b = _pair(features_a, features_b, min_rows=2)
    return frechet_distance_from_moments(
        a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
    )


def inception_score(logits, splits: int = 10) -> tuple[float, float]:
    """Inception score exp(E_x KL(p(y|x) || p(y))) of class logits [N, C] (Salimans et al.
    2016; seed 001 §5), as (mean, std) over ``splits`` equal parts, p(y) per part."""
    logits = _features("logits", logits, min_rows=max(1, int(splits)))
    if int(splits) < 1:
        raise ZooError(f"splits must be >= 1, got {splits}")
    log_p = logits - scipy.special.logsumexp(logits, axis=1, keepdims=True)
    scores = []
    for part in np.array_split(log_p, int(splits)):
        log_marginal = scipy.special.logsumexp(part, axis=0) - np.log(len(part))
        kl = np.sum(np.exp(part) * (part - log_marginal), axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def _squared_distances(a: np.ndarray, b: np.ndarray, chunk: int = 2048):
    """Yield (start, ||a_i - b_j||^2 for a chunk of rows of a) without an N x M x D array."""
    bb = np.sum(b * b, axis=1)
    for start in range(0, len(a), chunk):
        block = a[start : start + chunk]
        d = np.sum(block * block, axis=1)[:, None] + bb[None, :] - 2.0 * block @ b.T
        yield start, np.maximum(d, 0.0)


def _knn_radii(x: np.ndarray, k: int) -> np.ndarray:
    """Squared distance of each row to its k-th nearest other row."""
    radii = np.empty(len(x))
    for start, d in _squared_distances(x, x):
        rows = np.arange(len(d))
        d[rows, start + rows] = np.inf  # a point is not its own neighbour
        radii[start : start + len(d)] = np.partition(d, k - 1, axis=1)[:, k - 1]
    return radii


def _inside_counts(points: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """For each point, how many balls B(centre_i, radius_i) contain it (closed balls)."""
    counts = np.zeros(len(points), np.int64)
    for start, d in _squared_distances(points, centres):
        counts[start : start + len(d)] = np.sum(d <= radii[None, :], axis=1)
    return counts


def _check_k(k: int, *arrays: np.ndarray) -> None:
    if int(k) < 1 or any(len(x) <= k for x in arrays):
        raise ZooError(
            f"k = {k} needs k >= 1 and more than k rows in each set, got {[len(x) for x in arrays]}"
        )


def precision_recall(real_features, fake_features, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019; seed 004 §5): precision =
    share of samples inside the k-NN ball of some real point, recall = share of real
    points inside the k-NN ball of some sample (radii: distance to the k-th nearest
    neighbour within the same set)."""
    real, fake = _pair(real_features, fake_features, min_rows=2)
    _check_k(k, real, fake)
    precision = np.mean(_inside_counts(fake, real, _knn_radii(real, k)) > 0)
    recall = np.mean(_inside_counts(real, fake, _knn_radii(fake, k)) > 0)
    return float(precision), float(recall)


def density_coverage(real_features, fake_features, k: int = 5) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020, eq. 3-4): density = (1 / kM) Σ_j Σ_i
    1[f_j ∈ B(r_i, NND_k(r_i))]; coverage = share of real points whose k-NN ball holds
    at least one sample. k = 5 as in that paper."""
    real, fake = _pair(real_features, fake_features, min_rows=2)
    _check_k(k, real)
    radii = _knn_radii(real, k)
    density = _inside_counts(fake, real, radii).sum() / (k * len(fake))
    # Coverage asks, per real point, whether its nearest sample is inside its ball.
    nearest = np.empty(len(real))
    for start, d in _squared_distances(real, fake):
        nearest[start : start + len(d)] = d.min(axis=1)
    return float(density), float(np.mean(nearest <= radii))


def feature_l2(features_x, features_recon) -> float:
    """Inception-L2 (seed 000 eq. 4): mean over examples of ||I(x) - I(G(E(x)))||_2, the
    rows of the two arrays paired (row i = image i and its reconstruction)."""
    a, b = _pair(features_x, features_recon, min_rows=1)
    if len(a) != len(b):
        raise ZooError(f"feature_l2 pairs rows: {len(a)} images vs {len(b)} reconstructions")
    return float(np.mean(np.linalg.norm(a - b, axis=1)))


def class_histogram(logits, classes: int | None = None) -> np.ndarray:
    """Share of images a classifier puts in each class: the normalised counts of
    argmax(``logits``) over ``classes`` (default: the logits' width) classes, summing to 1."""
    logits = _features("logits", logits)
    classes = logits.shape[1] if classes is None else int(classes)
    if classes < logits.shape[1]:
        raise ZooError(f"class_histogram: {logits.shape[1]} logits per image but classes={classes}")
    counts = np.bincount(np.argmax(logits, axis=1), minlength=classes)
    return counts / len(logits)


def class_agreement(logits, labels) -> float:
    """Share of images whose argmax(``logits``) is their label: for the logits of
    reconstructions G(E(x)) and the labels of x, how often E keeps x's class (random
    pairs on balanced classes: about 1 / classes)."""
    logits = _features("logits", logits)
    labels = np.asarray(labels)
    if labels.shape != (len(logits),):
        raise ZooError(f"class_agreement: {len(logits)} images but labels of shape {labels.shape}")
    return float(np.mean(np.argmax(logits, axis=1) == labels))


# Wang et al. 2003's five scale weights; the first ``scales`` are used, renormalised.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def ms_ssim_settings(size: int) -> dict:
    """MS-SSIM settings valid for square images of side ``size``.

    TensorFlow needs the image at the coarsest scale to be at least the filter size.
    The standard 11-tap, sigma 1.5 Gaussian is kept with as many scales (up to 5, each
    halving the image) as fit; if fewer than 3 fit (sides below 44, e.g. 28 or 32), three
    scales with a 7-tap, sigma 1.0 Gaussian are used instead (valid from side 28:
    28 -> 14 -> 7). Scale weights are Wang et al.'s first ones, renormalised to sum to 1.
    """
    scales = max((n for n in range(1, 6) if 11 * 2 ** (n - 1) <= size), default=0)
    filter_size, sigma = 11, 1.5
    if scales < 3:
        scales, filter_size, sigma = 3, 7, 1.0
        if size < 7 * 4:
            raise ZooError(f"MS-SSIM needs images of side >= 28, got {size}")
    weights = np.asarray(MS_SSIM_WEIGHTS[:scales])
    return {
        "power_factors": tuple(float(w) for w in weights / weights.sum()),
        "filter_size": filter_size,
        "filter_sigma": sigma,
    }


def ms_ssim_diversity(images, pairs: int = 1000, seed: int = 0, batch_size: int = 500) -> float:
    """1 - mean MS-SSIM over random pairs of distinct images [N, H, W, C] in [0, 1]
    (seed 001 §5 "sample diversity"; Odena et al. 2017): 0 for identical images, higher
    for more diverse sets. Compare it with the same number for real test images.
    Settings per image size: ``ms_ssim_settings``."""
    import tensorflow as tf

    images = np.asarray(images, np.float32)
    if images.ndim != 4 or len(images) < 2:
        raise ZooError(f"ms_ssim_diversity needs at least 2 images [N, H, W, C], got shape {images.shape}")
    if not np.all(np.isfinite(images)):
        raise ZooError("images contain NaN or Inf")
    settings = ms_ssim_settings(min(images.shape[1:3]))
    rng = np.random.default_rng(seed)
    first = rng.integers(0, len(images), pairs)
    second = (first + rng.integers(1, len(images), pairs)) % len(images)  # never the same index
    values = []
    for i in range(0, pairs, batch_size):
        a, b = images[first[i : i + batch_size]], images[second[i : i + batch_size]]
        values.append(tf.image.ssim_multiscale(a, b, 1.0, **settings).numpy())
    return float(1.0 - np.mean(np.concatenate(values)))


def knn_accuracy(train_codes, train_labels, test_codes, test_labels, metric: str = "l2") -> float:
    """1-nearest-neighbour classification accuracy of codes E(x) (seed 003 Table 1: 1NN
    accuracy in the encoder's feature space, with an l1 or l2 distance)."""
    train, test = _pair(train_codes, test_codes, min_rows=1)
    ytr, yte = np.asarray(train_labels), np.asarray(test_labels)
    if len(ytr) != len(train) or len(yte) != len(test):
        raise ZooError(
            f"labels do not match codes: {len(ytr)}/{len(train)} train, {len(yte)}/{len(test)} test"
        )
    if metric == "l2":
        nearest = np.empty(len(test), np.int64)
        for start, d in _squared_distances(test, train):
            nearest[start : start + len(d)] = d.argmin(axis=1)
    elif metric == "l1":
        nearest = np.array([np.abs(train - t).sum(axis=1).argmin() for t in test])
    else:
        raise ZooError(f"unknown metric {metric!r}; expected l1 or l2")
    return float(np.mean(ytr[nearest] == yte))


def linear_probe_accuracy(
    train_codes, train_labels, test_codes, test_labels, l2: float = 1e-4, max_iter: int = 500
) -> float:
    """Test accuracy of a multinomial logistic regression fitted on the train codes
    (standardised with the train statistics; L-BFGS on the mean cross-entropy plus
    ``l2`` * ||W||^2): the linear-probe score of an encoder's representation."""
    import scipy.optimize

    train, test = _pair(train_codes, test_codes, min_rows=2)
    ytr, yte = np.asarray(train_labels).astype(np.int64), np.asarray(test_labels).astype(np.int64)
    if len(ytr) != len(train) or len(yte) != len(test):
        raise ZooError(
            f"labels do not match codes: {len(ytr)}/{len(train)} train, {len(yte)}/{len(test)} test"
        )
    mean, std = train.mean(0), train.std(0) + 1e-8
    train, test = (train - mean) / std, (test - mean) / std
    classes = int(max(ytr.max(), yte.max())) + 1
    n, d = train.shape
    onehot = np.eye(classes)[ytr]

    def loss_and_grad(theta):
        w, b = theta[: d * classes].reshape(d, classes), theta[d * classes :]
        logits = train @ w + b
        log_p = logits - scipy.special.logsumexp(logits, axis=1, keepdims=True)
        loss = -np.sum(onehot * log_p) / n + l2 * np.sum(w * w)
        g = (np.exp(log_p) - onehot) / n
        return loss, np.concatenate([(train.T @ g + 2 * l2 * w).ravel(), g.sum(0)])

    theta0 = np.zeros(d * classes + classes)
    result = scipy.optimize.minimize(
        loss_and_grad, theta0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter}
    )
    w, b = result.x[: d * classes].reshape(d, classes), result.x[d * classes :]
    return float(np.mean((test @ w + b).argmax(1) == yte))
