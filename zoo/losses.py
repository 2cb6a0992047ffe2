"""Losses as pure functions of logits and tensors (no networks, no config).

Conventions: ``logits`` are unnormalised discriminator outputs, D(.) = sigmoid(logits).
Every loss returns a float32 scalar averaged over the batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import tensorflow as tf


def _f32(t: tf.Tensor) -> tf.Tensor:
    return tf.cast(t, tf.float32)


def ns_discriminator_loss(real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """Non-saturating GAN discriminator loss, seed 000 eq. (1):
    E_x[-log D(x)] + E_z[-log(1 - D(G(z)))], with -log sigmoid(l) = softplus(-l) and
    -log(1 - sigmoid(l)) = softplus(l) for numerical stability."""
    return tf.reduce_mean(tf.nn.softplus(-_f32(real_logits))) + tf.reduce_mean(
        tf.nn.softplus(_f32(fake_logits))
    )


def separate_scores_discriminator_loss(real_scores: tf.Tensor, fake_scores: tf.Tensor) -> tf.Tensor:
    """BigBiGAN's discriminator loss (Donahue & Simonyan 2019 §2) in the non-saturating
    form: ``ns_discriminator_loss`` of each score column k (s_x, s_z, s_xz), summed,
    sum_k E[-log sigmoid(s_k(real))] + E[-log(1 - sigmoid(s_k(fake)))]. Inputs [B, K]."""
    columns = range(real_scores.shape[-1])
    return tf.add_n([ns_discriminator_loss(real_scores[:, k], fake_scores[:, k]) for k in columns])


def ns_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """Non-saturating generator loss, seed 000 eq. (1): E_z[-log D(G(z))]."""
    return tf.reduce_mean(tf.nn.softplus(-_f32(fake_logits)))


def gradient_penalty(gradients: tf.Tensor | Sequence[tf.Tensor]) -> tf.Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017, eq. 3), unweighted: E[(||grad||_2 - 1)^2].

    ``gradients`` are dD/dx_hat at the interpolates, one tensor per critic input (a joint
    critic D(x, z) passes two); the norm is taken per example over all of them.
    """
    if isinstance(gradients, tf.Tensor):
        gradients = [gradients]
    squares = [tf.reduce_sum(tf.reshape(tf.square(_f32(g)), [tf.shape(g)[0], -1]), axis=1) for g in gradients]
    norms = tf.sqrt(tf.add_n(squares) + 1e-12)
    return tf.reduce_mean(tf.square(norms - 1.0))


def l2_distance(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """E[l2(a, b)] with l2 the Euclidean distance per example (seed 000 eq. 5-6).

    The square root's gradient is undefined at 0; the sum of squares is floored at 1e-12
    so the gradient stays finite when a reconstruction is exact.
    """
    a, b = _f32(a), _f32(b)
    squares = tf.reduce_sum(tf.reshape(tf.square(a - b), [tf.shape(a)[0], -1]), axis=1)
    return tf.reduce_mean(tf.sqrt(tf.maximum(squares, 1e-12)))


def x_ae_loss(fake_images: tf.Tensor, reconstructed_fakes: tf.Tensor) -> tf.Tensor:
    """X auto-encoder inversion loss, seed 000 eq. (6): E_z l2(G(z), G(E(G(z))))."""
    return l2_distance(fake_images, reconstructed_fakes)


def z_ae_loss(z: tf.Tensor, recovered_z: tf.Tensor) -> tf.Tensor:
    """Z auto-encoder inversion loss, seed 000 eq. (5): E_z l2(z, E(G(z)))."""
    return l2_distance(z, recovered_z)


def adversarial_inversion_discriminator_loss(
    true_pair_logits: tf.Tensor, inverted_pair_logits: tf.Tensor
) -> tf.Tensor:
    """D2's loss for the adversarial Z / X losses (seed 000 §3.1, non-saturating form).

    Z-adversarial: true pairs (G(z), z), inverted pairs (G(z), E(G(z))).
    X-adversarial: true pairs (z, G(z)), inverted pairs (z, G(E(G(z)))).
    E[-log D2(true)] - E[log(1 - D2(inverted))].
    """
    return ns_discriminator_loss(true_pair_logits, inverted_pair_logits)


def adversarial_inversion_encoder_loss(inverted_pair_logits: tf.Tensor) -> tf.Tensor:
    """E's loss for the adversarial Z / X losses (seed 000 §3.1): E[-log D2(inverted)]."""
    return ns_generator_loss(inverted_pair_logits)


def latent_recovery_error(z: tf.Tensor, recovered_z: tf.Tensor) -> tf.Tensor:
    """Monitoring metric E ||z - E(G(z))||^2 / d_z (not a training loss)."""
    z, recovered_z = _f32(z), _f32(recovered_z)
    return tf.reduce_mean(tf.reduce_mean(tf.square(z - recovered_z), axis=-1))


def bigan_encoder_loss(real_pair_logits: tf.Tensor) -> tf.Tensor:
    """BiGAN encoder loss, the "inverse" objective of Donahue et al. 2017 App. B (seed 000
    A.2, BiGAN): E_x[-log(1 - D(x, E(x)))] = E[softplus(l)]."""
    return tf.reduce_mean(tf.nn.softplus(_f32(real_pair_logits)))


def bigan_generator_loss(fake_pair_logits: tf.Tensor) -> tf.Tensor:
    """BiGAN generator loss, same objective: E_z[-log D(G(z), z)] = E[softplus(-l)]."""
    return ns_generator_loss(fake_pair_logits)


def cycle_loss(x: tf.Tensor, reconstruction: tf.Tensor) -> tf.Tensor:
    """MDGAN cycle loss, seed 004 eq. (2) with d = MSE (App. B, eq. 8):
    E_x[mean over pixels of (G(E(x)) - x)^2]."""
    return tf.reduce_mean(tf.square(_f32(reconstruction) - _f32(x)))


def latent_norm_loss(codes: tf.Tensor) -> tf.Tensor:
    """P-MDGAN latent-norm regulariser, seed 004 eq. (5): E_x[(||E(x)||_2 - sqrt(d_z))^2]."""
    codes = _f32(codes)
    dim = tf.cast(tf.shape(codes)[-1], tf.float32)
    return tf.reduce_mean(tf.square(tf.norm(codes, axis=-1) - tf.sqrt(dim)))


def wasserstein_critic_loss(real_scores: tf.Tensor, fake_scores: tf.Tensor) -> tf.Tensor:
    """WGAN critic loss (Arjovsky et al. 2017; Gulrajani et al. 2017, eq. 3 without the
    penalty): E_z[D(G(z))] - E_x[D(x)], minimised by the critic. ``scores`` are raw
    critic outputs."""
    return tf.reduce_mean(_f32(fake_scores)) - tf.reduce_mean(_f32(real_scores))


def wasserstein_generator_loss(fake_scores: tf.Tensor) -> tf.Tensor:
    """WGAN generator loss: -E_z[D(G(z))]."""
    return -tf.reduce_mean(_f32(fake_scores))


def gaussian_kl(mean: tf.Tensor, log_variance: tf.Tensor) -> tf.Tensor:
    """KL[N(mean, diag(exp(log_variance))) || N(0, I)] per example, summed over the
    latent dimensions: 0.5 * sum(mean^2 + var - log var - 1) (Kingma & Welling 2014, App. B)."""
    mean, log_variance = _f32(mean), _f32(log_variance)
    return 0.5 * tf.reduce_sum(tf.square(mean) + tf.exp(log_variance) - log_variance - 1.0, axis=-1)


def gaussian_nll(x: tf.Tensor, reconstruction: tf.Tensor, log_sigma: tf.Tensor) -> tf.Tensor:
    """-log N(x; G(z), σ² I) per example without the constant (d/2) log 2π:
    ||x - G(z)||² / (2σ²) + d log σ, d = the number of values in one example (seed 000
    App. A.2's decoder term with a learned σ; see ``zoo.models.vae``)."""
    x, reconstruction, log_sigma = _f32(x), _f32(reconstruction), _f32(log_sigma)
    squares = tf.reduce_sum(tf.reshape(tf.square(x - reconstruction), [tf.shape(x)[0], -1]), axis=1)
    d = tf.cast(tf.reduce_prod(tf.shape(x)[1:]), tf.float32)
    return squares / (2.0 * tf.exp(2.0 * log_sigma)) + d * log_sigma


def mixture_log_likelihood(
    z: tf.Tensor, logits: tf.Tensor, means: tf.Tensor, scale_tril: tf.Tensor
) -> tf.Tensor:
    """log Σ_k π_k N(z; μ_k, L_k L_kᵀ) per example, with π = softmax(``logits``) [K],
    μ = ``means`` [K, d] and L = ``scale_tril`` [K, d, d] lower triangular with a positive
    diagonal: log N = -½‖L_k⁻¹(z - μ_k)‖² - Σ_i log L_k,ii - (d/2) log 2π."""
    z, means, scale_tril = _f32(z), _f32(means), _f32(scale_tril)
    diff = tf.transpose(z[None] - means[:, None], [0, 2, 1])  # [K, d, B]
    whitened = tf.linalg.triangular_solve(scale_tril, diff, lower=True)  # L_k⁻¹(z - μ_k)
    log_det = tf.reduce_sum(tf.math.log(tf.linalg.diag_part(scale_tril)), axis=-1)  # [K]
    d = tf.cast(tf.shape(z)[-1], tf.float32)
    per_component = -0.5 * tf.reduce_sum(tf.square(whitened), axis=1) - log_det[:, None]  # [K, B]
    per_component -= 0.5 * d * tf.math.log(2.0 * math.pi)
    return tf.reduce_logsumexp(per_component + tf.nn.log_softmax(_f32(logits))[:, None], axis=0)


def l1_reconstruction(x: tf.Tensor, reconstruction: tf.Tensor) -> tf.Tensor:
    """E_x ||x - x̂||₁ with the norm averaged over the values of one example (mean absolute
    error), so the weights of seed 001 H.1 ({1, 5, 10, 50}) do not scale with image size."""
    return tf.reduce_mean(tf.abs(_f32(x) - _f32(reconstruction)))


def ratio_generator_loss(logits: tf.Tensor) -> tf.Tensor:
    """E[R_D(x̂)] with R_D = -log D + log(1 - D) = -logit (seed 001 Algorithm 1, line 3; the
    non-saturating "reverse KL" generator term of eq. 9)."""
    return -tf.reduce_mean(_f32(logits))


def empirical_gaussian_kl(codes: tf.Tensor) -> tf.Tensor:
    """KL between N(m, diag s²), fitted per dimension to a batch of codes [B, n], and
    N(0, I), divided by n (seed 001 App. D, eq. 18): (1/n) Σ_i ((s_i² + m_i²)/2 - log s_i - 1/2).
    Eq. 18 prints the constant as +n/2; the exact KL has -n/2, which is used here (the
    constant does not change any gradient)."""
    codes = _f32(codes)
    mean, var = tf.nn.moments(codes, axes=[0])
    kl = 0.5 * (var + tf.square(mean)) - 0.5 * tf.math.log(var + 1e-8) - 0.5
    return tf.reduce_mean(kl)


def alpha_discriminator_loss(real_logits, reconstruction_logits, fake_logits) -> tf.Tensor:
    """α-GAN's data discriminator loss (seed 001 Algorithm 1, eq. 15): data real, both the
    reconstructions G(E(x)) and the samples G(z) fake:
    E[-log D(x)] + E[-log(1 - D(x̂))] + E[-log(1 - D(G(z)))]."""
    return (
        tf.reduce_mean(tf.nn.softplus(-_f32(real_logits)))
        + tf.reduce_mean(tf.nn.softplus(_f32(reconstruction_logits)))
        + tf.reduce_mean(tf.nn.softplus(_f32(fake_logits)))
    )


def cosine_distance(z: tf.Tensor, recovered_z: tf.Tensor) -> tf.Tensor:
    """Mean over the batch of 1 - cos(z_i, ẑ_i): AGE's code reconstruction loss (Ulyanov
    et al. 2018; seed 001 H.2: "the cosine distance for the code reconstruction loss")."""
    z, recovered_z = tf.math.l2_normalize(_f32(z), axis=1), tf.math.l2_normalize(_f32(recovered_z), axis=1)
    return tf.reduce_mean(1.0 - tf.reduce_sum(z * recovered_z, axis=1))
