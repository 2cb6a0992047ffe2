"""IVE-GAN's transformations T (seed 002 §4): what each changes, and only in training."""

import numpy as np
import pytest

from zoo.errors import ZooError
from zoo.transforms import DATASET_TRANSFORMS, build_transform


def test_digits_shift_and_rotate_only_in_training():
    t = build_transform("digits", 28, 1, seed=0)
    x = np.zeros((8, 28, 28, 1), np.float32)
    x[:, 10:18, 10:18] = 1.0  # a bright square on the black background
    y = t(x, training=True).numpy()
    assert y.shape == x.shape and y.min() >= 0.0 and y.max() <= 1.0
    assert np.all(np.abs(y - x).reshape(8, -1).max(axis=1) > 0.1)  # every image moved
    assert np.all(y[:, :3, :3] == 0.0)  # filled with the background, not reflected
    np.testing.assert_array_equal(t(x, training=False).numpy(), x)


def test_photos_jitter_colour_and_flip_rgb_only():
    t = build_transform("photos", 32, 3, seed=0)
    x = np.random.default_rng(0).uniform(size=(8, 32, 32, 3)).astype(np.float32)
    y = t(x, training=True).numpy()
    assert y.shape == x.shape and np.abs(y - x).mean() > 0.01
    with pytest.raises(ZooError, match="3 channels"):
        build_transform("photos", 28, 1)


def test_shift_adds_gaussian_noise_of_the_given_std():
    t = build_transform("shift", 1, 2, shift_stddev=0.05, seed=0)
    y = t(np.zeros((20_000, 2), np.float32), training=True).numpy()
    np.testing.assert_allclose(y.std(axis=0), 0.05, rtol=0.03)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=0.002)
    with pytest.raises(ZooError, match="shift_stddev"):
        build_transform("shift", 1, 2)


def test_every_dataset_has_a_transform_and_unknown_kinds_fail():
    from zoo.data import DATASETS

    assert set(DATASET_TRANSFORMS) == set(DATASETS)
    with pytest.raises(ZooError, match="unknown transform"):
        build_transform("blur", 28, 1)
