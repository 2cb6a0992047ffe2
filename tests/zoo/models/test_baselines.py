"""DCGAN, WGAN-GP and VAE (seed 001 baselines, seed 000 App. A.2): they train, each update
moves the right networks, the schedules are the papers', and the VAE learns."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import TINY, one_update_each, repeat_batch

from zoo import losses
from zoo.errors import ZooError
from zoo.models import DCGAN, FAMILIES, VAE, WGANGP
from zoo.models.vae import DEFAULT_LOG_SIGMA


def weights(net):
    return [w.numpy().copy() for w in net.trainable_weights]


def moved(before, net):
    return [not np.array_equal(a, b.numpy()) for a, b in zip(before, net.trainable_weights)]


def test_dcgan_uses_batch_norm_and_updates_g_twice_per_d_update(tiny_images):
    keras.utils.set_random_seed(0)
    model = DCGAN(**TINY)
    model.compile(learning_rate=1e-3, run_eagerly=True)
    kinds = lambda net: {type(layer).__name__ for layer in net.layers}  # noqa: E731
    assert "BatchNormalization" in kinds(model.generator) and "LayerNormalization" not in kinds(
        model.generator
    )
    assert "BatchNormalization" in kinds(model.discriminator)
    assert not {"SpectralNormalization", "SpectralNorm"} & kinds(model.discriminator)
    logs = model.fit(repeat_batch(tiny_images), steps_per_epoch=2, epochs=1, verbose=0).history
    assert set(logs) == {"d_loss", "g_loss"} and all(np.isfinite(v[-1]) for v in logs.values())
    assert int(model.optimizers["g"].iterations.numpy()) == 4  # g_steps = 2 per step (seed 001 §6)
    assert int(model.optimizers["d"].iterations.numpy()) == 2
    assert DCGAN.from_config(model.get_config()).g_steps == 2


def test_dcgan_discriminator_sees_real_and_fake_batches_separately_unless_mixed(tiny_images):
    """Batch norm in D: separate calls give each half its own statistics, so the loss
    equals the formula on two calls and differs from one call on the concatenation."""
    keras.utils.set_random_seed(0)
    model = DCGAN(**TINY)
    x, z = tf.constant(tiny_images), model.sample_latent(16)
    fake = model.generator(z, training=True)
    separate = losses.ns_discriminator_loss(
        model.discriminator(x, training=True), model.discriminator(fake, training=True)
    )
    real_logits, fake_logits = tf.split(model.discriminator(tf.concat([x, fake], 0), training=True), 2)
    mixed = losses.ns_discriminator_loss(real_logits, fake_logits)
    assert abs(float(separate) - float(mixed)) > 1e-3  # the two really differ
    assert float(model.discriminator_objective(x, z)["loss"]) == pytest.approx(float(separate), rel=1e-5)
    model.discriminator_batches = "mixed"
    assert float(model.discriminator_objective(x, z)["loss"]) == pytest.approx(float(mixed), rel=1e-5)
    config = DCGAN(**TINY, discriminator_batches="mixed").get_config()
    assert config["discriminator_batches"] == "mixed" and DCGAN.from_config(config).get_config() == config
    assert DCGAN(**TINY).get_config()["discriminator_batches"] == "separate"
    with pytest.raises(ZooError, match="unknown discriminator_batches 'both'; expected separate or mixed"):
        DCGAN(**TINY, discriminator_batches="both")


def test_wgan_gp_critic_objective_is_the_formula_and_takes_five_steps(tiny_images):
    keras.utils.set_random_seed(0)
    model = WGANGP(**TINY)
    assert (model.d_steps, model.gp_weight) == (5, 10.0)
    kinds = {type(layer).__name__ for layer in model.discriminator.layers}
    assert not {"SpectralNormalization", "SpectralNorm", "BatchNormalization"} & kinds
    x, z = tf.constant(tiny_images), model.sample_latent(16)
    no_gp = WGANGP(**{**TINY, "gp_weight": 0.0})
    fake = no_gp.generator(z, training=True)
    expected = tf.reduce_mean(no_gp.discriminator(fake, training=True)) - tf.reduce_mean(
        no_gp.discriminator(x, training=True)
    )
    assert float(no_gp.discriminator_objective(x, z)["loss"]) == pytest.approx(float(expected), rel=1e-5)
    assert float(no_gp.generator_objective(x, z)["loss"]) == pytest.approx(
        float(losses.wasserstein_generator_loss(no_gp.discriminator(fake, training=True))), rel=1e-5
    )
    model.compile(learning_rate=1e-4, run_eagerly=True)
    assert model.ADAM_BETAS == (0.5, 0.9) and model.optimizers["d"].beta_2 == 0.9  # seed 001 App. H
    g0, d0 = weights(model.generator), weights(model.discriminator)
    # Gulrajani et al. Alg. 1: each of the 5 critic steps samples its own real batch. A
    # step takes 5 stacked batches; record which one each objective sees.
    assert model.batches_per_step == 5
    five = np.concatenate([tiny_images[np.roll(np.arange(16), k)] * (1 - 0.1 * k) for k in range(5)])
    seen = []
    for role in ("discriminator_objective", "generator_objective"):
        original = getattr(model, role)
        setattr(model, role, lambda x, z, f=original, r=role: seen.append((r, x.numpy())) or f(x, z))
    logs = model.fit(repeat_batch(five), steps_per_epoch=1, epochs=1, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in logs.values())
    critic_batches = [x for r, x in seen if r == "discriminator_objective"]
    assert len(critic_batches) == 5 and [r for r, _ in seen].count("generator_objective") == 1
    for k, x in enumerate(critic_batches):
        np.testing.assert_array_equal(x, five[16 * k : 16 * (k + 1)])
    assert (
        int(model.optimizers["d"].iterations.numpy()) == 5
        and int(model.optimizers["g"].iterations.numpy()) == 1
    )
    assert all(moved(g0, model.generator))
    # Every critic weight moves except the output bias: E[D(fake)] - E[D(real)] and the
    # penalty do not depend on it (its gradient cancels exactly).
    assert all(moved(d0, model.discriminator)[:-1]) and not moved(d0, model.discriminator)[-1]


def test_vae_gradients_reach_encoder_decoder_and_sigma_and_a_short_run_raises_the_elbo(tiny_images):
    keras.utils.set_random_seed(0)
    model = VAE(log_sigma_init=0.0, **TINY)  # σ starts at 1 so that it must learn downwards
    x = tf.constant(tiny_images)
    with tf.GradientTape() as tape:
        loss = model.negative_elbo(x, None)["loss"]
    grads = tape.gradient(loss, model.autoencoder.trainable_variables)
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)
    names = {v.path for v in model.autoencoder.trainable_variables}
    assert (
        any("log_sigma" in n for n in names)
        and len(model.autoencoder.trainable_variables)
        == len(model.posterior.trainable_variables) + len(model.generator.trainable_variables) + 1
    )
    # E(x) is the posterior mean: the first d_z outputs of the posterior network.
    np.testing.assert_allclose(model.encoder(x), model.posterior(x)[:, : TINY["latent_dim"]], rtol=1e-6)
    model.compile(learning_rate=3e-3)

    def mse():  # of the posterior-mean reconstruction G(E(x))
        return float(tf.reduce_mean(tf.square(model.generator(model.encoder(x), training=False) - x)))

    before, mse_before = float(model.negative_elbo(x, None)["loss"]), mse()
    logs = model.fit(repeat_batch(tiny_images), steps_per_epoch=150, epochs=1, verbose=0).history
    assert set(logs) == {"vae_loss", "kl", "reconstruction_mse", "sigma"}
    after = float(model.negative_elbo(x, None)["loss"])
    # -ELBO per example falls by far more than its starting noise (784 values per image),
    # and not by sigma alone: the reconstructions themselves get better.
    assert after < before - 100, (before, after)
    assert mse() < 0.5 * mse_before, (mse_before, mse())
    assert logs["sigma"][-1] < 1.0  # σ learned downwards as reconstructions improve
    assert VAE.from_config(model.get_config()).get_config() == model.get_config()


@pytest.mark.parametrize(
    "family", ["gan", "dcgan", "wgan_gp", "bigan", "ige_gan", "mdgan", "p_mdgan", "vae", "alpha_gan"]
)
def test_every_family_trains_on_2d_points_with_the_mlp_networks(family):
    keras.utils.set_random_seed(0)
    model = FAMILIES[family](resolution=1, channels=2, latent_dim=2, width=0.25, architecture="mlp")
    model.compile(learning_rate=1e-4, run_eagerly=True)
    x = tf.random.normal((32, 2), seed=1)
    # Every player's own step moves its network and lowers its objective on a fixed batch.
    for name, (before, after, moved) in one_update_each(model, x, model.sample_latent(32)).items():
        assert moved > 1e-6 and after < before, (name, before, after, moved)
    stacked = np.concatenate([x.numpy()] * model.batches_per_step)  # WGAN-GP: one per critic step
    logs = model.fit(repeat_batch(stacked), steps_per_epoch=2, epochs=1, verbose=0).history
    assert logs and all(np.isfinite(v[-1]) for v in logs.values())
    assert model.generator(tf.zeros((3, 2))).shape == (3, 2)
    assert FAMILIES[family].from_config(model.get_config()).architecture == "mlp"


def test_vae_log_sigma_init_changes_only_the_decoders_starting_sigma():
    keras.utils.set_random_seed(0)
    default = VAE(**TINY)
    keras.utils.set_random_seed(0)
    low = VAE(log_sigma_init=-2.0, **TINY)
    keras.utils.set_random_seed(0)
    unit = VAE(log_sigma_init=0.0, **TINY)
    differ = [
        w.path
        for w, v in zip(default.autoencoder.weights, low.autoencoder.weights)
        if not np.array_equal(w.numpy(), v.numpy())
    ]
    assert differ == ["decoder_log_sigma/log_sigma"]
    assert float(low.noise.log_sigma.numpy()) == -2.0 and float(unit.noise.log_sigma.numpy()) == 0.0
    # The default σ starts near the per-pixel error of a useful reconstruction (≈ 0.1).
    assert float(default.noise.log_sigma.numpy()) == pytest.approx(-2.3) == DEFAULT_LOG_SIGMA
    assert VAE.from_config(low.get_config()).log_sigma_init == -2.0


def test_vae_mixture_prior_samples_the_component_its_uniform_picks():
    from zoo.models.vae import MixturePrior

    layer = MixturePrior(2)
    noise, uniform = np.array([[1.0, -2.0]] * 3, np.float32), np.array([[0.1], [0.3], [0.9]], np.float32)
    layer([noise, uniform])  # builds it
    layer.logits.assign([0.0, np.log(3.0)])  # weights 1/4, 3/4: the first component below u = 0.25
    layer.means.assign([[10.0, 0.0], [0.0, -10.0]])
    layer.lower.assign([[[0.0, 0.0], [0.5, 0.0]], [[0.0, 9.0], [-1.0, 0.0]]])  # above the diagonal: ignored
    layer.log_diag.assign(np.log([[2.0, 1.0], [1.0, 3.0]]))
    # first component: L = [[2, 0], [0.5, 1]]; second: L = [[1, 0], [-1, 3]]
    expected = [[10.0 + 2.0, 0.5 - 2.0], [0.0 + 1.0, -10.0 - 1.0 - 6.0], [1.0, -17.0]]
    np.testing.assert_allclose(layer([noise, uniform]).numpy(), expected, rtol=1e-6)


def test_vae_mixture_prior_fits_after_the_elbo_phase_and_moves_only_its_own_player(tiny_images):
    keras.utils.set_random_seed(0)
    model = VAE(prior="mixture", prior_components=3, prior_start_step=3, **TINY)
    assert [model.phase_for_step(s) for s in (0, 2, 3, 9)] == ["joint", "joint", "prior", "prior"]
    assert model.lr_ratios == {"prior": 50.0} and set(model.networks()) == {"vae", "prior"}
    model.compile(learning_rate=1e-3)
    x = tf.constant(tiny_images)
    vae, prior = weights(model.autoencoder), weights(model.prior_sampler)
    model.fit(repeat_batch(tiny_images), steps_per_epoch=3, epochs=1, verbose=0)
    assert all(moved(vae, model.autoencoder)) and not any(moved(prior, model.prior_sampler))
    # The prior phase: only the mixture moves, and its negative log-likelihood of the
    # encoder's codes falls (the objective is that likelihood, checked against the loss).
    model.set_phase("prior")
    vae, prior = weights(model.autoencoder), weights(model.prior_sampler)
    codes = model.encoder(x)

    def nll():
        return -float(tf.reduce_mean(model.mixture.log_prob(codes)))

    start = nll()
    model.fit(repeat_batch(tiny_images), steps_per_epoch=40, epochs=1, verbose=0)
    assert not any(moved(vae, model.autoencoder)) and all(moved(prior, model.prior_sampler))
    assert nll() < start - 1.0, (start, nll())
    # Sampling follows the fitted mixture: the mean of many draws is Σ π_k μ_k.
    z = model.prior_samples(20_000, np.random.default_rng(0))
    pi = tf.nn.softmax(model.mixture.logits).numpy()
    np.testing.assert_allclose(z.mean(0), pi @ model.mixture.means.numpy(), atol=0.05)
    restored = VAE.from_config(model.get_config())
    assert (restored.prior, restored.prior_components, restored.prior_start_step) == ("mixture", 3, 3)
    # Seed 000 A.2's VAE has no mixture, samples N(0, I) and keeps its config keys.
    plain = VAE(**TINY)
    assert (
        plain.mixture is None
        and set(plain.networks()) == {"vae"}
        and plain.get_config()["prior"] == "gaussian"
    )
    assert "prior_start_step" not in plain.get_config()
    with pytest.raises(ZooError, match="unknown prior"):
        VAE(prior="flow", **TINY)
