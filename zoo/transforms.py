"""IVE-GAN's invariance transformations T (seed 002 §3-4), from Keras preprocessing layers.

Seed 002 defines T per dataset:
- ``digits`` (§4.2, MNIST; used for Fashion-MNIST too): random shifts of up to 4 pixels
  in height and width and random rotations of up to 20° (empty pixels filled with 0,
  the background).
- ``photos`` (§4.3, CelebA at 128 px; used for CIFAR-10 too): shifts of up to 20/128 of
  the side, rotations of up to 20°, random horizontal flips and small random changes of
  brightness, contrast and hue (Keras' factors 0.1, 0.1 and 0.05; the paper says "small"
  without numbers; Keras' ``RandomContrast`` with one factor only raises the contrast).
- ``shift`` (§4.1, eq. 4, 2-D points): T(x) = x + t, t ~ N(0, Σ/2) for mixture components
  N(μ_k, Σ); ``shift_stddev`` is the per-coordinate std of t, σ/√2 for Σ = σ² I.

``scale`` multiplies the image transforms' ranges: shifts, rotations and the colour
jitter's factors (1: the ranges above; flips stay all or none). ``shift_interpolation``
samples the shifted image: ``"nearest"`` moves it by whole pixels (a shift drawn within
half a pixel of 0 is none), ``"bilinear"`` (Keras' default, and ours) by any fraction,
which blurs it. Rotations always interpolate bilinearly. How far each T moves the data:
``benchmarks/transform_distance.py`` and the README's "IVE-GAN's T".
"""

from __future__ import annotations

import keras
from keras import layers

from zoo.errors import ZooError

TRANSFORMS = ("digits", "photos", "shift")
SHIFT_INTERPOLATIONS = ("nearest", "bilinear")
DATASET_TRANSFORMS = {"fashion_mnist": "digits", "mnist": "digits", "cifar10": "photos", "celeb_a": "photos"}
ROTATION = 20.0 / 360.0  # Keras' RandomRotation factor is a fraction of a full turn


def build_transform(
    kind: str,
    resolution: int,
    channels: int,
    shift_stddev: float = 0.0,
    seed: int | None = None,
    scale: float = 1.0,
    shift_interpolation: str = "bilinear",
) -> keras.Sequential:
    """T as a ``keras.Sequential`` of random layers; they act only when called with
    ``training=True``. Inputs are images [B, H, W, C] in [0, 1] (or points [B, d])."""
    if kind not in TRANSFORMS:
        raise ZooError(f"unknown transform {kind!r}; expected one of {', '.join(TRANSFORMS)}")
    if shift_interpolation not in SHIFT_INTERPOLATIONS:
        raise ZooError(
            f"unknown shift interpolation {shift_interpolation!r}; "
            f"expected one of {', '.join(SHIFT_INTERPOLATIONS)}"
        )
    scale = float(scale)
    if not 0.0 < scale <= 1.0:
        raise ZooError(f"the transform scale must be in (0, 1], got {scale}")
    if kind == "shift" and (scale != 1.0 or shift_interpolation != "bilinear"):
        raise ZooError(
            "the shift transform's size is shift_stddev; leave the transform scale and shift interpolation alone"
        )
    seeds = iter(range(seed, seed + 10)) if seed is not None else iter([None] * 10)
    if kind == "shift":
        if not float(shift_stddev) > 0:
            raise ZooError(f"the shift transform needs shift_stddev > 0, got {shift_stddev}")
        return keras.Sequential(
            [layers.GaussianNoise(float(shift_stddev), seed=next(seeds))], name="transform"
        )
    if resolution < 8:
        raise ZooError(f"the {kind} transform needs images; got resolution {resolution}")
    rotation = scale * ROTATION
    if kind == "digits":
        shift = scale * 4.0 / resolution
        steps = [
            layers.RandomTranslation(
                shift, shift, fill_mode="constant", interpolation=shift_interpolation, seed=next(seeds)
            ),
            layers.RandomRotation(rotation, fill_mode="constant", seed=next(seeds)),
        ]
    else:
        if channels != 3:
            raise ZooError(f"the photos transform jitters hue and needs 3 channels, got {channels}")
        shift = scale * 20.0 / 128.0
        steps = [
            layers.RandomTranslation(
                shift, shift, fill_mode="reflect", interpolation=shift_interpolation, seed=next(seeds)
            ),
            layers.RandomRotation(rotation, fill_mode="reflect", seed=next(seeds)),
            layers.RandomFlip("horizontal", seed=next(seeds)),
            layers.RandomBrightness(scale * 0.1, value_range=(0.0, 1.0), seed=next(seeds)),
            layers.RandomContrast(scale * 0.1, value_range=(0.0, 1.0), seed=next(seeds)),
            layers.RandomHue(scale * 0.05, value_range=(0.0, 1.0), seed=next(seeds)),
        ]
    return keras.Sequential([keras.Input((resolution, resolution, channels)), *steps], name="transform")
