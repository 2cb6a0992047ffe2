"""IGE-GAN: every inversion loss x schedule trains, routes gradients right, and learns."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import TINY, max_difference, network_weights, reinitialize, repeat_batch

from zoo.errors import ZooError
from zoo.models import IGEGAN
from zoo.models.ige_gan import INVERSIONS
from zoo.trainer import LearningRateDecay

CASES = [(inv, sch) for inv in INVERSIONS for sch in ("joint", "posthoc")]


def make(inversion="x_ae", schedule="joint", start=2, eager=False, **kw):
    keras.utils.set_random_seed(0)  # initial weights independent of what ran before
    model = IGEGAN(
        inversion=inversion,
        encoder_schedule=schedule,
        encoder_start_step=start,
        **{**TINY, "gp_weight": 1.0, **kw},
    )
    model.compile(learning_rate=1e-3, run_eagerly=eager)  # eager: faster than tracing for a few steps
    return model


def weights(net):
    return [w.numpy().copy() for w in net.trainable_weights]


def changed(before, net):
    return [not np.array_equal(a, b.numpy()) for a, b in zip(before, net.trainable_weights)]


@pytest.mark.parametrize("inversion,schedule", CASES)
def test_fit_runs_finite_with_the_right_players(inversion, schedule, tiny_images):
    # The WGAN-GP term (tracing it costs ~15 s) is exercised where it is most involved:
    # on both joint critics D and D2 of the joint adversarial schedules.
    gp = 1.0 if inversion.endswith("_adv") and schedule == "joint" else 0.0
    model = make(inversion, schedule, start=2, d_steps=2, gp_weight=gp, eager=True)
    ds = repeat_batch(tiny_images)
    g0, d0, e0 = weights(model.generator), weights(model.discriminator), weights(model.encoder)
    model.set_phase(model.phase_for_step(0))
    logs = model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0).history
    first = {k: v[-1] for k, v in logs.items()}
    adv = inversion.endswith("_adv")
    if schedule == "joint":
        expected = {"d_loss", "g_loss", "e_loss", "latent_recovery"} | ({"d2_loss"} if adv else set())
        assert set(first) == expected
        assert all(changed(e0, model.encoder))
    else:  # GAN phase: E (and D2) are not trained yet
        assert set(first) == {"d_loss", "g_loss"}
        assert not any(changed(e0, model.encoder))
    assert all(changed(g0, model.generator)) and any(changed(d0, model.discriminator))
    assert all(np.isfinite(v) for v in first.values())
    # Second segment: in posthoc the encoder phase freezes G and D.
    model.set_phase(model.phase_for_step(2))
    g1, d1, e1 = weights(model.generator), weights(model.discriminator), weights(model.encoder)
    logs = model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0).history
    second = {k: v[-1] for k, v in logs.items()}
    assert all(np.isfinite(v) for v in second.values())
    assert all(changed(e1, model.encoder))
    if schedule == "posthoc":
        assert set(second) == {"e_loss", "latent_recovery"} | ({"d2_loss"} if adv else set())
        assert not any(changed(g1, model.generator)) and not any(changed(d1, model.discriminator))
    assert int(model.step.numpy()) == 4
    assert int(model.optimizers["d"].iterations.numpy()) == (8 if schedule == "joint" else 4)


@pytest.mark.parametrize("inversion", INVERSIONS)
def test_inversion_loss_updates_the_encoder_only(inversion, tiny_images):
    model = make(inversion, eager=True)
    model.fit(repeat_batch(tiny_images), steps_per_epoch=1, epochs=1, verbose=0)  # settle SN kernels
    players = {p.name: p for p in model.all_players()}
    x, z = tf.constant(tiny_images), model.sample_latent(16)
    # The encoder objective depends on E through every one of its weights...
    with tf.GradientTape() as tape:
        loss = players["e"].objective(x, z)["loss"]
    grads = tape.gradient(loss, model.encoder.trainable_weights)
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)
    # ...and one encoder update leaves G and D bit-identical.
    g0, d0, e0 = weights(model.generator), weights(model.discriminator), weights(model.encoder)
    model._update(players["e"], x, z)
    assert not any(changed(g0, model.generator)) and not any(changed(d0, model.discriminator))
    assert all(changed(e0, model.encoder))
    if inversion.endswith("_adv"):
        # D2's own update moves D2 and nothing else.
        d2 = model.inversion_discriminator
        w2, e1 = weights(d2), weights(model.encoder)
        model._update(players["d2"], x, z)
        assert all(changed(w2, d2))
        assert not any(changed(e1, model.encoder)) and not any(changed(g0, model.generator))


def test_only_the_adversarial_inversions_have_a_d2():
    assert {i: make(i).inversion_discriminator is not None for i in INVERSIONS} == {
        "x_ae": False,
        "z_ae": False,
        "x_adv": True,
        "z_adv": True,
    }


@pytest.mark.parametrize("inversion", ["x_adv", "z_adv"])
def test_d2_sees_true_pairs_as_real(inversion, tiny_images):
    model = make(inversion)
    z = model.sample_latent(16)
    # Converge the power iteration so further training-mode calls leave the kernels fixed.
    for _ in range(50):
        model.inversion_discriminator([model.generator(z), z], training=True)
    fake = model.generator(z, training=True)
    z_hat = model.encoder(fake, training=True)
    inverted = (fake, z_hat) if inversion == "z_adv" else (model.generator(z_hat, training=True), z)
    # Objective value equals the formula on the pairs the paper names.
    from zoo import losses

    d2 = lambda pair: model.inversion_discriminator(list(pair), training=True)  # noqa: E731
    expected = losses.ns_discriminator_loss(d2((fake, z)), d2(inverted))
    model.gp_weight = 0.0
    state = model.seed_generator.state.numpy().copy()
    got = model.inversion_discriminator_objective(tf.constant(tiny_images), z)["loss"]
    model.seed_generator.state.assign(state)
    assert float(got) == pytest.approx(float(expected), rel=1e-4)


def inversion_errors(model, z):
    """(latent error ||z - E(G(z))||^2 / d_z, image error ||G(z) - G(E(G(z)))||^2 / pixels)."""
    fake = model.generator(z, training=False).numpy()
    z_hat = model.encoder(fake, training=False).numpy()
    return float(np.mean(np.square(z - z_hat))), float(
        np.mean(np.square(fake - model.generator(z_hat, training=False).numpy()))
    )


def test_generator_ignores_the_scale_of_z():
    # FC -> LayerNorm (seed 000 A.3.2) with the FC bias at 0 makes G(c z) = G(z) for c > 0:
    # an encoder trained in X space (x_ae, x_adv) can invert G without recovering ||z||.
    model = IGEGAN(**TINY)
    z = np.random.default_rng(0).standard_normal((64, 8)).astype(np.float32)
    same = model.generator(3.0 * z).numpy() - model.generator(z).numpy()
    other = model.generator(z[::-1].copy()).numpy() - model.generator(z).numpy()
    assert np.abs(same).max() < 1e-5 < np.abs(other).mean()


# Each loss is judged on the quantity it minimises: z_ae on the latent error (eq. 5),
# x_ae on the image error on P_G (eq. 6; z is identifiable only up to scale, see above).
@pytest.mark.parametrize(
    "inversion,schedule", [(i, s) for i in ("x_ae", "z_ae") for s in ("joint", "posthoc")]
)
def test_short_run_cuts_the_inversion_error(inversion, schedule, tiny_images):
    z = np.random.default_rng(0).standard_normal((256, 4)).astype(np.float32)
    target = 0 if inversion == "z_ae" else 1
    # In joint, G moves under E; 400 steps leave z_ae a margin over 5 init seeds (6.5x-19x).
    steps = 400 if schedule == "joint" else 200

    model = make(inversion, schedule, start=0, latent_dim=4)
    model.set_phase(model.phase_for_step(0))

    def run(frozen_encoder: bool) -> tuple[float, float]:
        reinitialize(model, 0)  # the traced step serves both runs
        model.optimizers["e"].learning_rate.assign(0.0 if frozen_encoder else 1e-3)
        before = inversion_errors(model, z)[target]
        model.fit(repeat_batch(tiny_images), steps_per_epoch=steps, epochs=1, verbose=0)
        return before, inversion_errors(model, z)[target]

    before, after = run(frozen_encoder=False)
    assert after < before / 3, (before, after)
    if (inversion, schedule) == ("x_ae", "joint"):
        # In joint, G's own drift also changes the error: x_ae's image error fell 2.6x with
        # E frozen, close to the 3x above. The encoder's learning is what the run adds:
        # at most a quarter of the frozen-encoder error. (z_ae's latent error with E
        # frozen went 1.97 -> 1.30, which the 3x bound already rejects.)
        _, drift_only = run(frozen_encoder=True)
        assert after <= drift_only / 4, (before, after, drift_only)


# x_adv's game, on a fixed batch of 16 latents (G and D see them too) with D2 ten times
# faster than the other players (TTUR; with equal rates D2 first separates on the marginal
# of z alone and E follows it). joint moves G and D as well and the game oscillates
# (without decay one run's latent error went 0.42 -> 4.5 -> 1.6 between steps 400 and
# 600), so there every rate decays by 0.99 a step after step 100. Single runs vary, so the
# claim is the median over init seeds 0, 1, 2, scored on 256 held-out latents as well as
# on the 16 it trained on. Measured on an Intel Xeon VM (per seed 0-4: latent, image cut
# on trained latents; latent, image cut on held-out ones):
#   joint, 250 steps:   17/21/4.3/1.8, 10/15/2.6/2.2, 2.4/3.7/1.6/2.1, 13/21/4.5/1.3, 13/13/3.4/2.1
#   posthoc, 150 steps: 17/99/4.0/2.4, 8.4/1105/3.4/2.2, 0.26/1.5/0.23/1.1, 11/584/3.8/2.1,
#                       11/69/3.8/2.0
# With E frozen (lr 0) the held-out latent cut was 0.93-1.0x (500 joint steps). One model
# is traced and re-initialised per seed (conftest.reinitialize).
@pytest.mark.parametrize("schedule,steps,decay_after", [("posthoc", 150, None), ("joint", 250, 100)])
@pytest.mark.slow
def test_x_adv_game_cuts_the_inversion_error_on_a_fixed_batch(schedule, steps, decay_after, tiny_images):
    z = np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32)
    held_out = np.random.default_rng(1).standard_normal((256, 4)).astype(np.float32)
    model = IGEGAN(
        inversion="x_adv",
        encoder_schedule=schedule,
        encoder_start_step=0,
        **{**TINY, "latent_dim": 4, "gp_weight": 0.0},
    )
    decay = decay_after and LearningRateDecay(start=decay_after, every=1, rate=0.99)
    d2_rate = 1e-3 if decay is None else (lambda m=model, d=decay: 1e-3 * d.factor(m.step))
    model.compile(
        learning_rate=1e-4,
        lr_decay=decay,
        optimizers={"d2": keras.optimizers.Adam(d2_rate, 0.5, 0.999)},
    )
    model.set_phase(model.phase_for_step(0))
    model.sample_latent = lambda batch: tf.constant(z)  # the fixed batch of latents
    cuts = []  # per seed, on (trained, held-out) latents: (latent, image) error before / after
    for seed in (0, 1, 2):
        reinitialize(model, seed)  # the initial weights (seed 0: the other tests' init)
        before = [inversion_errors(model, zs) for zs in (z, held_out)]
        model.fit(repeat_batch(tiny_images), steps_per_epoch=steps, epochs=1, verbose=0)
        after = [inversion_errors(model, zs) for zs in (z, held_out)]
        cuts.append([[b / a for b, a in zip(bs, as_)] for bs, as_ in zip(before, after)])
    (trained_latent, trained_image), (held_latent, held_image) = np.median(np.array(cuts), axis=0)
    # On the trained latents both errors fall 3x (the image error is x_adv's own quantity).
    assert trained_image > 3 and trained_latent > 3, cuts
    # On held-out latents both errors fall, the latent error 2x or more (medians measured:
    # 2.6x joint, 3.4x posthoc); the image error less.
    assert held_latent > 2 and held_image > 1, cuts


def test_reinitialize_gives_the_state_of_a_fresh_build(tiny_images):
    model = make("x_adv", eager=True)
    model.fit(repeat_batch(tiny_images), steps_per_epoch=2, epochs=1, verbose=0)
    reinitialize(model, 0)
    fresh = make("x_adv", eager=True)  # seed 0
    assert max_difference(model, fresh) == 0.0
    assert int(model.step.numpy()) == 0 and int(model.optimizers["d2"].iterations.numpy()) == 0
    assert np.array_equal(model.seed_generator.state.numpy(), fresh.seed_generator.state.numpy())
    reinitialize(model, 1)
    assert max_difference(model, fresh, of=network_weights) > 0  # another seed, other weights


# z_adv is judged player by player: its game does not cut the latent error reliably in a
# short run (README, "z_adv and the pairing"). With equal rates it does not learn the
# pairing of images and codes at all: D2 gives every image the same logit (to 0.01 with
# 4 latents), E maps all images to one code, and the latent error stays near 2.0, that of
# an independent draw (fresh z, 10 000 steps: 2.19 -> 1.91). With the settings of the
# x_adv test plus a trained G (a 500-step GAN phase, or joint) and 1 000 encoder steps
# decayed by 0.995 a step after 500, the cut over init seeds 0-4 was 2.2/7640/6.5/8.2/4.5x
# posthoc and 1.0/6.7/8.6/2.3/2.1x joint (1 500 steps, decay after 1 000: 4.7/4.1e4/7.5/12/2.1x
# and 5.0/8.6/9.5/1.2/2.7x): it learns for some initialisations only.
# What a short run must show is that each player learns its own objective: D2 learns to
# tell true pairs from inverted ones, then E, against that D2, learns to fool it.
@pytest.mark.parametrize("inversion", ["z_adv"])
def test_adversarial_inversion_players_learn_their_objectives(inversion, tiny_images):
    model = make(inversion, "posthoc", start=0, latent_dim=4, gp_weight=0.0)
    model.set_phase("encoder")
    players = {p.name: p for p in model.all_players()}
    x = tf.constant(tiny_images)
    z_eval = tf.constant(np.random.default_rng(0).standard_normal((256, 4)).astype(np.float32))

    def trainer(name):
        @tf.function
        def step():
            return model._update(players[name], x, model.sample_latent(64))

        return step

    def objective(name):
        return float(players[name].objective(x, z_eval)["loss"])

    d2_before, e_before = objective("d2"), objective("e")
    assert d2_before == pytest.approx(2 * np.log(2), abs=0.2)  # D2 starts at chance
    d2_step = trainer("d2")
    for _ in range(200):
        d2_step()
    d2_after = objective("d2")
    assert d2_after < d2_before / 3, (d2_before, d2_after)
    e_against = objective("e")  # D2 now sees through the untrained encoder
    assert e_against > e_before
    e_step = trainer("e")
    for _ in range(200):
        e_step()
    e_after = objective("e")
    assert e_after < e_against / 3, (e_against, e_after)
    assert objective("d2") > d2_after  # ...and D2, unchanged, is fooled more often


def test_config_round_trip():
    model = make("z_adv", "posthoc", start=7, d_steps=2)
    config = model.get_config()
    clone = IGEGAN.from_config(config)
    assert clone.get_config() == config
    assert (clone.inversion, clone.encoder_schedule, clone.encoder_start_step, clone.d_steps) == (
        "z_adv",
        "posthoc",
        7,
        2,
    )
    assert clone.phase_for_step(6) == "gan" and clone.phase_for_step(7) == "encoder"


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"inversion": "x_vae"}, "unknown inversion"),
        ({"encoder_schedule": "later"}, "unknown encoder_schedule"),
        ({"d_steps": 0}, "d_steps"),
        ({"gp_weight": -1.0}, "gp_weight"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ZooError, match=match):
        IGEGAN(**{**TINY, **kwargs})


def test_unknown_optimizer_player_is_an_error():
    model = IGEGAN(**TINY)
    with pytest.raises(ZooError, match="unknown players"):
        model.compile(optimizers={"encoder": None})


def test_joint_fusion_picks_d2_and_round_trips():
    every, late = make("z_adv"), make("z_adv", joint_fusion="late")
    adds = [
        any(isinstance(layer, keras.layers.Add) for layer in m.inversion_discriminator.layers)
        for m in (every, late)
    ]
    assert adds == [True, False] and every.joint_fusion == "every_layer"
    for a, b in ((every.discriminator, late.discriminator), (every.generator, late.generator)):
        assert all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))  # D, G untouched
    config = late.get_config()
    assert config["joint_fusion"] == "late" and IGEGAN.from_config(config).get_config() == config
