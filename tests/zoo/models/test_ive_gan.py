"""IVE-GAN (seed 002 eq. 3): T reaches real data only, D always sees the untransformed
original as condition, the losses equal eq. 3's, each update moves only its network, the
architectures build, and a short run on a fixed batch cuts the reconstruction error."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import TINY, repeat_batch

from zoo.errors import ZooError
from zoo.models import IVEGAN
from zoo.toy import mixture

MLP = dict(resolution=1, channels=2, latent_dim=3, width=0.25, architecture="mlp", transform="shift")
POINTS = np.random.default_rng(0).standard_normal((16, 2)).astype(np.float32)
MARK = 100.0  # a stand-in T that moves points far away, so its output is recognisable


def make(**kw):
    keras.utils.set_random_seed(0)
    return IVEGAN(**{**TINY, "shift_stddev": 0.05, **kw})


def spy(model, monkeypatch):
    """Replace T by x + MARK and record every discriminator call's three inputs."""
    calls = []
    monkeypatch.setattr(model, "transform", lambda x, training=False: x + MARK)
    real_d = model.discriminator

    def recording(inputs, training=False):
        calls.append([t.numpy() for t in inputs])
        return real_d(inputs, training=training)

    monkeypatch.setattr(model, "discriminator", recording)
    return calls


def test_transform_reaches_real_data_only_and_d_sees_the_original_as_condition(monkeypatch):
    model = make(**MLP)
    calls = spy(model, monkeypatch)
    x, z = tf.constant(POINTS), model.sample_latent(16)
    model.discriminator_objective(x, z)
    (candidate, condition, sample), n = calls[0], len(POINTS)
    np.testing.assert_allclose(candidate[:n], POINTS + MARK)  # T(x) is D's real candidate
    assert np.all(np.abs(candidate[n:]) < MARK / 2)  # G(z', E(x)) untransformed
    np.testing.assert_array_equal(condition, np.concatenate([POINTS, POINTS]))  # x, never T(x)
    np.testing.assert_array_equal(sample[:n], POINTS)  # D' sees the original data
    assert np.all(np.abs(sample[n:]) < MARK / 2)
    model.generator_objective(x, z)
    candidate, condition, sample = calls[1]
    np.testing.assert_array_equal(condition, POINTS)
    assert np.all(np.abs(candidate) < MARK / 2) and np.all(np.abs(sample) < MARK / 2)


def test_losses_equal_eq3_with_fixed_noise(monkeypatch):
    model = make(**MLP)
    monkeypatch.setattr(model, "sample_noise", lambda b: tf.zeros((b, model.noise_dim)))
    monkeypatch.setattr(model, "transform", lambda x, training=False: x + 0.5)
    x, z = tf.constant(POINTS), model.sample_latent(16)
    zeros = tf.zeros((16, model.noise_dim))
    recon = model.decoder([zeros, model.encoder(x, training=True)], training=True)
    fake = model.decoder([zeros, z], training=True)
    pair_real, s_real = model.discriminator([x + 0.5, x, x], training=True)
    pair_fake, s_fake = model.discriminator([recon, x, fake], training=True)
    sp = lambda t: float(tf.reduce_mean(tf.nn.softplus(t)))  # noqa: E731
    # -log σ(a) = softplus(-a), -log(1 - σ(a)) = softplus(a)
    expected_d = sp(-pair_real) + sp(pair_fake) + sp(-s_real) + sp(s_fake)
    expected_g = sp(-pair_fake) + sp(-s_fake)
    assert float(model.discriminator_objective(x, z)["loss"]) == pytest.approx(expected_d, rel=1e-5)
    assert float(model.generator_objective(x, z)["loss"]) == pytest.approx(expected_g, rel=1e-5)


def test_each_update_moves_only_its_network():
    model = make(**MLP)
    model.compile(learning_rate=1e-3)
    x, z = tf.constant(POINTS), model.sample_latent(16)
    players = {p.name: p for p in model.all_players()}
    nets = {"d": model.discriminator, "e": model.encoder, "g": model.decoder}
    for name in nets:
        before = {n: [w.numpy().copy() for w in net.trainable_weights] for n, net in nets.items()}
        model._update(players[name], x, z)
        for other, net in nets.items():
            changed = [not np.array_equal(a, b.numpy()) for a, b in zip(before[other], net.trainable_weights)]
            assert any(changed) if other == name else not any(changed), (name, other)
    assert IVEGAN.from_config(model.get_config()).get_config() == model.get_config()


@pytest.mark.parametrize("architecture", ["dcgan", "ive_mnist"])
def test_image_architectures_train_and_generate_two_ways(architecture, tiny_images):
    model = make(architecture=architecture, noise_dim=4)
    # dcgan is traced in the recipe test (its default architecture); ive_mnist here.
    model.compile(learning_rate=1e-3, run_eagerly=architecture == "dcgan")
    logs = model.fit(repeat_batch(tiny_images), steps_per_epoch=2, epochs=1, verbose=0).history
    assert set(logs) == {"d_loss", "e_loss", "g_loss", "reconstruction_mse"}
    assert all(np.isfinite(v[-1]) for v in logs.values())
    z = np.zeros((3, 8), np.float32)
    a, b = model.generator(z).numpy(), model.generator(z).numpy()
    assert a.shape == (3, 28, 28, 1) and 0 <= a.min() and a.max() <= 1
    assert not np.allclose(a, b)  # the sampling path draws a fresh z' per call
    noise = np.ones((3, 4), np.float32)
    np.testing.assert_array_equal(model.decoder([noise, z]).numpy(), model.decoder([noise, z]).numpy())


def test_short_run_on_a_fixed_batch_cuts_the_reconstruction_error():
    # Ring points with T = eq. 4's shift N(0, Σ/2): G(z', E(x)) must come to lie near x.
    mix = mixture("ring")
    batch = mix.sample(128, seed=0)
    model = make(**{**MLP, "shift_stddev": mix.std / np.sqrt(2.0)})
    model.compile(learning_rate=1e-3, beta_1=0.5)
    x = tf.constant(batch)

    def error():
        return float(tf.reduce_mean(tf.norm(model.generator(model.encoder(x)) - x, axis=1)))

    before = error()
    logs = model.fit(repeat_batch(batch), steps_per_epoch=300, epochs=1, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in logs.values())
    assert error() < before / 2, (before, error())


def test_uniform_prior_draws_from_the_box_and_only_adds_tanh_to_the_encoder():
    gauss, box = make(prior="gaussian"), make(prior="uniform")
    for z in (box.sample_latent(20_000).numpy(), box.prior_samples(20_000, np.random.default_rng(0))):
        assert z.shape == (20_000, 8) and -1 <= z.min() and z.max() <= 1
        assert abs(z.mean()) < 0.01 and z.var() == pytest.approx(1 / 3, rel=0.02)  # U(-1, 1)
    assert gauss.sample_latent(20_000).numpy().var() == pytest.approx(1.0, rel=0.03)
    x = 50 * np.random.default_rng(1).standard_normal((8, 28, 28, 1)).astype(np.float32)
    assert np.abs(gauss.encoder(x).numpy()).max() > 1  # the plain encoder leaves the box
    gauss.encoder.set_weights(box.encoder.get_weights())  # same layers, tanh has no weights
    np.testing.assert_allclose(box.encoder(x).numpy(), np.tanh(gauss.encoder(x).numpy()), atol=1e-5)
    assert IVEGAN.from_config(box.get_config()).prior == "uniform"
    with pytest.raises(ZooError, match="unknown prior 'laplace'"):
        IVEGAN(**TINY, prior="laplace")


@pytest.mark.parametrize("mode", ["shared", "separate"])
def test_a_separate_sample_discriminator_does_not_read_the_shared_embedding(mode):
    model = make(sample_discriminator=mode)
    rng = np.random.default_rng(0)
    x, sample = (rng.uniform(size=(4, 28, 28, 1)).astype(np.float32) for _ in range(2))
    pair, single = (t.numpy() for t in model.discriminator([x, x, sample]))
    d_enc = model.discriminator.get_layer("d_enc")
    d_enc.set_weights([w + 0.1 for w in d_enc.get_weights()])
    pair2, single2 = (t.numpy() for t in model.discriminator([x, x, sample]))
    assert not np.allclose(pair, pair2)  # D always reads D_enc
    assert np.allclose(single, single2) == (mode == "separate")  # D' only when shared
    assert IVEGAN.from_config(model.get_config()).sample_discriminator == mode


def test_transform_scale_and_interpolation_reach_t_and_round_trip():
    def shift(model):
        layers = model.transform.layers
        return next(layer for layer in layers if isinstance(layer, keras.layers.RandomTranslation))

    model = make(transform_scale=0.25, shift_interpolation="nearest")
    assert shift(model).height_factor == pytest.approx(1 / 28) and shift(model).interpolation == "nearest"
    config = IVEGAN.from_config(model.get_config()).get_config()
    assert (config["transform_scale"], config["shift_interpolation"]) == (0.25, "nearest")
    default = shift(make())  # seed 002's 4 pixels, Keras' sub-pixel shifts
    assert default.height_factor == pytest.approx(4 / 28) and default.interpolation == "bilinear"


def test_bad_arguments():
    with pytest.raises(ZooError, match="gp_weight"):
        IVEGAN(**TINY, gp_weight=1.0)
    with pytest.raises(ZooError, match="unknown transform"):
        IVEGAN(**TINY, transform="blur")
    with pytest.raises(ZooError, match="3 channels"):
        IVEGAN(**TINY, transform="photos")
    with pytest.raises(ZooError, match="shift_stddev"):
        IVEGAN(**MLP)
    with pytest.raises(ZooError, match="28x28 or 32x32"):
        IVEGAN(**{**TINY, "resolution": 64}, architecture="ive_mnist")
    with pytest.raises(ZooError, match="unknown architecture"):
        IVEGAN(**TINY, architecture="resnet")
    with pytest.raises(ZooError, match="transform scale must be in"):
        IVEGAN(**TINY, transform_scale=2.0)
    with pytest.raises(ZooError, match="unknown shift interpolation"):
        IVEGAN(**TINY, shift_interpolation="area")
    with pytest.raises(ZooError, match="unknown sample_discriminator 'both'"):
        IVEGAN(**TINY, sample_discriminator="both")
    with pytest.raises(ZooError, match="needs the dcgan architecture"):
        IVEGAN(**TINY, architecture="ive_mnist", sample_discriminator="separate")
