"""Golden-value tests: each loss equals its formula on hand-computed numbers."""

import math

import numpy as np
import pytest
import tensorflow as tf

from zoo import losses


def sp(x):  # softplus, the stable -log sigmoid(-x)
    return math.log1p(math.exp(x))


def test_ns_discriminator_loss_golden():
    real, fake = tf.constant([[0.0], [2.0]]), tf.constant([[0.0], [-1.0]])
    # E[-log D(x)] + E[-log(1 - D(G(z)))] with D = sigmoid(logit)
    expected = (sp(0.0) + sp(-2.0)) / 2 + (sp(0.0) + sp(-1.0)) / 2
    assert float(losses.ns_discriminator_loss(real, fake)) == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(0.9132418, rel=1e-6)


def test_ns_discriminator_loss_equals_log_form():
    real, fake = np.array([0.3, -1.2, 4.0]), np.array([2.0, -0.7, 0.1])
    sig = lambda t: 1 / (1 + np.exp(-t))  # noqa: E731
    expected = np.mean(-np.log(sig(real))) + np.mean(-np.log(1 - sig(fake)))
    assert float(losses.ns_discriminator_loss(real, fake)) == pytest.approx(expected, rel=1e-5)


def test_ns_discriminator_loss_is_stable_for_large_logits():
    value = float(losses.ns_discriminator_loss(tf.constant([200.0]), tf.constant([-200.0])))
    assert value == pytest.approx(0.0, abs=1e-6)
    value = float(losses.ns_discriminator_loss(tf.constant([-200.0]), tf.constant([200.0])))
    assert value == pytest.approx(400.0, rel=1e-6)


def test_separate_scores_discriminator_loss_golden():
    # columns s_x, s_z, s_xz of two real and two fake pairs: each column's ns loss, summed
    real = tf.constant([[0.0, 1.0, -2.0], [2.0, 0.5, 0.0]])
    fake = tf.constant([[0.0, -1.0, 3.0], [-1.0, 0.0, 1.0]])
    s_x = (sp(0.0) + sp(-2.0)) / 2 + (sp(0.0) + sp(-1.0)) / 2
    s_z = (sp(-1.0) + sp(-0.5)) / 2 + (sp(-1.0) + sp(0.0)) / 2
    s_xz = (sp(2.0) + sp(0.0)) / 2 + (sp(3.0) + sp(1.0)) / 2
    got = float(losses.separate_scores_discriminator_loss(real, fake))
    assert got == pytest.approx(s_x + s_z + s_xz, rel=1e-6)
    assert s_x + s_z + s_xz == pytest.approx(5.4010779, rel=1e-6)
    # one score column: the one-logit loss
    one = losses.separate_scores_discriminator_loss(real[:, :1], fake[:, :1])
    assert float(one) == pytest.approx(
        float(losses.ns_discriminator_loss(real[:, :1], fake[:, :1])), rel=1e-6
    )


def test_ns_generator_loss_golden():
    fake = tf.constant([[0.5], [-3.0]])
    expected = (sp(-0.5) + sp(3.0)) / 2  # E[-log D(G(z))]
    assert float(losses.ns_generator_loss(fake)) == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(1.7613322, rel=1e-6)


def test_gradient_penalty_golden():
    grads = tf.constant([[3.0, 4.0], [0.6, 0.8]])  # norms 5 and 1
    assert float(losses.gradient_penalty(grads)) == pytest.approx(((5 - 1) ** 2 + 0) / 2, rel=1e-6)


def test_gradient_penalty_joins_joint_inputs_per_example():
    # A joint critic's gradient w.r.t. (x, z): the norm is over both, per example.
    gx = tf.constant([[[[3.0]]], [[[0.0]]]])  # [B, 1, 1, 1]
    gz = tf.constant([[4.0], [2.0]])  # [B, 1]
    assert float(losses.gradient_penalty([gx, gz])) == pytest.approx((16.0 + 1.0) / 2, rel=1e-6)


def test_l2_distance_is_euclidean_distance_per_example():
    a = tf.constant([[0.0, 0.0], [1.0, 1.0]])
    b = tf.constant([[3.0, 4.0], [1.0, 1.0]])
    assert float(losses.l2_distance(a, b)) == pytest.approx((5.0 + 0.0) / 2, abs=1e-5)


def test_l2_distance_gradient_finite_at_zero():
    a = tf.Variable([[1.0, 2.0]])
    with tf.GradientTape() as tape:
        loss = losses.l2_distance(a, tf.constant([[1.0, 2.0]]))
    assert np.all(np.isfinite(tape.gradient(loss, a).numpy()))


def test_x_ae_loss_golden_on_images():
    x = np.zeros((2, 2, 2, 1), np.float32)
    y = x.copy()
    y[0] += 0.5  # 4 pixels off by 0.5: distance sqrt(4 * 0.25) = 1
    y[1, 0, 0, 0] = 3.0  # distance 3
    assert float(losses.x_ae_loss(x, y)) == pytest.approx(2.0, rel=1e-6)


def test_z_ae_loss_golden():
    z = tf.constant([[1.0, 2.0, 2.0], [0.0, 0.0, 0.0]])
    z_hat = tf.constant([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # distances 3 and 1
    assert float(losses.z_ae_loss(z, z_hat)) == pytest.approx(2.0, rel=1e-6)


def test_adversarial_inversion_losses_golden():
    true_pairs, inverted = tf.constant([1.0, -1.0]), tf.constant([0.0, 2.0])
    d2 = (sp(-1.0) + sp(1.0)) / 2 + (sp(0.0) + sp(2.0)) / 2
    e = (sp(-0.0) + sp(-2.0)) / 2
    assert float(losses.adversarial_inversion_discriminator_loss(true_pairs, inverted)) == pytest.approx(
        d2, rel=1e-6
    )
    assert float(losses.adversarial_inversion_encoder_loss(inverted)) == pytest.approx(e, rel=1e-6)


def test_latent_recovery_error_golden():
    z = tf.constant([[1.0, 1.0], [0.0, 0.0]])
    z_hat = tf.constant([[1.0, 3.0], [0.0, 0.0]])  # ||.||^2 / d_z = 4/2 and 0
    assert float(losses.latent_recovery_error(z, z_hat)) == pytest.approx(1.0, rel=1e-6)


def test_bigan_encoder_and_generator_losses_golden():
    real_pair, fake_pair = np.array([0.3, -1.2, 4.0]), np.array([2.0, -0.7, 0.1])
    sig = lambda t: 1 / (1 + np.exp(-t))  # noqa: E731
    # Inverse objective (Donahue et al. App. B): E minimises -log(1 - D(x, E(x))),
    # G minimises -log D(G(z), z).
    assert float(losses.bigan_encoder_loss(real_pair)) == pytest.approx(
        np.mean(-np.log(1 - sig(real_pair))), rel=1e-5
    )
    assert float(losses.bigan_generator_loss(fake_pair)) == pytest.approx(
        np.mean(-np.log(sig(fake_pair))), rel=1e-5
    )
    assert float(losses.bigan_encoder_loss(tf.constant([0.0]))) == pytest.approx(math.log(2), rel=1e-6)


def test_cycle_loss_golden():
    x = np.zeros((2, 2, 2, 1), np.float32)
    rec = np.zeros_like(x)
    rec[0, 0, 0, 0], rec[1, 1, 1, 0] = 1.0, 0.5
    # mean over all 8 elements of the squared error: (1 + 0.25) / 8
    assert float(losses.cycle_loss(x, rec)) == pytest.approx(1.25 / 8, rel=1e-6)


def test_latent_norm_loss_golden():
    codes = np.array([[3.0, 4.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]], np.float32)  # norms 5, 2; sqrt(4) = 2
    assert float(losses.latent_norm_loss(codes)) == pytest.approx(((5 - 2) ** 2 + 0) / 2, rel=1e-6)


def test_wasserstein_losses_golden():
    real, fake = tf.constant([[1.0], [3.0]]), tf.constant([[-2.0], [0.5]])
    assert float(losses.wasserstein_critic_loss(real, fake)) == pytest.approx((-2.0 + 0.5) / 2 - 2.0)
    assert float(losses.wasserstein_generator_loss(fake)) == pytest.approx(0.75)


def test_gaussian_kl_golden_and_zero_at_the_prior():
    mean, log_var = tf.constant([[1.0, 0.0], [0.0, 0.0]]), tf.constant([[0.0, math.log(2.0)], [0.0, 0.0]])
    # 0.5 * (1 + 1 - 0 - 1) + 0.5 * (0 + 2 - log 2 - 1); the second example is the prior itself
    expected = [0.5 + 0.5 * (1.0 - math.log(2.0)), 0.0]
    assert losses.gaussian_kl(mean, log_var).numpy() == pytest.approx(expected, rel=1e-6)


def test_gaussian_nll_equals_the_normal_log_density_up_to_its_constant():
    import scipy.stats

    rng = np.random.default_rng(0)
    x, recon, log_sigma = rng.normal(size=(3, 2, 2, 1)), rng.normal(size=(3, 2, 2, 1)), -0.4
    sigma = math.exp(log_sigma)
    exact = [-scipy.stats.norm(recon[i].ravel(), sigma).logpdf(x[i].ravel()).sum() for i in range(3)]
    constant = 0.5 * 4 * math.log(2 * math.pi)
    ours = losses.gaussian_nll(tf.constant(x), tf.constant(recon), tf.constant(log_sigma)).numpy()
    assert ours + constant == pytest.approx(exact, rel=1e-5)


def test_alpha_gan_losses_golden():
    x, recon = tf.constant([[0.0, 1.0], [0.5, 0.5]]), tf.constant([[0.5, 1.0], [0.0, 0.0]])
    assert float(losses.l1_reconstruction(x, recon)) == pytest.approx((0.5 + 0 + 0.5 + 0.5) / 4)
    logits = tf.constant([[2.0], [-1.0]])
    sig = lambda t: 1 / (1 + math.exp(-t))  # noqa: E731
    # R_D = -log D + log(1 - D), averaged: the negative mean logit.
    expected = np.mean([-math.log(sig(v)) + math.log(1 - sig(v)) for v in (2.0, -1.0)])
    assert float(losses.ratio_generator_loss(logits)) == pytest.approx(expected, rel=1e-6)


def test_empirical_gaussian_kl_golden_and_zero_for_standard_codes():
    codes = tf.constant([[1.0, 0.0], [3.0, 0.0], [1.0, 2.0], [3.0, 2.0]])  # m = (2, 1), s² = (1, 1)
    expected = np.mean([0.5 * (1 + 4) - 0 - 0.5, 0.5 * (1 + 1) - 0 - 0.5])
    assert float(losses.empirical_gaussian_kl(codes)) == pytest.approx(expected, rel=1e-5)
    standard = np.random.default_rng(0).standard_normal((20000, 4)).astype(np.float32)
    assert float(losses.empirical_gaussian_kl(standard)) == pytest.approx(0.0, abs=2e-3)


def test_alpha_discriminator_loss_golden():
    real, recon, fake = tf.constant([[1.0]]), tf.constant([[0.0]]), tf.constant([[-2.0]])
    expected = sp(-1.0) + sp(0.0) + sp(-2.0)  # -log D(x) - log(1 - D(x̂)) - log(1 - D(G(z)))
    assert float(losses.alpha_discriminator_loss(real, recon, fake)) == pytest.approx(expected, rel=1e-6)


def test_mixture_log_likelihood_golden_against_scipy():
    from scipy.special import logsumexp
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(0)
    k, d = 3, 4
    means = rng.normal(size=(k, d))
    tril = np.tril(rng.normal(size=(k, d, d)) * 0.3, -1) + np.stack(
        [np.diag(rng.uniform(0.5, 2, d)) for _ in range(k)]
    )
    logits = np.array([0.2, -1.0, 0.7])
    z = rng.normal(size=(5, d))
    log_w = logits - logsumexp(logits)
    per_component = np.stack(
        [multivariate_normal(means[i], tril[i] @ tril[i].T).logpdf(z) + log_w[i] for i in range(k)]
    )
    expected = logsumexp(per_component, axis=0)
    got = losses.mixture_log_likelihood(
        tf.constant(z, tf.float32),
        tf.constant(logits, tf.float32),
        tf.constant(means, tf.float32),
        tf.constant(tril, tf.float32),
    )
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4)
    # one component with L = I, μ = 0: the standard normal log density
    one = losses.mixture_log_likelihood(
        tf.constant(z, tf.float32), tf.zeros([1]), tf.zeros([1, d]), tf.eye(d)[None]
    )
    np.testing.assert_allclose(one.numpy(), multivariate_normal(np.zeros(d), np.eye(d)).logpdf(z), rtol=1e-5)
