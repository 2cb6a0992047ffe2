"""α-GAN (seed 001): D sees reconstructions and samples as fake, each update moves only its
own network, E and G run twice per D/C step, and a short run improves reconstructions."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import TINY, repeat_batch

from zoo.errors import ZooError
from zoo.models import AlphaGAN


def sp(t):
    return tf.nn.softplus(t)


def weights(net):
    return [w.numpy().copy() for w in net.trainable_weights]


def moved(before, net):
    return [not np.array_equal(a, b.numpy()) for a, b in zip(before, net.trainable_weights)]


def make(**kw):
    keras.utils.set_random_seed(0)
    return AlphaGAN(**{**TINY, **kw})


# Exact formula and weight-routing checks use the MLP networks (no spectral norm, whose
# power iteration moves u on every training call) on 2-D points.
MLP = dict(resolution=1, channels=2, latent_dim=2, width=0.25, architecture="mlp")
POINTS = np.random.default_rng(0).standard_normal((16, 2)).astype(np.float32)


def test_discriminator_sees_data_real_and_both_reconstructions_and_samples_fake():
    model = make(**MLP)
    x, z = tf.constant(POINTS), model.sample_latent(16)
    d = lambda t: model.discriminator(t, training=True)  # noqa: E731
    recon = model.generator(model.encoder(x, training=True), training=True)
    fake = model.generator(z, training=True)
    expected = (
        tf.reduce_mean(sp(-d(x))) + tf.reduce_mean(sp(d(recon))) + tf.reduce_mean(sp(d(fake)))
    )  # eq. 15
    assert float(model.discriminator_objective(x, z)["loss"]) == pytest.approx(float(expected), rel=1e-5)
    codes = model.encoder(x, training=True)
    c = lambda t: model.code_discriminator(t, training=True)  # noqa: E731
    expected_c = tf.reduce_mean(sp(-c(z))) + tf.reduce_mean(sp(c(codes)))  # eq. 17
    assert float(model.code_discriminator_objective(x, z)["loss"]) == pytest.approx(
        float(expected_c), rel=1e-5
    )
    # Eq. 13: λ L1 + R_D(x̂) + R_D(G(z)) with R_D = -logit.
    l1 = float(tf.reduce_mean(tf.abs(x - recon)))
    expected_g = 10.0 * l1 - float(tf.reduce_mean(d(recon))) - float(tf.reduce_mean(d(fake)))
    assert float(model.generator_objective(x, z)["loss"]) == pytest.approx(expected_g, rel=1e-5)


def test_each_update_moves_only_its_network_and_e_g_run_twice():
    model = make(**MLP)
    model.compile(learning_rate=1e-3, run_eagerly=True)
    x, z = tf.constant(POINTS), model.sample_latent(16)
    players = {p.name: p for p in model.all_players()}
    nets = {"d": model.discriminator, "c": model.code_discriminator, "e": model.encoder, "g": model.generator}
    for name in ("d", "c", "e", "g"):
        before = {n: weights(net) for n, net in nets.items()}
        model._update(players[name], x, z)
        for other, net in nets.items():
            changed = moved(before[other], net)
            assert any(changed) if other == name else not any(changed), (name, other)
    logs = model.fit(repeat_batch(POINTS), steps_per_epoch=1, epochs=1, verbose=0).history
    assert set(logs) == {"d_loss", "c_loss", "e_loss", "g_loss", "reconstruction_l1"}
    # One explicit update each above, then one step: D, C once; E, G twice (seed 001 §6).
    iterations = {n: int(model.optimizers[n].iterations.numpy()) for n in nets}
    assert iterations == {"d": 2, "c": 2, "e": 3, "g": 3}


@pytest.mark.parametrize("prior_matching", ["code_discriminator", "empirical_kl"])
def test_short_run_on_a_fixed_batch_cuts_the_reconstruction_error(prior_matching):
    # On 2-D points with the MLPs: the same objectives as on images, at a fraction of the
    # trace time (the image networks' learning is tested with the other families).
    model = make(prior_matching=prior_matching, reconstruction_weight=50.0, **MLP)
    model.compile(learning_rate=1e-3)
    batch = POINTS
    x = tf.constant(batch)

    def l1():
        return float(
            tf.reduce_mean(tf.abs(x - model.generator(model.encoder(x, training=False), training=False)))
        )

    before = l1()
    logs = model.fit(repeat_batch(batch), steps_per_epoch=100, epochs=1, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in logs.values())
    assert l1() < before / 2, (before, l1())
    if prior_matching == "empirical_kl":
        assert model.code_discriminator is None and "empirical_kl" in logs
    assert AlphaGAN.from_config(model.get_config()).get_config() == model.get_config()


def test_bad_arguments():
    with pytest.raises(ZooError, match="prior_matching"):
        AlphaGAN(**TINY, prior_matching="mmd")
    with pytest.raises(ZooError, match="reconstruction_weight"):
        AlphaGAN(**TINY, reconstruction_weight=-1)
