"""Sample-quality metrics on feature arrays (issue #4's first part): the Fréchet distance
(FID), the Inception score, precision/recall and density/coverage.

Every function takes features (or logits) as arrays [N, D] from any extractor, so the
same code serves InceptionV3 pool-3 features and an in-domain classifier's (seed 001 §6).
Bad input (NaN, mismatched sizes, too few rows) raises ``ZooError`` with one line.
"""

from __future__ import annotations

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
