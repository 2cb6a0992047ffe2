"""AGE (Ulyanov et al. 2018, seed 001 H.1-H.3): codes on the unit sphere, the objectives
equal their formulas, each update moves only its network, G runs g_steps times per E
update, and a short run cuts the reconstruction error."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import TINY, one_update_each, repeat_batch

from zoo import losses
from zoo.errors import ZooError
from zoo.models import AGE

MLP = dict(resolution=1, channels=2, latent_dim=3, width=0.25, architecture="mlp")
POINTS = np.random.default_rng(0).standard_normal((32, 2)).astype(np.float32)


def make(**kw):
    keras.utils.set_random_seed(0)
    return AGE(**{**TINY, **kw})


def weights(net):
    return [w.numpy().copy() for w in net.trainable_weights]


def test_codes_and_prior_lie_on_the_unit_sphere():
    model = make(**MLP)
    codes = model.encoder(tf.constant(POINTS), training=False).numpy()
    np.testing.assert_allclose(np.linalg.norm(codes, axis=1), 1.0, rtol=1e-5)
    for z in (model.sample_latent(64).numpy(), model.prior_samples(64, np.random.default_rng(0))):
        np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, rtol=1e-5)
    # On the sphere Σ_j (s_j² + m_j²) = 1, so Δ = -mean_j log s_j + const (the docstring's claim).
    mean, var = tf.nn.moments(tf.constant(codes), axes=[0])
    assert float(tf.reduce_sum(var + mean**2)) == pytest.approx(1.0, rel=1e-5)


def test_objectives_equal_their_formulas():
    model = make(data_weight=100.0, code_weight=10.0, **MLP)
    x, z = tf.constant(POINTS), model.sample_latent(32)
    e = lambda t: model.encoder(t, training=True)  # noqa: E731
    g = lambda t: model.generator(t, training=True)  # noqa: E731

    def kl(c):  # diagonal Gaussian fit vs N(0, I), per dimension
        m, v = np.mean(c, 0), np.var(c, 0)
        return float(np.mean(0.5 * (v + m**2) - 0.5 * np.log(v) - 0.5))

    codes, recovered = e(x).numpy(), e(g(z)).numpy()
    l1 = float(np.mean(np.abs(POINTS - g(codes).numpy())))
    expected_e = kl(codes) - kl(recovered) + 100.0 * l1
    assert float(model.encoder_objective(x, z)["loss"]) == pytest.approx(expected_e, rel=1e-4)
    zn = z.numpy()
    cos = np.sum(zn * recovered, 1) / np.linalg.norm(zn, axis=1) / np.linalg.norm(recovered, axis=1)
    expected_g = kl(recovered) + 10.0 * float(np.mean(1.0 - cos))
    assert float(model.generator_objective(x, z)["loss"]) == pytest.approx(expected_g, rel=1e-4)


def test_each_update_moves_only_its_network_and_g_runs_g_steps_times():
    model = make(g_steps=3, **MLP)
    model.compile(learning_rate=1e-3)
    x, z = tf.constant(POINTS), model.sample_latent(32)
    players = {p.name: p for p in model.all_players()}
    nets = {"e": model.encoder, "g": model.generator}
    for name in nets:
        before = {n: weights(net) for n, net in nets.items()}
        model._update(players[name], x, z)
        for other, net in nets.items():
            changed = [not np.array_equal(a, b.numpy()) for a, b in zip(before[other], net.trainable_weights)]
            assert any(changed) if other == name else not any(changed), (name, other)
    logs = model.fit(repeat_batch(POINTS), steps_per_epoch=2, epochs=1, verbose=0).history
    assert set(logs) == {
        "e_loss",
        "g_loss",
        "kl_real",
        "kl_fake",
        "reconstruction_l1",
        "code_cosine_distance",
    }
    assert int(model.optimizers["e"].iterations.numpy()) == 1 + 2
    assert int(model.optimizers["g"].iterations.numpy()) == 1 + 2 * 3
    assert AGE.from_config(model.get_config()).get_config() == model.get_config()


def test_short_run_on_a_fixed_batch_cuts_the_reconstruction_error():
    # Only E learns from ||x - G(E(x))||₁ (G learns from the code terms), so reconstructions
    # improve slowly on tiny image networks; on points the effect is clear within 300 steps.
    # The threshold was measured with Adam beta_2 0.999 (under AGE's seed-001 default 0.9 one
    # run cut the error only 1.6x in 300 steps). Single runs are chaotic in their rounding (a
    # fused Adam equal to Keras' within 1.2e-7 turned seed 0's 13.4x into 2.6x), so the claim
    # is the median over init seeds 0, 1, 2 (measured 13.4x, 7.0x, 9.8x), against E frozen at
    # its initial weights (lr 0: 1.17x, 1.10x, 1.30x; seed 0 is rerun as the control).
    x = tf.constant(np.random.default_rng(0).standard_normal((64, 2)).astype(np.float32))

    def cut(seed: int, frozen_encoder: bool = False) -> float:
        keras.utils.set_random_seed(seed)
        model = AGE(**{**TINY, "data_weight": 100.0, **MLP})
        frozen = {"e": keras.optimizers.SGD(0.0)} if frozen_encoder else None
        model.compile(learning_rate=1e-3, beta_2=0.999, optimizers=frozen)

        def l1():
            return float(losses.l1_reconstruction(x, model.generator(model.encoder(x, training=False))))

        before = l1()
        logs = model.fit(repeat_batch(x.numpy()), steps_per_epoch=300, epochs=1, verbose=0).history
        assert all(np.isfinite(v[-1]) for v in logs.values())
        return before / l1()

    cuts = [cut(seed) for seed in (0, 1, 2)]
    control = cut(0, frozen_encoder=True)
    assert np.median(cuts) > 3 and control < 2, (cuts, control)


def test_image_networks_train(tiny_images):
    model = make()
    model.compile(learning_rate=1e-4, run_eagerly=True)  # traced: the recipe test
    x = tf.constant(tiny_images)
    for name, (before, after, moved) in one_update_each(model, x, model.sample_latent(16)).items():
        assert moved > 1e-6 and after < before, (name, before, after, moved)
    logs = model.fit(repeat_batch(tiny_images), steps_per_epoch=2, epochs=1, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in logs.values())
    codes = model.encoder(tiny_images, training=False).numpy()
    np.testing.assert_allclose(np.linalg.norm(codes, axis=1), 1.0, rtol=1e-5)


def test_bad_arguments():
    with pytest.raises(ZooError, match="data_weight"):
        AGE(**TINY, data_weight=-1)
    with pytest.raises(ZooError, match="code_weight"):
        AGE(**TINY, code_weight=float("nan"))
