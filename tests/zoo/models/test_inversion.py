"""ALICE's latent cycle critic D3 for z_adv (``cycle_critic_weight``), in both families
that take it: it adds exactly its player and its loss term, and nothing else; with
``cycle_critic_norm="spectral"`` (ALAD's D_zz) it is 1-Lipschitz."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import TINY

from zoo.errors import ZooError
from zoo.layers import SpectralNorm
from zoo.models import IGEGAN, BiGAN


def make(family: str, weight: float, **kw):
    keras.utils.set_random_seed(0)
    if family == "ige_gan":
        model = IGEGAN(inversion="z_adv", cycle_critic_weight=weight, **{**TINY, "gp_weight": 0.0, **kw})
    else:
        model = BiGAN(inversion="z_adv", cycle_critic_weight=weight, **{**TINY, **kw})
    model.compile(learning_rate=1e-3, run_eagerly=True)
    return model


def softplus(a: np.ndarray) -> np.ndarray:
    return np.log1p(np.exp(-np.abs(a))) + np.maximum(a, 0.0)


def weights(net):
    return [w.numpy().copy() for w in net.trainable_weights]


def moved(before, net) -> list[bool]:
    return [not np.array_equal(a, b.numpy()) for a, b in zip(before, net.trainable_weights)]


@pytest.mark.parametrize("family", ["ige_gan", "bigan"])
def test_cycle_critic_adds_alices_player_and_term_and_nothing_else(family, tiny_images):
    model = make(family, 0.5)
    x = tf.constant(tiny_images)
    z = model.sample_latent(16)
    d2 = model.inversion_discriminator if family == "ige_gan" else model.discriminator
    for _ in range(50):  # converge D2's power iteration: its training calls then stay put
        d2([model.generator(z, training=True), z], training=True)
    players = {p.name: p for p in model.active_players()}
    assert "d3" in players and players["d3"].critic and players["d3"].network is model.cycle_critic

    z_hat = model.encoder(model.generator(z, training=True), training=True)
    true_logits = model.cycle_critic([z, z], training=True).numpy()
    inverted_logits = model.cycle_critic([z, z_hat], training=True).numpy()
    # D3: E[-log D3(z, z)] + E[-log(1 - D3(z, E(G(z))))], i.e. softplus(-t) + softplus(i).
    expected_d3 = softplus(-true_logits).mean() + softplus(inverted_logits).mean()
    assert float(players["d3"].objective(x, z)["loss"]) == pytest.approx(expected_d3, rel=1e-5)

    # E's loss gains exactly 0.5 * E[-log D3(z, E(G(z)))] (same seed state for both calls).
    def e_loss(weight):
        model.cycle_critic_weight = weight
        state = model.seed_generator.state.numpy().copy()
        value = float(players["e"].objective(x, z)["loss"])
        model.seed_generator.state.assign(state)
        return value

    with_term, without = e_loss(0.5), e_loss(0.0)
    model.cycle_critic_weight = 0.5
    assert with_term - without == pytest.approx(0.5 * softplus(-inverted_logits).mean(), rel=1e-4, abs=1e-6)

    # D3's update moves D3 only; E's moves E only (D3's term reaches every E weight).
    others = [n for n in model.networks() if n not in ("d3", "e")]
    start = {n: weights(net) for n, net in model.networks().items()}
    model._update(players["d3"], x, z)
    assert all(moved(start["d3"], model.cycle_critic))
    assert not any(any(moved(start[n], model.networks()[n])) for n in ["e", *others])
    with tf.GradientTape() as tape:
        term = tf.reduce_mean(tf.nn.softplus(-model.cycle_critic([z, model.encoder(model.generator(z))])))
    grads = tape.gradient(term, model.encoder.trainable_weights)
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)
    d3_now = weights(model.cycle_critic)
    model._update(players["e"], x, z)
    assert all(moved(start["e"], model.encoder)) and not any(moved(d3_now, model.cycle_critic))


@pytest.mark.parametrize("family", ["ige_gan", "bigan"])
def test_weight_zero_is_the_papers_game_and_the_weight_round_trips(family):
    plain = make(family, 0.0)
    assert plain.cycle_critic is None and "d3" not in plain.networks()
    config = make(family, 2.0).get_config()
    assert config["cycle_critic_weight"] == 2.0
    clone = type(plain).from_config(config)
    assert clone.get_config() == config and clone.cycle_critic is not None


@pytest.mark.parametrize("family", ["ige_gan", "bigan"])
def test_spectral_cycle_critic_is_one_lipschitz_and_round_trips(family):
    model, plain = make(family, 1.0, cycle_critic_norm="spectral"), make(family, 1.0)

    def dense(critic) -> list:
        return [layer for layer in critic.layers if isinstance(layer, (keras.layers.Dense, SpectralNorm))]

    assert len(dense(model.cycle_critic)) == 3
    assert all(isinstance(layer, SpectralNorm) for layer in dense(model.cycle_critic))
    assert len(dense(plain.cycle_critic)) == 3
    assert not any(isinstance(layer, SpectralNorm) for layer in dense(plain.cycle_critic))

    # Kernels 10x larger (what training can do to them): after the power iterations
    # settle the normalised D3 still has |dD3/d(z, z')| <= 1 at every input; ALICE's plain
    # D3 becomes steep.
    for critic in (model.cycle_critic, plain.cycle_critic):
        for w in critic.trainable_weights:
            if "kernel" in w.path:
                w.assign(10.0 * w)
    rng = np.random.default_rng(0)
    z, z_other = (tf.constant(rng.normal(size=(64, TINY["latent_dim"])), tf.float32) for _ in range(2))
    for _ in range(30):
        model.cycle_critic([z, z_other], training=True)

    def slopes(critic) -> np.ndarray:
        with tf.GradientTape() as tape:
            tape.watch([z, z_other])
            logits = critic([z, z_other], training=False)
        gz, go = tape.gradient(logits, [z, z_other])
        return np.sqrt((gz.numpy() ** 2).sum(1) + (go.numpy() ** 2).sum(1))

    assert slopes(model.cycle_critic).max() <= 1.0 + 1e-3
    assert slopes(plain.cycle_critic).max() > 1.5

    config = model.get_config()
    assert config["cycle_critic_norm"] == "spectral" and plain.get_config()["cycle_critic_norm"] == "none"
    clone = type(model).from_config(config)
    assert clone.get_config() == config and isinstance(clone.cycle_critic.layers[-1], SpectralNorm)


def test_posthoc_trains_d3_in_the_encoder_phase_only():
    model = make("ige_gan", 1.0, encoder_schedule="posthoc", encoder_start_step=5)
    model.set_phase("gan")
    assert "d3" not in [p.name for p in model.active_players()]
    model.set_phase("encoder")
    assert [p.name for p in model.active_players()] == ["d2", "d3", "e"]


@pytest.mark.parametrize(
    "cls,kwargs,match",
    [
        (
            IGEGAN,
            {"inversion": "x_adv", "cycle_critic_weight": 1.0},
            "only to the z_adv inversion, not x_adv",
        ),
        (IGEGAN, {"inversion": "z_adv", "cycle_critic_weight": -1.0}, "cycle_critic_weight must be >= 0"),
        (BiGAN, {"inversion": None, "cycle_critic_weight": 1.0}, "only to the z_adv inversion, not None"),
        (
            BiGAN,
            {"inversion": "z_adv", "inversion_weight": 0.0, "cycle_critic_weight": 1.0},
            "needs inversion_weight > 0",
        ),
        (
            IGEGAN,
            {"inversion": "z_adv", "cycle_critic_weight": 1.0, "cycle_critic_norm": "batch"},
            "unknown cycle_critic_norm 'batch'; expected one of none, spectral",
        ),
    ],
)
def test_bad_cycle_critic_arguments(cls, kwargs, match):
    with pytest.raises(ZooError, match=match):
        cls(**{**TINY, **kwargs})
