"""IVE-GAN's transformations T (seed 002 §4): what each changes, and only in training."""

import keras
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


def _translation(t):
    return next(layer for layer in t.layers if isinstance(layer, keras.layers.RandomTranslation))


def test_scale_multiplies_every_range_and_leaves_the_rest():
    full, quarter = (
        build_transform("photos", 32, 3, seed=0),
        build_transform("photos", 32, 3, seed=0, scale=0.25),
    )
    for a, b in zip(full.layers, quarter.layers, strict=True):
        ca, cb = a.get_config(), b.get_config()
        changed = {k for k in ca if ca[k] != cb[k] and k != "name"}
        assert bool(changed) == (not isinstance(a, keras.layers.RandomFlip))  # flips: all or none
        for key in changed:  # only the ranges move, each by the scale
            ra, rb = np.abs(np.ravel(ca[key])), np.abs(np.ravel(cb[key]))
            np.testing.assert_allclose(rb, 0.25 * ra, rtol=1e-6, err_msg=f"{a.name}.{key}")
    assert _translation(quarter).height_factor == pytest.approx(0.25 * 20 / 128)
    digits = build_transform("digits", 28, 1, scale=0.25)
    assert _translation(digits).height_factor == pytest.approx(1 / 28)  # shifts up to 1 pixel
    rotation = next(layer for layer in digits.layers if isinstance(layer, keras.layers.RandomRotation))
    assert rotation.factor[1] == pytest.approx(5 / 360)  # rotations up to 5°


@pytest.mark.parametrize("interpolation, whole_pixels", [("nearest", True), ("bilinear", False)])
def test_nearest_shifts_move_whole_pixels_and_bilinear_ones_blend(interpolation, whole_pixels):
    shift = _translation(build_transform("digits", 28, 1, seed=3, shift_interpolation=interpolation))
    x = np.zeros((16, 28, 28, 1), np.float32)
    x[:, 8:20, 10:14] = 1.0  # a white bar on black: any blend of two pixels is strictly between
    y = shift(x, training=True).numpy()
    blended = (y > 1e-3) & (y < 1 - 1e-3)
    assert np.abs(y - x).max() == 1.0  # the bar moved
    assert (not blended.any()) == whole_pixels


def test_bad_scale_and_interpolation_are_one_line_errors():
    for scale in (0.0, -0.5, 1.5):
        with pytest.raises(ZooError, match=r"transform scale must be in \(0, 1\]"):
            build_transform("digits", 28, 1, scale=scale)
    for kwargs in ({"scale": 0.5}, {"shift_interpolation": "nearest"}):
        with pytest.raises(ZooError, match="shift transform's size is shift_stddev"):
            build_transform("shift", 1, 2, shift_stddev=0.05, **kwargs)
    with pytest.raises(ZooError, match="unknown shift interpolation 'cubic'"):
        build_transform("digits", 28, 1, shift_interpolation="cubic")
