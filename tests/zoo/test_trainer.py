"""The trainer's gradient penalty inside real models: penalised objective - plain objective
equals weight * E[(||grad D(x_hat)|| - 1)^2], recomputed here without the zoo's penalty
code, with the mixing weights fixed, for an image critic and the joint (x, z) critic."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import TINY

from zoo.models import GAN, IGEGAN, WGANGP, BiGAN

ALPHA = np.linspace(0.05, 0.95, 16).astype(np.float32)  # one mixing weight per example


def snapshot(model):
    return [(v, v.numpy()) for net in model.networks().values() for v in net.variables]


def restore(saved):
    for v, value in saved:
        v.assign(value)


def penalty_by_hand(critic, real: list, fake: list, weight: float) -> float:
    """weight * mean over examples of (||d critic / d (x_hat, z_hat)|| - 1)^2, with
    x_hat = a x + (1 - a) x' and the same a for every input of an example."""
    a = [tf.reshape(tf.constant(ALPHA), [-1] + [1] * (len(r.shape) - 1)) for r in real]
    mixed = [ai * r + (1 - ai) * f for ai, r, f in zip(a, real, fake)]
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        out = tf.reduce_sum(critic(mixed[0] if len(mixed) == 1 else mixed))
    grads = tape.gradient(out, mixed)
    squares = sum(np.square(g.numpy()).reshape(len(ALPHA), -1).sum(axis=1) for g in grads)
    return weight * float(np.mean((np.sqrt(squares) - 1.0) ** 2))


def image_case(model, x, z):
    fake = model.generator(z, training=True)
    critic = lambda t: model.discriminator(t, training=True)  # noqa: E731
    return critic, [x], [fake]


def joint_case(model, x, z):
    real, fake = [x, model.encoder(x, training=True)], [model.generator(z, training=True), z]
    critic = lambda pair: model.discriminator(pair, training=True)[:, :1]  # noqa: E731
    return critic, real, fake


def inversion_case(model, x, z):
    """IGE-GAN z_adv's D2: true (G(z), z) against inverted (G(z), E(G(z)))."""
    fake = model.generator(z, training=True)
    real, inverted = [fake, z], [fake, model.encoder(fake, training=True)]
    critic = lambda pair: model.inversion_discriminator(pair, training=True)  # noqa: E731
    return critic, real, inverted


@pytest.mark.parametrize(
    "cls,kw,objective,case,weight",
    [
        (WGANGP, {}, "discriminator_objective", image_case, 10.0),
        (GAN, {}, "discriminator_objective", image_case, 1.0),
        (BiGAN, {}, "discriminator_objective", joint_case, 1.0),
        (IGEGAN, {"inversion": "z_adv"}, "inversion_discriminator_objective", inversion_case, 1.0),
    ],
    ids=["wgan_gp-image", "sn_gan-image", "bigan-joint", "ige_gan_z_adv-d2-joint"],
)
def test_penalty_inside_the_critic_objective_is_the_formula(
    cls, kw, objective, case, weight, tiny_images, monkeypatch
):
    keras.utils.set_random_seed(0)
    model = cls(**{**TINY, **kw, "gp_weight": weight})
    objective = getattr(model, objective)
    x, z = tf.constant(tiny_images), model.sample_latent(16)
    # The model's one mixing draw is replaced by the fixed weights above.
    monkeypatch.setattr(keras.random, "uniform", lambda shape, **kw: tf.constant(ALPHA[: int(shape[0])]))
    # Spectral norm's training calls renormalise D's kernels; after a few dozen the
    # kernels sit at their fixed point (sigma = 1), so the calls inside one objective no
    # longer change D and the loss part is the same with and without the penalty.
    for _ in range(30):
        objective(x, z)
    saved = snapshot(model)
    penalised = float(objective(x, z)["loss"])
    restore(saved)
    model.gp_weight = 0.0
    plain = float(objective(x, z)["loss"])
    restore(saved)
    critic, real, fake = case(model, x, z)
    expected = penalty_by_hand(critic, real, fake, weight)
    assert expected > 1e-2 * weight  # a penalty that is really there to be measured
    assert penalised - plain == pytest.approx(expected, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize(
    "family, betas",
    [
        ("gan", (0.5, 0.999)),
        ("bigan", (0.5, 0.999)),
        ("ige_gan", (0.5, 0.999)),
        ("alpha_gan", (0.5, 0.9)),  # seed 001 App. H
        ("age", (0.5, 0.9)),
        ("wgan_gp", (0.5, 0.9)),
        ("dcgan", (0.5, 0.9)),
    ],
)
def test_each_family_compiles_adam_with_its_papers_betas(family, betas):
    from conftest import TINY

    from zoo.models import FAMILIES

    model = FAMILIES[family](**TINY)
    model.compile()
    assert model.adam_betas == betas and model.get_config()["adam_betas"] == list(betas)
    for opt in model.optimizers.values():
        assert (opt.beta_1, opt.beta_2) == betas
    model.compile(beta_2=0.99)  # an explicit value wins
    assert {opt.beta_2 for opt in model.optimizers.values()} == {0.99}
    again = FAMILIES[family].from_config({**model.get_config(), "adam_betas": [0.0, 0.9]})
    again.compile()
    assert {(o.beta_1, o.beta_2) for o in again.optimizers.values()} == {(0.0, 0.9)}


def test_lr_ratios_scale_exactly_the_named_players_and_ive_mnist_takes_app_b():
    from zoo.errors import ZooError
    from zoo.models import IVEGAN

    model = IGEGAN(inversion="z_adv", lr_ratios={"d2": 4.0}, **TINY)
    model.compile(learning_rate=1e-4)
    rates = {n: float(keras.ops.convert_to_numpy(o.learning_rate)) for n, o in model.optimizers.items()}
    assert rates == pytest.approx({"d": 1e-4, "g": 1e-4, "d2": 4e-4, "e": 1e-4})
    assert IGEGAN.from_config(model.get_config()).lr_ratios == {"d2": 4.0}
    with pytest.raises(ZooError, match="unknown players"):
        IGEGAN(inversion="x_ae", lr_ratios={"d2": 2.0}, **TINY).compile()
    # Seed 002 App. B Table 2: G and E at 2e-4, D at 1e-4, beta_1 0.7; E ends in tanh.
    ive = IVEGAN(architecture="ive_mnist", **TINY)
    ive.compile(learning_rate=2e-4)
    rates = {n: float(keras.ops.convert_to_numpy(o.learning_rate)) for n, o in ive.optimizers.items()}
    assert rates == pytest.approx({"d": 1e-4, "e": 2e-4, "g": 2e-4})
    assert {o.beta_1 for o in ive.optimizers.values()} == {0.7}
    codes = ive.encoder(np.full((4, 28, 28, 1), 50.0, np.float32)).numpy()
    assert np.abs(codes).max() <= 1.0
    assert IVEGAN(**TINY).adam_betas == (0.5, 0.999) and IVEGAN(**TINY).lr_ratios == {}
