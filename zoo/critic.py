"""Independent Wasserstein critic (seed 001 §5, after Danihelka et al. 2017).

A fresh WGAN-GP critic, used for evaluation only, learns to tell held-out validation
images from generator samples; its estimate of the Wasserstein-1 distance on *test*
images against fresh samples, negated, is the metric (higher is better, 0 at best).
Training on validation data and reporting on test data catches both memorisation of the
training set and mode collapse.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from zoo import losses
from zoo.errors import ZooError


@dataclasses.dataclass(frozen=True)
class CriticResult:
    """Negative W-distance estimates on the validation images (what the critic trained
    on) and on the test images (the reported number); a large gap means overfitting."""

    negative_wasserstein_test: float
    negative_wasserstein_validation: float
    steps: int


def build_critic(image_shape: tuple[int, int, int], width: int = 64) -> keras.Model:
    """Conv(w, 4, 2) - Conv(2w, 4, 2) - Conv(4w, 3, 2) - Dense(1), leaky ReLU, no
    normalisation (a WGAN-GP critic must not use batch norm)."""
    layers = keras.layers
    x = keras.Input(image_shape)
    h = x
    for filters, kernel in ((width, 4), (2 * width, 4), (4 * width, 3)):
        h = layers.LeakyReLU(0.2)(layers.Conv2D(filters, kernel, 2, padding="same")(h))
    return keras.Model(x, layers.Dense(1)(layers.Flatten()(h)), name="independent_critic")


def independent_critic(
    sample_fn,
    validation_images,
    test_images,
    steps: int = 2000,
    batch_size: int = 64,
    gp_weight: float = 10.0,
    learning_rate: float = 1e-4,
    width: int = 64,
    seed: int = 0,
) -> CriticResult:
    """Train a fresh critic for ``steps`` steps (Adam, β 0.5/0.9, gradient penalty
    ``gp_weight`` as in Gulrajani et al.) on ``validation_images`` vs ``sample_fn(n)``
    (n fresh samples in [0, 1]); return the negative W-distance on ``test_images``.
    """
    val = np.asarray(validation_images, np.float32)
    test = np.asarray(test_images, np.float32)
    if val.ndim != 4 or test.ndim != 4 or val.shape[1:] != test.shape[1:]:
        raise ZooError(
            f"validation and test images must be [N, H, W, C] alike, got {val.shape}, {test.shape}"
        )
    if len(val) < batch_size:
        raise ZooError(f"{len(val)} validation images are fewer than the batch size {batch_size}")
    keras.utils.set_random_seed(seed)
    critic = build_critic(val.shape[1:], width)
    optimizer = keras.optimizers.Adam(learning_rate, beta_1=0.5, beta_2=0.9)
    rng = np.random.default_rng(seed)

    @tf.function
    def step(real, fake, alpha):
        with tf.GradientTape() as tape:
            mixed = alpha * real + (1.0 - alpha) * fake
            with tf.GradientTape() as inner:
                inner.watch(mixed)
                d_mixed = critic(mixed, training=True)
            penalty = losses.gradient_penalty(inner.gradient(d_mixed, mixed))
            loss = losses.wasserstein_critic_loss(critic(real, training=True), critic(fake, training=True))
            loss += gp_weight * penalty
        optimizer.apply_gradients(
            zip(tape.gradient(loss, critic.trainable_variables), critic.trainable_variables)
        )

    for _ in range(steps):
        real = val[rng.integers(0, len(val), batch_size)]
        fake = np.asarray(sample_fn(batch_size), np.float32)
        alpha = rng.uniform(size=(batch_size, 1, 1, 1)).astype(np.float32)
        step(tf.constant(real), tf.constant(fake), tf.constant(alpha))

    def scores(images):
        return np.concatenate(
            [np.asarray(critic(images[i : i + 500], training=False)) for i in range(0, len(images), 500)]
        )

    def negative_w(images):
        sizes = [min(500, len(images) - i) for i in range(0, len(images), 500)]
        fakes = np.concatenate([np.asarray(sample_fn(n), np.float32) for n in sizes])
        return float(-(scores(images).mean() - scores(fakes).mean()))

    return CriticResult(negative_w(test), negative_w(val), steps)
