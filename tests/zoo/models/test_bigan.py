"""BiGAN, BiGAN + inversion loss, MDGAN, P-MDGAN, MLeq and EP-MDGAN: they train, route
gradients as the papers say, reduce to BiGAN at zero weights, P-MDGAN's λ_norm rule is as
documented, and EP-MDGAN's score table holds each example's latest PSNR."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import TINY, repeat_batch

from zoo.errors import ZooError
from zoo.metrics import psnr
from zoo.models import EPMDGAN, MDGAN, PMDGAN, BiGAN, MLeqPMDGAN
from zoo.models.bigan import prior_norm_std
from zoo.models.inversion import INVERSIONS

VARIANTS = {
    "bigan": (BiGAN, {}),
    "bigan_separate_scores": (BiGAN, {"joint_scores": "separate"}),
    **{f"bigan_{i}": (BiGAN, {"inversion": i, "inversion_weight": 1.0}) for i in INVERSIONS},
    "mdgan": (MDGAN, {}),
    "p_mdgan": (PMDGAN, {"norm_hold_steps": 1, "norm_update_every": 1}),
    "p_mdgan_mleq": (MLeqPMDGAN, {"num_examples": 16, "norm_hold_steps": 1}),
    "ep_mdgan": (EPMDGAN, {"num_examples": 16, "norm_hold_steps": 1}),
}


def batches(model, images):
    """The fixed batch forever; with its indices 0..B-1 for models that sample by score."""
    if getattr(model, "sampler", None) is None:
        return repeat_batch(images)
    idx = tf.range(len(images), dtype=tf.int64)
    return tf.data.Dataset.from_tensors((tf.constant(images), idx)).repeat()


def make(cls, seed=0, eager=False, **kw):
    """A tiny model; ``eager`` skips tracing for tests of a step or two (traced
    ``train_step``s are covered by the longer runs below and by the IGE-GAN tests)."""
    keras.utils.set_random_seed(seed)  # identical initial weights for identical configs
    model = cls(**{**TINY, **kw})
    model.compile(learning_rate=1e-3, run_eagerly=eager)
    return model


def weights(net):
    return [w.numpy().copy() for w in net.trainable_weights]


def changed(before, net):
    return [not np.array_equal(a, b.numpy()) for a, b in zip(before, net.trainable_weights)]


def moved_beyond_rescaling(before: np.ndarray, after: np.ndarray) -> bool:
    """True if ``after`` is not ``before`` times a scalar. Spectral normalisation rewrites
    D's kernels as W / sigma on every training-mode call, also inside G's and E's
    objectives; a gradient step is never such a uniform rescaling."""
    scale = float(np.vdot(after, before) / max(np.vdot(before, before), 1e-30))
    return not np.allclose(after, scale * before, rtol=0, atol=1e-6 * max(np.abs(after).max(), 1e-12))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_variant_trains_and_each_update_moves_only_its_network(variant, tiny_images):
    cls, kw = VARIANTS[variant]
    model = make(cls, eager=True, **kw)
    nets = {"d": model.discriminator, "g": model.generator, "e": model.encoder}
    before = {k: weights(n) for k, n in nets.items()}
    logs = model.fit(batches(model, tiny_images), steps_per_epoch=2, epochs=1, verbose=0).history
    last = {k: v[-1] for k, v in logs.items()}
    assert all(math.isfinite(v) for v in last.values()), last
    expected = {"d_loss", "g_loss", "e_loss", "latent_recovery"}
    expected |= {"inversion_loss"} if "inversion" in kw else set()
    expected |= {"d2_loss"} if kw.get("inversion", "").endswith("_adv") else set()
    expected |= {"cycle_loss"} if issubclass(cls, MDGAN) else set()
    expected |= {"norm_loss", "norm_weight", "latent_norm_ratio"} if issubclass(cls, PMDGAN) else set()
    expected |= {"batch_psnr"} if cls is EPMDGAN else set()
    assert set(last) == expected
    for name, net in nets.items():
        assert any(changed(before[name], net)), name
    # One update of each player moves that player's network and no other.
    x, z = tf.constant(tiny_images), model.sample_latent(16)
    for player in model.all_players():
        before = {k: weights(n) for k, n in nets.items()}
        model._update(player, x, z)
        for other, net in nets.items():
            moved = [
                moved_beyond_rescaling(a, b.numpy()) for a, b in zip(before[other], net.trainable_weights)
            ]
            assert any(moved) if other == player.name else not any(moved), (player.name, other)


def test_gradient_penalty_and_critic_steps_on_the_two_headed_critic(tiny_images):
    model = make(BiGAN, eager=True, inversion="x_adv", inversion_weight=1.0, gp_weight=1.0, d_steps=2)
    logs = model.fit(repeat_batch(tiny_images), steps_per_epoch=1, epochs=1, verbose=0).history
    assert all(math.isfinite(v[-1]) for v in logs.values())
    assert int(model.optimizers["d"].iterations.numpy()) == 2 and int(model.step.numpy()) == 1


def _grads(model, term, variables):
    with tf.GradientTape() as tape:
        value = term()
    return [g for g in tape.gradient(value, variables)]


@pytest.mark.parametrize("inversion", INVERSIONS)
def test_inversion_term_reaches_the_encoder_and_not_the_generator_input(inversion, tiny_images):
    # The inversion loss is part of E's objective only; within it G(z) is a constant, so
    # even a loss that passes through G again (x_ae, x_adv) never needs G's update.
    from zoo.models import inversion as inv

    model = make(BiGAN, inversion=inversion, inversion_weight=1.0)
    z = model.sample_latent(16)
    critic = model._head(1) if model.has_d2 else None
    term = lambda: inv.encoder_inversion_loss(inversion, model.generator, model.encoder, critic, z)[0]  # noqa: E731
    e_grads = _grads(model, term, model.encoder.trainable_weights)
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in e_grads)
    # z_ae and z_adv do not involve G after the stop-gradient at all.
    if inversion in ("z_ae", "z_adv"):
        assert all(g is None for g in _grads(model, term, model.generator.trainable_weights))


def test_cycle_term_reaches_both_encoder_and_generator(tiny_images):
    model = make(MDGAN)
    x = tf.constant(tiny_images)
    for net in (model.encoder, model.generator):
        grads = _grads(model, lambda: model.cycle_term(x), net.trainable_weights)
        assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in grads), net.name
    assert _grads(model, lambda: model.cycle_term(x), model.discriminator.trainable_weights) == [None] * len(
        model.discriminator.trainable_weights
    )


def _objectives(model, x, z):
    """Every player's objective value on one batch, from the same seed-generator state."""
    out = {}
    for p in model.all_players():
        state = model.seed_generator.state.numpy().copy()
        out[p.name] = float(p.objective(x, z)["loss"])
        model.seed_generator.state.assign(state)
    return out


@pytest.mark.parametrize(
    "cls,kw",
    [(BiGAN, {"inversion": i, "inversion_weight": 0.0}) for i in INVERSIONS]
    + [
        (MDGAN, {"cycle_weight": 0.0}),
        (PMDGAN, {"cycle_weight": 0.0, "norm_weight": 0.0, "adapt_norm_weight": False}),
        (EPMDGAN, {"num_examples": 16, "cycle_weight": 0.0, "norm_weight": 0.0, "adapt_norm_weight": False}),
        (
            PMDGAN,
            {
                "cycle_weight": 0.0,
                "norm_weight": 0.0,
                "adapt_norm_weight": False,
                "inversion": "z_adv",
                "inversion_weight": 0.0,
            },
        ),
    ],
)
def test_zero_weights_reduce_exactly_to_bigan(cls, kw, tiny_images):
    x = tf.constant(tiny_images)
    plain, variant = make(BiGAN, gp_weight=1.0), make(cls, gp_weight=1.0, **kw)
    z = tf.constant(np.random.default_rng(0).standard_normal((16, TINY["latent_dim"])).astype(np.float32))
    assert _objectives(variant, x, z) == _objectives(plain, x, z)


def test_zero_weights_train_exactly_like_bigan(tiny_images):
    plain = make(BiGAN, eager=True)  # two steps: eager is faster than tracing both
    variant = make(
        PMDGAN,
        eager=True,
        cycle_weight=0.0,
        norm_weight=0.0,
        adapt_norm_weight=False,
        inversion="z_adv",
        inversion_weight=0.0,
    )
    logs_plain = plain.fit(repeat_batch(tiny_images), steps_per_epoch=2, epochs=1, verbose=0).history
    logs_variant = variant.fit(repeat_batch(tiny_images), steps_per_epoch=2, epochs=1, verbose=0).history
    for key in ("d_loss", "g_loss", "e_loss"):
        assert logs_variant[key] == logs_plain[key], key
    for a, b in zip(
        plain.generator.weights + plain.encoder.weights, variant.generator.weights + variant.encoder.weights
    ):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_bigan_objectives_equal_the_formulas(tiny_images):
    from zoo import losses

    model = make(BiGAN)
    x = tf.constant(tiny_images)
    z = model.sample_latent(16)
    for _ in range(50):  # converge the power iteration so training-mode calls are stable
        model.discriminator([x, model.encoder(x)], training=True)
    d = lambda pair: model.discriminator(pair, training=True)  # noqa: E731
    real, fake = d([x, model.encoder(x)]), d([model.generator(z), z])
    got = _objectives(model, x, z)
    assert got["d"] == pytest.approx(float(losses.ns_discriminator_loss(real, fake)), rel=1e-4)
    assert got["g"] == pytest.approx(float(np.mean(np.log1p(np.exp(-fake.numpy())))), rel=1e-4)
    assert got["e"] == pytest.approx(float(np.mean(np.log1p(np.exp(real.numpy())))), rel=1e-4)


def test_separate_scores_train_each_score_and_g_and_e_see_their_sum(tiny_images):
    """BigBiGAN's scores: D's loss is the ns loss of each of s_x, s_z, s_xz; G's and E's
    take the summed logit, as with one logit (the formula test above)."""
    from zoo import losses

    model = make(BiGAN, joint_scores="separate")
    x = tf.constant(tiny_images)
    z = model.sample_latent(16)
    for _ in range(50):  # converge the power iteration so training-mode calls are stable
        model.discriminator([x, model.encoder(x)], training=True)
    d = lambda pair: model.discriminator(pair, training=True).numpy()  # noqa: E731
    real, fake = d([x, model.encoder(x)]), d([model.generator(z), z])
    assert real.shape == (16, 3)
    softplus = lambda t: np.log1p(np.exp(t))  # noqa: E731
    per_score = softplus(-real).mean(axis=0) + softplus(fake).mean(axis=0)
    got = _objectives(model, x, z)
    assert got["d"] == pytest.approx(float(per_score.sum()), rel=1e-4)
    summed = float(losses.ns_discriminator_loss(real.sum(1), fake.sum(1)))
    assert abs(got["d"] - summed) > 0.1  # not the one-logit loss of the summed score
    assert got["g"] == pytest.approx(float(softplus(-fake.sum(1)).mean()), rel=1e-4)
    assert got["e"] == pytest.approx(float(softplus(real.sum(1)).mean()), rel=1e-4)
    config = model.get_config()
    assert config["joint_scores"] == "separate" and BiGAN.from_config(config).get_config() == config
    assert BiGAN.from_config(config).discriminator.output.shape[-1] == 3
    assert make(MDGAN).joint_scores == "summed"  # the default: one logit
    with pytest.raises(ZooError, match="needs joint_fusion='late'"):
        make(BiGAN, joint_scores="separate", joint_fusion="every_layer")
    with pytest.raises(ZooError, match="no D2 head"):
        make(BiGAN, joint_scores="separate", inversion="z_adv", inversion_weight=1.0)
    with pytest.raises(ZooError, match="unknown joint_scores"):
        make(BiGAN, joint_scores="both")
    with pytest.raises(ZooError, match="not the mlp ones"):
        BiGAN(resolution=1, channels=2, latent_dim=2, architecture="mlp", joint_scores="separate")


def test_adversarial_inversion_shares_all_but_the_final_layer():
    model = make(BiGAN, inversion="x_adv", inversion_weight=1.0)
    heads = [
        layer
        for layer in model.discriminator.layers
        if layer.name.startswith("spectral") and "head" in str(getattr(layer, "layer", layer).name)
    ]
    assert len(heads) == 2
    assert heads[0].layer.kernel.shape == heads[1].layer.kernel.shape
    assert model.discriminator.output.shape[-1] == 2
    assert make(BiGAN, inversion="x_adv", inversion_weight=0.0).discriminator.output.shape[-1] == 1


def _has_per_layer_z(discriminator) -> bool:
    return any(isinstance(layer, keras.layers.Add) for layer in discriminator.layers)


@pytest.mark.parametrize("inversion", [None, "z_adv"])
def test_joint_fusion_picks_the_joint_discriminator_and_round_trips(inversion):
    every, late = (make(BiGAN, inversion=inversion, joint_fusion=f) for f in ("every_layer", "late"))
    assert _has_per_layer_z(every.discriminator) and not _has_per_layer_z(late.discriminator)
    assert late.discriminator.output.shape[-1] == (2 if inversion else 1)  # D2's head stays
    # only D changes: G and E are the same networks, with the same initial weights
    for a, b in ((every.generator, late.generator), (every.encoder, late.encoder)):
        assert all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))
    config = late.get_config()
    assert config["joint_fusion"] == "late" and BiGAN.from_config(config).get_config() == config
    assert make(BiGAN).joint_fusion == "late"  # the measured default (seed 000 A.3.2 under --preset paper)
    with pytest.raises(ZooError, match="joint-discriminator fusion"):
        make(MDGAN, joint_fusion="middle")


def test_joint_dropout_changes_only_d_and_round_trips():
    plain, dropped = make(MDGAN), make(MDGAN, joint_dropout=0.2)
    assert plain.joint_dropout == 0.0
    kinds = lambda net: [type(layer).__name__ for layer in net.layers]  # noqa: E731
    assert "Dropout" not in kinds(plain.discriminator) and "Dropout" in kinds(dropped.discriminator)
    for a, b in ((plain.generator, dropped.generator), (plain.encoder, dropped.encoder)):
        assert all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))
    # the same D weights: dropout layers have none
    assert [w.shape for w in plain.discriminator.weights] == [w.shape for w in dropped.discriminator.weights]
    config = dropped.get_config()
    assert config["joint_dropout"] == 0.2 and MDGAN.from_config(config).get_config() == config
    with pytest.raises(ZooError, match="dropout must be in"):
        make(BiGAN, joint_dropout=1.5)


def test_prior_norm_std_matches_sampling():
    assert prior_norm_std(1) == pytest.approx(math.sqrt(1 - 2 / math.pi), rel=1e-9)
    samples = np.linalg.norm(np.random.default_rng(0).standard_normal((200_000, 64)), axis=1)
    assert prior_norm_std(64) == pytest.approx(samples.std(), rel=0.01)


@pytest.mark.parametrize(
    "std_factor,step,expected",
    [
        (1.5, 200, 0.01 + 0.05),  # too wide: + max(0.01, hold/step/10) = 100/200/10 = 0.05
        (0.5, 200, 0.001),  # too narrow: 0.01 - 0.05, clipped to 0.001
        (1.0, 200, 0.01),  # within [0.98, 1.01] x prior std: unchanged
        (1.5, 5000, 0.01 + 0.01),  # late: the step floor 0.01
    ],
)
def test_lambda_norm_rule(std_factor, step, expected):
    model = make(PMDGAN, norm_weight=0.01, norm_hold_steps=100, norm_update_every=10)
    s = std_factor * model.prior_std
    norms = np.array([5.0 - s, 5.0 + s], np.float32)  # mean 5, population std s
    model.norm_moments.assign([2.0, norms.sum(), (norms**2).sum()])
    model.step.assign(step)
    model._adapt_lambda_norm()
    assert float(model.lambda_norm.numpy()) == pytest.approx(expected, rel=1e-5)
    assert np.all(model.norm_moments.numpy() == 0)


def test_lambda_norm_is_held_then_adapted_in_fit(tiny_images, tmp_path):
    model = make(PMDGAN, norm_weight=0.01, norm_hold_steps=4, norm_update_every=2)
    model.fit(repeat_batch(tiny_images), steps_per_epoch=4, epochs=1, verbose=0)
    assert float(model.lambda_norm.numpy()) == pytest.approx(0.01)  # held through step 4
    model.fit(repeat_batch(tiny_images), steps_per_epoch=2, epochs=1, verbose=0)
    assert float(model.lambda_norm.numpy()) != pytest.approx(0.01)  # one fixed batch: std far off
    # λ_norm and its moments live in checkpoints: a restore brings the adapted value back.
    adapted = float(model.lambda_norm.numpy())
    path = model.checkpoint().save(str(tmp_path / "ckpt"))
    model.lambda_norm.assign(0.5)
    model.norm_moments.assign([1.0, 2.0, 3.0])
    model.checkpoint().restore(path).assert_existing_objects_matched()
    assert float(model.lambda_norm.numpy()) == adapted
    assert np.array_equal(model.norm_moments.numpy(), [0.0, 0.0, 0.0])


def test_p_mdgan_moves_the_latent_norm_towards_the_prior(tiny_images):
    # d_z = 64: after 40 steps MDGAN's mean ||E(x)|| / sqrt(d_z) was 1.47-1.58 for init
    # seeds 0-2 and P-MDGAN's (lambda_norm = 1) 0.90-1.02.
    ratios = {}
    for cls, kw in ((MDGAN, {}), (PMDGAN, {"norm_weight": 1.0, "adapt_norm_weight": False})):
        model = make(cls, latent_dim=64, **kw)
        model.fit(repeat_batch(tiny_images), steps_per_epoch=40, epochs=1, verbose=0)
        codes = model.encoder(tf.constant(tiny_images), training=False).numpy()
        ratios[cls.__name__] = float(np.linalg.norm(codes, axis=1).mean() / 8.0)
    assert abs(ratios["PMDGAN"] - 1) < abs(ratios["MDGAN"] - 1) / 2, ratios
    assert abs(ratios["PMDGAN"] - 1) < 0.15, ratios


def test_config_round_trip():
    model = make(PMDGAN, inversion="x_ae", inversion_weight=0.3, cycle_weight=3.0, norm_hold_steps=7)
    config = model.get_config()
    clone = PMDGAN.from_config(config)
    assert clone.get_config() == config
    assert (clone.inversion, clone.inversion_weight, clone.cycle_weight, clone.norm_hold_steps) == (
        "x_ae",
        0.3,
        3.0,
        7,
    )
    model = make(EPMDGAN, num_examples=100, lambda_perc=0.5, lambda_dist=12.0)
    config = model.get_config()
    assert EPMDGAN.from_config(config).get_config() == config
    assert (config["num_examples"], config["lambda_perc"], config["lambda_dist"], config["cycle_weight"]) == (
        100,
        0.5,
        12.0,
        3.0,
    )


@pytest.mark.parametrize(
    "cls,kwargs,match",
    [
        (BiGAN, {"inversion": "x_vae"}, "unknown inversion"),
        (BiGAN, {"inversion_weight": -1.0}, "inversion_weight"),
        (MDGAN, {"cycle_weight": -0.5}, "cycle_weight"),
        (PMDGAN, {"norm_weight": -0.5}, "norm_weight"),
        (PMDGAN, {"norm_update_every": 0}, "norm_update_every"),
        (EPMDGAN, {"lambda_perc": 1.5}, "lambda_perc"),
        (MLeqPMDGAN, {"lambda_dist": -1.0}, "lambda_dist"),
    ],
)
def test_bad_arguments(cls, kwargs, match):
    with pytest.raises(ZooError, match=match):
        cls(**{**TINY, **kwargs})


def test_ep_mdgan_refreshes_the_batch_scores_with_their_latest_psnr(tiny_images):
    model = make(EPMDGAN, eager=True, num_examples=40)
    x = tf.constant(tiny_images)
    idx = tf.constant(np.arange(16) * 2 + 3, tf.int64)  # the batch is examples 3, 5, ..., 33
    initial = np.random.default_rng(0).normal(size=40).astype(np.float32) + 20
    model.set_scores(initial)
    model.fit(tf.data.Dataset.from_tensors((x, idx)), steps_per_epoch=1, epochs=1, verbose=0)
    scores = model.sampler.scores.numpy()
    # The batch's scores are PSNR(x, G(E(x))) under the updated networks; the rest are as set.
    expected = psnr(tiny_images, model.reconstruct(x).numpy())
    np.testing.assert_allclose(scores[idx.numpy()], expected, rtol=1e-5)
    rest = np.setdiff1d(np.arange(40), idx.numpy())
    np.testing.assert_array_equal(scores[rest], initial[rest])
    assert abs(expected.mean() - 20) > 5  # a refresh, not the initial values by chance


def test_ep_mdgan_score_all_and_checkpointed_scores(tiny_images, tmp_path):
    model = make(EPMDGAN, num_examples=16)
    scores = model.score_all((tiny_images * 255).round().astype(np.uint8), batch_size=5)
    expected = psnr(np.round(tiny_images * 255) / 255, model.reconstruct(tf.constant(tiny_images)).numpy())
    np.testing.assert_allclose(scores, expected, rtol=1e-4)
    np.testing.assert_array_equal(model.sampler.scores.numpy(), scores)
    path = model.checkpoint().save(str(tmp_path / "ckpt"))
    model.set_scores(np.zeros(16))
    model.checkpoint().restore(path).assert_existing_objects_matched()
    np.testing.assert_array_equal(model.sampler.scores.numpy(), scores)


@pytest.mark.parametrize("cls", [MLeqPMDGAN, EPMDGAN])
def test_sampled_variants_reject_batches_without_indices_and_bad_scores(cls, tiny_images):
    model = make(cls, eager=True, num_examples=16)
    with pytest.raises(ZooError, match="indices"):
        model.fit(repeat_batch(tiny_images), steps_per_epoch=1, epochs=1, verbose=0)
    with pytest.raises(ZooError, match="expected 16 scores"):
        model.set_scores(np.zeros(15))
    with pytest.raises(ZooError, match="finite"):
        model.set_scores(np.full(16, np.nan))
