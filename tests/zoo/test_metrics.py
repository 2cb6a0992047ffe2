"""Metrics of an encoder/generator pair, and the latent-norm histogram."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from zoo.metrics import encoder_report, latent_norm_ratios, psnr
from zoo.visualize import save_histograms


def test_psnr_golden():
    x = np.zeros((2, 2, 2, 1))
    y = x.copy()
    y[0] += 0.1  # MSE 0.01 -> 20 dB
    y[1, 0, 0, 0] = 0.5  # MSE 0.25 / 4 -> 10 log10(16) dB
    assert psnr(x, y) == pytest.approx([20.0, 10 * np.log10(16.0)], rel=1e-9)


def test_latent_norm_ratios_golden_and_prior_scale():
    assert latent_norm_ratios(np.array([[3.0, 4.0, 0.0, 0.0]])) == pytest.approx([2.5])
    z = np.random.default_rng(0).standard_normal((20_000, 64))
    r = latent_norm_ratios(z)
    assert r.mean() == pytest.approx(1.0, abs=0.01) and r.std() == pytest.approx(1 / np.sqrt(128), rel=0.03)


class _Scaled:
    """A stand-in pair: E(x) = 2 * (first d pixels), G(z) = zeros; known norms."""

    latent_dim = 4

    def encoder(self, x, training=False):
        return 2.0 * tf.reshape(x, [tf.shape(x)[0], -1])[:, :4]

    def generator(self, z, training=False):
        return tf.zeros([tf.shape(z)[0], 2, 2, 1])

    def prior_samples(self, n, rng):
        return rng.standard_normal((n, self.latent_dim)).astype(np.float32)


def test_encoder_report_latent_norms():
    x = np.full((6, 2, 2, 1), 0.5, np.float32)  # E(x) = (1, 1, 1, 1): ||.|| / 2 = 1
    report = encoder_report(_Scaled(), x, seed=0)
    assert report["latent_norm_ratio"] == {"mean": pytest.approx(1.0), "std": pytest.approx(0.0, abs=1e-12)}
    assert report["reconstruction_mse"] == pytest.approx(0.25)
    assert set(report["prior_norm_ratio"]) == {"mean", "std"}


def test_histogram_png(tmp_path):
    rng = np.random.default_rng(0)
    path = save_histograms({"a": rng.normal(1, 0.1, 500), "b": rng.normal(2, 0.1, 500)}, tmp_path / "h.png")
    img = np.asarray(Image.open(path).convert("RGB"))
    assert img.shape == (260, 480, 3)
    # Two separated modes: the left and right halves of the plot both have coloured bars.
    coloured = np.any(img < 200, axis=2)[40:220]
    assert coloured[:, 20:240].any() and coloured[:, 240:460].any()


def test_psnr_tf_equals_psnr():
    from zoo.metrics import psnr, psnr_tf

    rng = np.random.default_rng(0)
    x, y = rng.uniform(size=(5, 4, 4, 1)), rng.uniform(size=(5, 4, 4, 1))
    y[0] = x[0] + 0.1  # MSE 0.01 -> exactly 20 dB
    got = psnr_tf(x.astype(np.float32), y.astype(np.float32)).numpy()
    np.testing.assert_allclose(got, psnr(x, y), rtol=1e-5)
    assert got[0] == pytest.approx(20.0, rel=1e-5)
