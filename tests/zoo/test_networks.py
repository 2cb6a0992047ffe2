"""Network shapes, pixel range, spectral normalisation and the joint (x, z) discriminator."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo import networks
from zoo.errors import ZooError
from zoo.layers import SpectralNorm


@pytest.mark.parametrize("resolution,channels", [(28, 1), (32, 3), (64, 3)])
def test_shapes_and_range(resolution, channels):
    z = tf.random.normal((3, 16), seed=0)
    g = networks.build_generator(resolution, channels, 16, width=1 / 16)
    x = g(z * 10.0, training=True)  # large z pushes the tanh towards saturation
    assert x.shape == (3, resolution, resolution, channels)
    assert float(tf.reduce_min(x)) >= 0.0 and float(tf.reduce_max(x)) <= 1.0
    assert networks.build_encoder(resolution, channels, 16, width=1 / 16)(x).shape == (3, 16)
    assert networks.build_discriminator(resolution, channels, width=1 / 16)(x, training=True).shape == (3, 1)
    joint = networks.build_joint_discriminator(resolution, channels, 16, width=1 / 16, heads=2)
    assert joint([x, z], training=True).shape == (3, 2)


def test_paper_filter_counts_at_width_one():
    d = networks.build_discriminator(32, 3, width=1.0)
    convs = [layer.layer for layer in d.layers if hasattr(layer, "layer") and "conv" in layer.layer.name]
    assert [c.filters for c in convs] == [64, 128, 128, 256, 256, 512, 512]
    assert [c.kernel_size[0] for c in convs] == [3, 4, 3, 4, 3, 4, 3]
    g = networks.build_generator(32, 3, 64, width=1.0)
    assert g.layers[1].units == 512 * 4 * 4  # FC(512 * d8 * d8)


def test_generator_28_starts_at_7x7():
    g = networks.build_generator(28, 1, 8, width=1 / 16)
    reshape = next(layer for layer in g.layers if layer.__class__.__name__ == "Reshape")
    assert tuple(reshape.target_shape[:2]) == (7, 7)


SN_TYPES = (keras.layers.SpectralNormalization, SpectralNorm)


def _sn_layers(model):
    return [layer for layer in model.layers if isinstance(layer, SN_TYPES)]


@pytest.mark.parametrize("spectral_norm", networks.SPECTRAL_NORMS)
def test_spectral_norm_after_training_calls(spectral_norm):
    d = networks.build_discriminator(28, 1, width=0.125, spectral_norm=spectral_norm)
    x = tf.random.uniform((4, 28, 28, 1), seed=1)
    for _ in range(30):  # power iteration converges over repeated training-mode calls
        d(x, training=True)
    sn = _sn_layers(d)
    assert len(sn) == 8  # 7 convs + the final dense
    kind = SpectralNorm if spectral_norm == "miyato" else keras.layers.SpectralNormalization
    assert all(type(layer) is kind for layer in sn)
    for layer in sn:
        # projection stores W / σ in the kernel; miyato keeps W and divides in the forward pass
        kernel = layer.layer.kernel.numpy()
        if spectral_norm == "miyato":
            kernel = kernel / float(layer.sigma())
        top = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
        assert top == pytest.approx(1.0, abs=0.05)


def test_the_default_spectral_norm_is_miyato():
    from zoo.models import family_class

    d = networks.build_discriminator(28, 1, width=0.125)
    assert {type(layer) for layer in _sn_layers(d)} == {SpectralNorm}
    assert family_class("bigan")(width=1 / 16, latent_dim=8).get_config()["spectral_norm"] == "miyato"


@pytest.mark.parametrize("spectral_norm", networks.SPECTRAL_NORMS)
def test_spectral_norm_inactive_in_inference_mode(spectral_norm):
    d = networks.build_discriminator(28, 1, width=0.125, spectral_norm=spectral_norm)
    before = [w.numpy().copy() for w in d.weights]
    d(tf.random.uniform((2, 28, 28, 1)), training=False)
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(before, d.weights))


def test_joint_discriminator_z_enters_every_layer_as_bias():
    joint = networks.build_joint_discriminator(28, 1, 8, width=1 / 16)
    adds = [layer for layer in joint.layers if isinstance(layer, keras.layers.Add)]
    assert len(adds) == len(networks.TRUNK)
    # Each trunk layer's sum: its x-path conv output and its z bias, as separate outputs.
    probe = keras.Model(joint.inputs, [t for add in adds for t in add.input])
    rng = np.random.default_rng(2)
    x1, x2 = (tf.constant(rng.uniform(size=(2, 28, 28, 1)), tf.float32) for _ in range(2))
    z1, z2 = (tf.constant(rng.standard_normal((2, 8)), tf.float32) for _ in range(2))
    a, b, c = probe([x1, z1]), probe([x1, z2]), probe([x2, z1])
    for i in range(len(adds)):
        bias = a[2 * i + 1].numpy()
        assert bias.shape[1:3] == (1, 1)  # one value per channel, broadcast over H and W
        assert np.abs(bias).max() > 1e-3 and np.abs(bias - b[2 * i + 1].numpy()).max() > 1e-3, i  # from z
        np.testing.assert_allclose(bias, c[2 * i + 1].numpy(), atol=1e-6)  # and from z alone
        # The bias really reaches the layer: its sum is the x path plus this z term.
        layer_input = keras.Model(joint.inputs, adds[i].output)([x1, z1]).numpy()
        np.testing.assert_allclose(layer_input, a[2 * i].numpy() + bias, atol=1e-5)
    assert np.abs(a[0].numpy() - b[0].numpy()).max() == 0.0  # the first conv sees x only


@pytest.mark.parametrize("fusion", ["late", "late_bilinear"])
@pytest.mark.parametrize("heads", [1, 2])
def test_late_fusion_joint_discriminator_keeps_z_out_of_the_x_trunk(heads, fusion):
    joint = networks.build_joint_discriminator(28, 1, 8, width=1 / 16, heads=heads, fusion=fusion)
    bilinear = fusion == "late_bilinear"
    adds = [layer for layer in joint.layers if isinstance(layer, keras.layers.Add)]
    assert len(adds) == bilinear and (not bilinear or adds[0].output is joint.output)  # no per-layer z
    flat = next(layer for layer in joint.layers if isinstance(layer, keras.layers.Flatten))
    probe = keras.Model(joint.inputs, [flat.output, joint.output])
    rng = np.random.default_rng(3)
    x1, x2 = (tf.constant(rng.uniform(size=(4, 28, 28, 1)), tf.float32) for _ in range(2))
    z1, z2 = (tf.constant(rng.standard_normal((4, 8)), tf.float32) for _ in range(2))
    pairs = ([x1, z1], [x1, z2], [x2, z1], [x2, z2])
    (f11, d11), (f12, d12), (f21, d21), (_, d22) = ([t.numpy() for t in probe(p)] for p in pairs)
    assert np.array_equal(f11, f12)  # the x trunk never sees z
    assert not np.allclose(f11, f21)
    assert d11.shape == (4, heads)
    assert np.abs(d11 - d12).min() > 0 and np.abs(d11 - d21).min() > 0  # D reads x and z
    # ... and not only as a sum of an x score and a z score: the joint term is there
    assert np.abs(d11 + d22 - d12 - d21).max() > 1e-4
    # 7 trunk convs, FC on x, 2 FC on z, FC on [f_x, f_z], one final FC per head (+ one
    # projection W per head): all SN
    sn = _sn_layers(joint)
    assert len(sn) == len(networks.TRUNK) + 4 + heads * (1 + bilinear)
    if bilinear:  # the projection term is f_z . (W f_x), one W per head
        dots = [layer for layer in joint.layers if isinstance(layer, keras.layers.Dot)]
        assert len(dots) == heads and all(d.input[1].name == dots[0].input[1].name for d in dots)
    if heads == 2:  # the heads share every layer but their final FC (seed 000 A.3.2)
        final = [layer for layer in sn if layer.layer.name.startswith("head_")]
        assert len(final) == 2 and final[0].input.name == final[1].input.name
    with pytest.raises(ZooError, match="unknown joint-discriminator fusion 'early'"):
        networks.build_joint_discriminator(28, 1, 8, width=1 / 16, fusion="early")


@pytest.mark.parametrize("resolution", [7, 30, 0])
def test_bad_resolution_raises(resolution):
    with pytest.raises(ZooError, match="resolution"):
        networks.build_generator(resolution, 1, 8)


def test_mlp_architecture_takes_points_and_rejects_images():
    g = networks.build_generator(1, 2, 3, 1.0, architecture="mlp")
    d = networks.build_joint_discriminator(1, 2, 3, 1.0, heads=2, architecture="mlp")
    assert g.output.shape == (None, 2) and d.output.shape == (None, 2)
    assert [layer.units for layer in g.layers if isinstance(layer, keras.layers.Dense)] == [128, 128, 2]
    with pytest.raises(ZooError, match="mlp architecture takes points"):
        networks.build_generator(28, 1, 3, 1.0, architecture="mlp")
    with pytest.raises(ZooError, match="unknown architecture"):
        networks.build_encoder(28, 1, 3, 1.0, architecture="resnet")


@pytest.mark.parametrize("spectral_norm, d_moves", [("projection", True), ("miyato", False)])
def test_generator_and_encoder_steps_leave_d_alone_only_under_miyato(spectral_norm, d_moves, tiny_images):
    """keras' projection rewrites D's kernels whenever D runs in training mode, also
    inside G's and E's losses; Miyato's form changes only D's power-iteration vectors."""
    from conftest import TINY

    from zoo.models import BiGAN

    keras.utils.set_random_seed(0)
    model = BiGAN(spectral_norm=spectral_norm, **TINY)
    model.compile(learning_rate=1e-3)
    assert model.get_config()["spectral_norm"] == spectral_norm
    kernels = [w for w in model.discriminator.weights if "kernel" in w.path]
    before = [k.numpy().copy() for k in kernels]
    x = tf.constant(tiny_images)
    z = model.sample_latent(len(tiny_images))
    for player in model.all_players()[1:]:  # G and E, not D
        model._update(player, x, z)
    moved = any(not np.array_equal(k.numpy(), b) for k, b in zip(kernels, before))
    assert moved is d_moves


@pytest.mark.parametrize(
    "fusion, hidden", [("late", len(networks.TRUNK) + 4), ("every_layer", len(networks.TRUNK))]
)
def test_joint_dropout_follows_every_hidden_activation_in_training_calls_only(fusion, hidden):
    joint = networks.build_joint_discriminator(28, 1, 8, width=1 / 16, fusion=fusion, dropout=0.2)
    drops = [layer for layer in joint.layers if isinstance(layer, keras.layers.Dropout)]
    assert len(drops) == hidden and all(d.rate == 0.2 for d in drops)
    assert all(isinstance(d.input._keras_history.operation, keras.layers.LeakyReLU) for d in drops)
    plain = networks.build_joint_discriminator(28, 1, 8, width=1 / 16, fusion=fusion)
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in plain.layers)
    rng = np.random.default_rng(4)
    pair = [
        rng.uniform(size=(4, 28, 28, 1)).astype(np.float32),
        rng.standard_normal((4, 8)).astype(np.float32),
    ]
    a, b = joint(pair, training=False).numpy(), joint(pair, training=False).numpy()
    assert np.array_equal(a, b) and not np.allclose(a, joint(pair, training=True).numpy())
    for bad in (-0.1, 1.0):
        with pytest.raises(ZooError, match="dropout must be in"):
            networks.build_joint_discriminator(28, 1, 8, width=1 / 16, dropout=bad)
    with pytest.raises(ZooError, match="not the mlp one"):
        networks.build_joint_discriminator(1, 2, 2, width=0.25, architecture="mlp", dropout=0.2)


def test_batch_norm_encoder_uses_batch_statistics_in_training_calls_only():
    layer_norm = networks.build_encoder(28, 1, 8, 1 / 16)
    batch_norm = networks.build_encoder(28, 1, 8, 1 / 16, normalization="batch")
    kinds = lambda net: {type(layer).__name__ for layer in net.layers}  # noqa: E731
    assert "LayerNormalization" in kinds(layer_norm) and "BatchNormalization" not in kinds(layer_norm)
    assert "BatchNormalization" in kinds(batch_norm) and "LayerNormalization" not in kinds(batch_norm)
    # An example's code depends on its batch-mates in training calls (batch statistics),
    # not in inference calls (moving averages), and never with layer norm.
    rng = np.random.default_rng(0)
    x, others = rng.uniform(size=(1, 28, 28, 1)), rng.uniform(size=(2, 7, 28, 28, 1))
    for net, training, depends in [
        (batch_norm, True, True),
        (batch_norm, False, False),
        (layer_norm, True, False),
    ]:
        a, b = (net(np.concatenate([x, o]).astype(np.float32), training=training)[0].numpy() for o in others)
        assert (np.abs(a - b).max() > 1e-4) == depends, (net.name, training)
    with pytest.raises(ZooError, match="unknown encoder normalization 'group'; expected layer or batch"):
        networks.build_encoder(28, 1, 8, 1 / 16, normalization="group")


def test_separate_scores_give_each_head_a_unary_x_a_unary_z_and_a_joint_score():
    joint = networks.build_joint_discriminator(28, 1, 8, width=1 / 16, fusion="late", separate_scores=True)
    assert joint.output.shape[-1] == 3
    rng = np.random.default_rng(5)
    x = rng.uniform(size=(4, 28, 28, 1)).astype(np.float32)
    z, z2 = rng.standard_normal((2, 4, 8)).astype(np.float32)
    x2 = rng.uniform(size=(4, 28, 28, 1)).astype(np.float32)
    base = joint([x, z], training=False).numpy()
    new_z, new_x = joint([x, z2], training=False).numpy(), joint([x2, z], training=False).numpy()
    np.testing.assert_array_equal(base[:, 0], new_z[:, 0])  # s_x sees x only
    np.testing.assert_array_equal(base[:, 1], new_x[:, 1])  # s_z sees z only
    assert not np.allclose(base[:, 0], new_x[:, 0]) and not np.allclose(base[:, 1], new_z[:, 1])
    assert not np.allclose(base[:, 2], new_z[:, 2]) and not np.allclose(base[:, 2], new_x[:, 2])  # s_xz both
    two = networks.build_joint_discriminator(
        28, 1, 8, width=1 / 16, fusion="late", heads=2, separate_scores=True
    )
    assert two.output.shape[-1] == 6
    # head 1 in columns 3..5, laid out as head 0: s_x, s_z, s_xz
    a, b, c = (two(pair, training=False).numpy() for pair in ([x, z], [x, z2], [x2, z]))
    np.testing.assert_array_equal(a[:, 3], b[:, 3])  # s_x of head 1: x only
    np.testing.assert_array_equal(a[:, 4], c[:, 4])  # s_z of head 1: z only
    assert not np.allclose(a[:, 3], c[:, 3]) and not np.allclose(a[:, 4], b[:, 4])
    for fusion in ("every_layer", "late_bilinear"):
        with pytest.raises(ZooError, match="late fusion"):
            networks.build_joint_discriminator(28, 1, 8, width=1 / 16, fusion=fusion, separate_scores=True)
    with pytest.raises(ZooError, match="not the mlp one"):
        networks.build_joint_discriminator(1, 2, 2, width=0.25, architecture="mlp", separate_scores=True)


@pytest.mark.parametrize("architecture, shape", [("dcgan", (28, 28, 1)), ("mlp", (2,))])
def test_feature_norm_centres_each_batch_of_codes_on_the_output_bias_in_training_calls(architecture, shape):
    """Parameter-free batch norm before E's output layer: in a training call every feature
    has batch mean 0, so the batch's mean code is exactly the output layer's bias, however
    the weights move; inference calls use the moving statistics instead."""
    resolution, channels = (28 if architecture == "dcgan" else 1), shape[-1]
    plain = networks.build_encoder(resolution, channels, 8, 1 / 16, architecture=architecture)
    net = networks.build_encoder(
        resolution, channels, 8, 1 / 16, architecture=architecture, feature_norm="batch"
    )
    assert networks.FEATURE_NORM_LAYER not in [layer.name for layer in plain.layers]
    norm = net.get_layer(networks.FEATURE_NORM_LAYER)
    assert not norm.trainable_weights  # no scale, no shift
    out = net.get_layer("z")
    assert net.layers.index(norm) == net.layers.index(out) - 1
    rng = np.random.default_rng(0)
    out.bias.assign(rng.normal(size=8).astype(np.float32))
    x = rng.uniform(size=(32, *shape)).astype(np.float32)
    np.testing.assert_allclose(net(x, training=True).numpy().mean(axis=0), out.bias.numpy(), atol=1e-4)
    # the plain encoder with the same bias: its codes' mean is not the bias
    plain.get_layer("z").bias.assign(out.bias)
    assert np.abs(plain(x, training=True).numpy().mean(axis=0) - out.bias.numpy()).max() > 1e-3
    # inference: a batch-mate does not change an example's code
    a, b = (net(np.concatenate([x[:1], o]), training=False).numpy()[0] for o in (x[1:4], x[4:9]))
    np.testing.assert_allclose(a, b, atol=1e-6)
    with pytest.raises(ZooError, match="unknown encoder feature_norm 'layer'; expected none or batch"):
        networks.build_encoder(28, 1, 8, 1 / 16, feature_norm="layer")
