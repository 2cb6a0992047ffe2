"""2-D mixtures of Gaussians for the mode-coverage benchmark (seed 002 §4.1), with the
protocol of PacGAN's synthetic experiments (Lin et al. 2018, github fjxmlzn/PacGAN):

- ``ring``: 8 modes with means (cos 2πk/8, sin 2πk/8), k = 0..7 (a circle of radius 1),
  isotropic standard deviation σ = 0.01;
- ``grid``: 25 modes with means {-4, -2, 0, 2, 4}², σ = 0.05;
- equal mode weights; 100 000 training points; 2 500 generated samples per evaluation.

Rules (``mode_statistics``): every sample is assigned to its nearest mode in
σ-normalised distance; it is **high quality** when that distance is below 3 (within 3σ
of the mode). A mode is **captured** when at least one high-quality sample is assigned
to it. The **reverse KL** is KL(p_gen ‖ p_true) between the histogram of the
high-quality samples over the modes and the uniform true mode weights (terms with
p_gen = 0 vanish); it is NaN when no sample is of high quality.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from zoo.errors import ZooError


@dataclasses.dataclass(frozen=True)
class Mixture:
    """An equal-weight mixture of isotropic 2-D Gaussians."""

    name: str
    means: np.ndarray
    std: float

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` float32 points [n, 2] drawn from the mixture."""
        rng = np.random.default_rng(seed)
        modes = rng.integers(0, len(self.means), n)
        return (self.means[modes] + self.std * rng.standard_normal((n, 2))).astype(np.float32)


def _ring() -> Mixture:
    angles = 2 * np.pi * np.arange(8) / 8
    return Mixture("ring", np.stack([np.cos(angles), np.sin(angles)], axis=1), 0.01)


def _grid() -> Mixture:
    axis = np.arange(-4, 5, 2, dtype=np.float64)
    return Mixture("grid", np.array([(a, b) for a in axis for b in axis]), 0.05)


MIXTURES = {"ring": _ring(), "grid": _grid()}
TRAIN_POINTS = 100_000
EVAL_SAMPLES = 2_500


def mixture(name: str) -> Mixture:
    """The ``Mixture`` of a name; ``ZooError`` for an unknown one."""
    try:
        return MIXTURES[name]
    except KeyError:
        raise ZooError(f"unknown 2-D dataset {name!r}; expected one of {', '.join(MIXTURES)}") from None


def mode_statistics(samples, mix: Mixture) -> dict:
    """Modes captured, share of high-quality samples and reverse KL (module docstring),
    plus the per-mode counts of high-quality samples."""
    samples = np.asarray(samples, np.float64)
    if samples.ndim != 2 or samples.shape[1] != 2 or len(samples) == 0:
        raise ZooError(f"mode statistics need samples [N, 2], got shape {samples.shape}")
    if not np.all(np.isfinite(samples)):
        raise ZooError("samples contain NaN or Inf")
    distance = np.linalg.norm(samples[:, None, :] - mix.means[None, :, :], axis=2) / mix.std
    nearest = distance.argmin(axis=1)
    good = distance[np.arange(len(samples)), nearest] < 3.0
    counts = np.bincount(nearest[good], minlength=len(mix.means))
    if counts.sum():
        p = counts / counts.sum()
        nonzero = p > 0
        reverse_kl = float(np.sum(p[nonzero] * np.log(p[nonzero] * len(mix.means))))
    else:
        reverse_kl = float("nan")
    return {
        "modes": int(np.count_nonzero(counts)),
        "high_quality": float(good.mean()),
        "reverse_kl": reverse_kl,
        "counts": counts.tolist(),
    }
