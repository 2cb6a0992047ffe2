"""Mode-coverage statistics on hand-made sample sets: all modes, one mode, off-mode noise."""

import numpy as np
import pytest

from zoo.errors import ZooError
from zoo.toy import EVAL_SAMPLES, mixture, mode_statistics


@pytest.mark.parametrize("name, modes", [("ring", 8), ("grid", 25)])
def test_real_samples_capture_every_mode_with_high_quality(name, modes):
    mix = mixture(name)
    stats = mode_statistics(mix.sample(EVAL_SAMPLES, seed=1), mix)
    assert stats["modes"] == modes
    assert stats["high_quality"] > 0.98  # 98.9 % of a 2-D Gaussian lies within 3σ
    assert 0 <= stats["reverse_kl"] < 0.02  # near-uniform histogram
    assert sum(stats["counts"]) == round(stats["high_quality"] * EVAL_SAMPLES)


def test_one_mode_gives_one_mode_and_reverse_kl_log_k():
    mix = mixture("grid")
    points = mix.means[7] + mix.std * np.random.default_rng(0).standard_normal((500, 2)) * 0.5
    stats = mode_statistics(points, mix)
    assert stats["modes"] == 1 and stats["high_quality"] == 1.0
    assert stats["reverse_kl"] == pytest.approx(np.log(25))  # KL(δ_k || uniform over 25)
    assert stats["counts"][7] == 500


def test_off_mode_noise_is_not_high_quality():
    mix = mixture("ring")
    between = mix.means[:4] + (mix.means[1:5] - mix.means[:4]) / 2  # midpoints between modes
    stats = mode_statistics(np.repeat(between, 10, axis=0), mix)
    assert stats["modes"] == 0 and stats["high_quality"] == 0.0 and np.isnan(stats["reverse_kl"])
    # Half on two modes (exactly at the means), half far away: 2 modes, 50 % quality, KL log 4.
    half = np.concatenate([np.repeat(mix.means[:2], 10, axis=0), np.full((20, 2), 5.0)])
    stats = mode_statistics(half, mix)
    assert (stats["modes"], stats["high_quality"]) == (2, 0.5)
    assert stats["reverse_kl"] == pytest.approx(np.log(4))


def test_bad_inputs():
    with pytest.raises(ZooError, match="unknown 2-D dataset"):
        mixture("spiral")
    with pytest.raises(ZooError, match=r"\[N, 2\]"):
        mode_statistics(np.zeros((3, 3)), mixture("ring"))
    with pytest.raises(ZooError, match="NaN"):
        mode_statistics(np.full((3, 2), np.nan), mixture("ring"))
