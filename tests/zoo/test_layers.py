"""zoo.layers.SpectralNorm: Miyato et al.'s reparameterised spectral norm."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.layers import SpectralNorm


def top_singular_value(kernel) -> float:
    w = np.asarray(kernel, np.float64)
    return float(np.linalg.svd(w.reshape(-1, w.shape[-1]), compute_uv=False)[0])


@pytest.fixture(params=["dense", "conv"])
def wrapped(request):
    keras.utils.set_random_seed(0)
    if request.param == "dense":
        layer, x = SpectralNorm(keras.layers.Dense(7)), np.random.default_rng(0).normal(size=(5, 11))
    else:
        layer, x = (
            SpectralNorm(keras.layers.Conv2D(6, 3, padding="same")),
            np.random.default_rng(0).normal(size=(2, 5, 5, 3)),
        )
    x = tf.constant(x, tf.float32)
    layer(x)  # build
    # Scale the kernel so its spectral norm is far from 1 (3.0 for the initial draw).
    kernel = layer.layer.kernel
    kernel.assign(kernel * (3.0 / top_singular_value(kernel)))
    return layer, x


def test_training_calls_normalise_the_effective_kernel_and_leave_the_stored_one(wrapped):
    layer, x = wrapped
    stored = layer.layer.kernel.numpy().copy()
    for _ in range(30):
        layer(x, training=True)
    np.testing.assert_array_equal(layer.layer.kernel.numpy(), stored)  # W is only the optimiser's
    sigma = float(layer.sigma())
    assert sigma == pytest.approx(3.0, rel=1e-3)  # the power iteration found σ(W)
    assert top_singular_value(stored / sigma) == pytest.approx(1.0, rel=1e-3)
    # The output is the wrapped layer's with kernel W / σ.
    plain = type(layer.layer).from_config(layer.layer.get_config())
    plain.build(x.shape)
    plain.set_weights([stored / sigma, layer.layer.bias.numpy()])
    np.testing.assert_allclose(layer(x).numpy(), plain(x).numpy(), rtol=1e-5, atol=1e-6)


def test_inference_calls_mutate_nothing(wrapped):
    layer, x = wrapped
    before = [w.numpy().copy() for w in layer.weights]
    first = layer(x, training=False).numpy()
    second = layer(x, training=False).numpy()
    for b, w in zip(before, layer.weights):
        np.testing.assert_array_equal(w.numpy(), b)
    np.testing.assert_array_equal(first, second)


def test_the_gradient_flows_through_sigma_and_matches_finite_differences(wrapped):
    layer, x = wrapped
    for _ in range(30):
        layer(x, training=True)  # u converged; inference calls keep it fixed below
    weights = np.random.default_rng(1).normal(size=layer(x).shape).astype(np.float32)
    kernel = layer.layer.kernel

    def loss():
        return tf.reduce_sum(layer(x, training=False) * weights)

    with tf.GradientTape() as tape:
        value = loss()
    grad = tape.gradient(value, kernel.value).numpy()
    # Central differences in float64 of the same function on a few entries of W.
    w0 = kernel.numpy().astype(np.float64)
    flat = np.random.default_rng(2).choice(w0.size, 6, replace=False)
    eps = 1e-3
    for i in flat:
        idx = np.unravel_index(i, w0.shape)
        values = []
        for sign in (1, -1):
            w = w0.copy()
            w[idx] += sign * eps
            kernel.assign(w.astype(np.float32))
            values.append(float(loss()))
        kernel.assign(w0.astype(np.float32))
        assert grad[idx] == pytest.approx((values[0] - values[1]) / (2 * eps), rel=2e-2, abs=2e-3)
    # Without σ's own gradient (W / const) the gradient would be visibly different.
    sigma = float(layer.sigma())
    with tf.GradientTape() as tape:
        if isinstance(layer.layer, keras.layers.Dense):
            out = tf.matmul(x, kernel / sigma) + layer.layer.bias
        else:
            out = tf.nn.conv2d(x, kernel / sigma, 1, "SAME") + layer.layer.bias
        constant_sigma = tape.gradient(tf.reduce_sum(out * weights), kernel.value).numpy()
    assert (
        np.abs(grad - constant_sigma).max()
        > 10 * np.abs(grad[np.unravel_index(flat, w0.shape)] * 0).max() + 1e-3
    )


def test_config_round_trips_and_other_layers_are_refused():
    layer = SpectralNorm(keras.layers.Dense(3), power_iterations=2)
    again = SpectralNorm.from_config(layer.get_config())
    assert again.power_iterations == 2 and isinstance(again.layer, keras.layers.Dense)
    with pytest.raises(ValueError, match="Dense or Conv2D"):
        SpectralNorm(keras.layers.Conv2DTranspose(3, 3))
