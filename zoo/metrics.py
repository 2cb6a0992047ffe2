"""Reconstruction and inversion metrics of a trained encoder/generator pair."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def psnr(x: np.ndarray, y: np.ndarray, max_value: float = 1.0) -> np.ndarray:
    """Per-example PSNR in dB, 10 log10(max^2 / MSE(x_i, y_i)) (seed 004 §4)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.shape != y.shape:
        raise ValueError(f"psnr needs equal shapes, got {x.shape} and {y.shape}")
    mse = np.mean(np.square(x - y).reshape(len(x), -1), axis=1)
    return 10.0 * np.log10(max_value**2 / np.maximum(mse, 1e-12))


def psnr_tf(x: tf.Tensor, y: tf.Tensor, max_value: float = 1.0) -> tf.Tensor:
    """``psnr`` in TensorFlow, per example [B] (float32): for use inside a train step."""
    x, y = tf.cast(x, tf.float32), tf.cast(y, tf.float32)
    mse = tf.reduce_mean(tf.reshape(tf.square(x - y), [tf.shape(x)[0], -1]), axis=1)
    return 10.0 * tf.math.log(max_value**2 / tf.maximum(mse, 1e-12)) / tf.math.log(10.0)


def batched(fn, inputs: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Apply ``fn`` to ``inputs`` in batches and concatenate the numpy outputs."""
    return np.concatenate(
        [np.asarray(fn(tf.constant(inputs[i : i + batch_size]))) for i in range(0, len(inputs), batch_size)]
    )


def latent_norm_ratios(codes: np.ndarray) -> np.ndarray:
    """||c_i|| / sqrt(d_z) per code: ~1 with std ~1/sqrt(2 d_z) for z ~ N(0, I) (seed 004
    §3, Fig. 1 compares E(x) with prior samples on this scale)."""
    codes = np.asarray(codes, np.float64)
    return np.linalg.norm(codes, axis=1) / np.sqrt(codes.shape[1])


def encoder_report(model, x_test: np.ndarray, seed: int = 0) -> dict:
    """Held-out reconstruction MSE/PSNR, the random-pair PSNR baseline and the latent
    recovery error of a model with ``encoder`` and ``generator`` (inference mode).

    The random-pair baseline is PSNR(x, G(z)) for z ~ P_Z: what an encoder that
    ignores its input would score, which real reconstructions must clearly beat.
    """
    rng = np.random.default_rng(seed)
    n = len(x_test)
    recon = batched(lambda t: model.generator(model.encoder(t, training=False), training=False), x_test)
    z = model.prior_samples(n, rng)
    fakes = batched(lambda t: model.generator(t, training=False), z)
    z_hat = batched(lambda t: model.encoder(t, training=False), fakes)
    recon_psnr = psnr(x_test, recon)
    pair_psnr = psnr(x_test, fakes)
    codes = batched(lambda t: model.encoder(t, training=False), x_test)
    enc_ratio, prior_ratio = latent_norm_ratios(codes), latent_norm_ratios(z)
    return {
        "latent_norm_ratio": {"mean": float(enc_ratio.mean()), "std": float(enc_ratio.std())},
        "prior_norm_ratio": {"mean": float(prior_ratio.mean()), "std": float(prior_ratio.std())},
        "reconstruction_mse": float(np.mean(np.square(x_test - recon))),
        "reconstruction_psnr": float(np.mean(recon_psnr)),
        "random_pair_psnr": float(np.mean(pair_psnr)),
        "latent_recovery_error": float(np.mean(np.square(z - z_hat))),
        "n_eval_images": int(n),
    }


def sample_report(model, x_test: np.ndarray, seed: int = 0) -> dict:
    """The part of ``encoder_report`` a model without an encoder has: the random-pair
    PSNR(x, G(z)) baseline on held-out images."""
    rng = np.random.default_rng(seed)
    z = model.prior_samples(len(x_test), rng)
    fakes = batched(lambda t: model.generator(t, training=False), z)
    return {"random_pair_psnr": float(np.mean(psnr(x_test, fakes))), "n_eval_images": int(len(x_test))}
