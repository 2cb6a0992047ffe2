"""SN-DCGAN networks of seed 000 (Rubenstein et al. 2018), appendix A.3.2.

All factories take ``(resolution, channels, latent_dim, width)``; ``width`` multiplies
every filter count (1.0 = the paper's 64/128/256/512), so a ``tiny`` width exists for
tests. Pixels are in [0, 1] everywhere.

Resolutions: any multiple of 8 (32, 64, ...) follows the paper literally: the generator
starts at d_R/8 and upsamples three times by 2. A resolution that is a multiple of 4 but
not of 8 (28 for MNIST-like data) starts at d_R/4 (7x7 for 28) and makes the *first*
4x4 transposed convolution stride 1 instead of 2, so the layer count, kernel sizes and
filter counts are those of the paper and the output is exactly 28x28 with no cropping.
Discriminator and encoder trunks use "same" padding, so 28 -> 28 -> 14 -> 14 -> 7 -> 7
-> 4 -> 4 spatially.
"""

from __future__ import annotations

import keras
from keras import layers

from zoo.errors import ZooError

# (filters at width 1.0, kernel, stride) of the discriminator/encoder trunk (A.3.2).
TRUNK = ((64, 3, 1), (128, 4, 2), (128, 3, 1), (256, 4, 2), (256, 3, 1), (512, 4, 2), (512, 3, 1))
LEAKY_SLOPE = 0.1


def scaled(filters: int, width: float) -> int:
    """Filter count ``filters * width``, at least 1."""
    return max(1, int(round(filters * width)))


def check_shape(resolution: int, channels: int, latent_dim: int, width: float) -> None:
    """Raise ``ZooError`` for a shape the SN-DCGAN networks cannot produce."""
    if resolution < 8 or resolution % 4:
        raise ZooError(f"resolution must be a multiple of 4 and >= 8 (28, 32, 64), got {resolution}")
    if channels < 1:
        raise ZooError(f"channels must be >= 1, got {channels}")
    if latent_dim < 1:
        raise ZooError(f"latent_dim must be >= 1, got {latent_dim}")
    if not width > 0:
        raise ZooError(f"width must be > 0, got {width}")


SPECTRAL_NORMS = ("projection", "miyato")


def check_spectral_norm(spectral_norm: str) -> None:
    if spectral_norm not in SPECTRAL_NORMS:
        raise ZooError(
            f"unknown spectral_norm {spectral_norm!r}; expected one of {', '.join(SPECTRAL_NORMS)}"
        )


def _sn(layer: layers.Layer, spectral_norm: str = "miyato") -> layers.Layer:
    """Spectral normalisation of one layer, one power iteration per training call:
    ``"projection"`` is ``keras.layers.SpectralNormalization`` (each training call assigns
    W / σ to the kernel, no gradient through σ); ``"miyato"`` is ``zoo.layers.SpectralNorm``
    (W / σ(W) in the forward pass, σ differentiated, W left to its optimiser)."""
    check_spectral_norm(spectral_norm)
    if spectral_norm == "miyato":
        from zoo.layers import SpectralNorm

        return SpectralNorm(layer, power_iterations=1)
    return layers.SpectralNormalization(layer, power_iterations=1)


def _generator_norm(normalization: str):
    """A factory of the generator's normalisation layers: layer norm (seed 000) or batch norm."""
    if normalization == "layer":
        return lambda flat: layers.LayerNormalization(axis=-1, epsilon=1e-5) if flat else _layer_norm()
    if normalization == "batch":
        return lambda flat: _batch_norm()
    raise ZooError(f"unknown generator normalization {normalization!r}; expected layer or batch")


def _batch_norm() -> layers.Layer:
    return layers.BatchNormalization(momentum=0.9, epsilon=1e-5)


def _layer_norm() -> layers.Layer:
    # Layer norm over all units of a layer (Ba et al. 2016): H, W and C.
    return layers.LayerNormalization(axis=[1, 2, 3], epsilon=1e-5)


def build_generator(
    resolution: int,
    channels: int,
    latent_dim: int,
    width: float = 1.0,
    name: str = "generator",
    architecture: str = "dcgan",
    normalization: str = "layer",
) -> keras.Model:
    """Generator G: z -> x in [0, 1] (seed 000 A.3.2).

    FC(512*d8*d8) -> LN -> ReLU -> reshape -> 3 x [TransposeConv 4x4 stride 2 -> LN -> ReLU]
    (256, 128, 64 filters) -> TransposeConv 3x3 stride 1 to ``channels`` -> (tanh + 1) / 2.
    For resolution 28 the start is 7x7 and the first transposed conv has stride 1
    (see the module docstring). ``normalization="batch"`` uses batch norm in place of
    layer norm (the DCGAN baseline of seed 001, Radford et al. 2016).
    """
    norm = _generator_norm(normalization)
    if _is_mlp(architecture, resolution, channels, latent_dim, width):
        return _mlp(keras.Input((latent_dim,), name="z"), channels, width, name, out_name="images")
    check_shape(resolution, channels, latent_dim, width)
    if resolution % 8 == 0:
        start, strides = resolution // 8, (2, 2, 2)
    else:
        start, strides = resolution // 4, (1, 2, 2)
    z = keras.Input((latent_dim,), name="z")
    top = scaled(512, width)
    h = layers.Dense(start * start * top)(z)
    h = norm(flat=True)(h)
    h = layers.ReLU()(h)
    h = layers.Reshape((start, start, top))(h)
    for filters, stride in zip((256, 128, 64), strides):
        h = layers.Conv2DTranspose(scaled(filters, width), 4, strides=stride, padding="same")(h)
        h = norm(flat=False)(h)
        h = layers.ReLU()(h)
    h = layers.Conv2DTranspose(channels, 3, strides=1, padding="same")(h)
    x = layers.Activation(lambda t: (keras.ops.tanh(t) + 1.0) / 2.0, dtype="float32", name="images")(h)
    return keras.Model(z, x, name=name)


ENCODER_NORMS = ("layer", "batch")
# What sits between E's last hidden features and its output layer: nothing (seed 000) or
# parameter-free batch norm (``build_encoder``'s ``feature_norm``).
ENCODER_FEATURE_NORMS = ("none", "batch")
FEATURE_NORM_LAYER = "feature_norm"


def _feature_norm(dtype: str | None = None) -> layers.Layer:
    """Parameter-free batch norm (no scale, no shift; Keras' epsilon 1e-3): in training
    calls every feature of the batch has mean 0, so E's output layer sees no common part."""
    return layers.BatchNormalization(
        center=False, scale=False, momentum=0.9, epsilon=1e-3, name=FEATURE_NORM_LAYER, dtype=dtype
    )


def build_encoder(
    resolution: int,
    channels: int,
    latent_dim: int,
    width: float = 1.0,
    name: str = "encoder",
    architecture: str = "dcgan",
    normalization: str = "layer",
    feature_norm: str = "none",
) -> keras.Model:
    """Encoder E: x -> z (seed 000 A.3.2): the discriminator trunk with LN instead of SN,
    LeakyReLU(0.1), and a final FC to ``latent_dim``. ``normalization="batch"`` puts
    batch norm where the layer norms are (the BiGAN / ALI encoders of Donahue et al. and
    Dumoulin et al. have it in their hidden layers, none on the output).
    ``feature_norm="batch"`` puts parameter-free batch norm (``_feature_norm``, layer
    ``FEATURE_NORM_LAYER``) on the last hidden features, before the final FC, as
    Donahue et al.'s MNIST encoder has on its second hidden layer (C.1): in training calls
    the codes of a batch then have mean = the FC's bias, so one update cannot move every
    code the same way. Inference uses its moving statistics; ``zoo.training`` recomputes
    them before each checkpoint (``refresh_batch_statistics``)."""
    if normalization not in ENCODER_NORMS:
        raise ZooError(f"unknown encoder normalization {normalization!r}; expected layer or batch")
    if feature_norm not in ENCODER_FEATURE_NORMS:
        raise ZooError(f"unknown encoder feature_norm {feature_norm!r}; expected none or batch")
    if _is_mlp(architecture, resolution, channels, latent_dim, width):
        return _mlp(
            keras.Input((channels,), name="images"),
            latent_dim,
            width,
            name,
            out_name="z",
            feature_norm=feature_norm == "batch",
        )
    check_shape(resolution, channels, latent_dim, width)
    x = keras.Input((resolution, resolution, channels), name="images")
    h = x
    for filters, kernel, stride in TRUNK:
        h = layers.Conv2D(scaled(filters, width), kernel, strides=stride, padding="same")(h)
        h = (_layer_norm() if normalization == "layer" else _batch_norm())(h)
        h = layers.LeakyReLU(LEAKY_SLOPE)(h)
    h = layers.Flatten()(h)
    if feature_norm == "batch":
        h = _feature_norm()(h)
    z = layers.Dense(latent_dim, dtype="float32", name="z")(h)
    return keras.Model(x, z, name=name)


def build_discriminator(
    resolution: int,
    channels: int,
    width: float = 1.0,
    name: str = "discriminator",
    architecture: str = "dcgan",
    normalization: str = "spectral",
    spectral_norm: str = "miyato",
) -> keras.Model:
    """Discriminator D: x -> logit (seed 000 A.3.2, GAN models).

    Spectral normalisation on every conv and the final dense; LeakyReLU(0.1); no
    normalisation of activations. Outputs one logit per example, shape [B, 1].
    ``normalization``: ``"spectral"`` (default), ``"batch"`` (no SN; batch norm after
    every conv but the first: the DCGAN baseline) or ``"none"`` (a plain critic, as
    WGAN-GP's penalty wants one). ``spectral_norm``: which spectral normalisation (``_sn``).
    """
    if normalization not in ("spectral", "batch", "none"):
        raise ZooError(
            f"unknown discriminator normalization {normalization!r}; expected spectral, batch or none"
        )
    if _is_mlp(architecture, resolution, channels, 1, width):
        return _mlp(keras.Input((channels,), name="images"), 1, width, name)
    check_shape(resolution, channels, 1, width)
    check_spectral_norm(spectral_norm)
    wrap = (lambda layer: _sn(layer, spectral_norm)) if normalization == "spectral" else (lambda layer: layer)
    x = keras.Input((resolution, resolution, channels), name="images")
    h = x
    for i, (filters, kernel, stride) in enumerate(TRUNK):
        h = wrap(layers.Conv2D(scaled(filters, width), kernel, strides=stride, padding="same"))(h)
        if normalization == "batch" and i > 0:
            h = layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(h)
        h = layers.LeakyReLU(LEAKY_SLOPE)(h)
    h = layers.Flatten()(h)
    logits = wrap(layers.Dense(1, dtype="float32"))(h)
    return keras.Model(x, logits, name=name)


def build_joint_discriminator(
    resolution: int,
    channels: int,
    latent_dim: int,
    width: float = 1.0,
    heads: int = 1,
    name: str = "joint_discriminator",
    architecture: str = "dcgan",
    spectral_norm: str = "miyato",
    fusion: str = "every_layer",
    dropout: float = 0.0,
    separate_scores: bool = False,
) -> keras.Model:
    """Joint discriminator D(x, z) -> logits (BiGAN / adversarial losses).

    ``fusion="every_layer"`` is seed 000 A.3.2: at every conv layer z, seen as a 1x1xd_z
    map, goes through a spectrally-normalised 1x1 convolution and is added as a per-channel
    bias broadcast over height and width, before the LeakyReLU. ``fusion="late"`` fuses
    once, at the top (``_late_fusion_joint_discriminator``). ``heads`` > 1 gives that many
    separate final FC layers on one shared trunk (seed 000 A.3.2: BiGAN's D and the
    adversarial-loss D2 share all parameters but the final fully connected layer); output
    shape [B, heads]. With ``architecture="mlp"`` x and z are concatenated and go through
    the MLP trunk (``fusion`` does not apply). ``spectral_norm``: which spectral
    normalisation (``_sn``). ``dropout``: the rate of a dropout layer after every hidden
    activation of the image networks (ALI's discriminators use 0.2, Dumoulin et al. App. A;
    0: none); active in training calls only. ``separate_scores`` (``fusion="late"`` only):
    each head is three scores [s_x, s_z, s_xz], each its own final FC, for a loss that
    trains each score (BigBiGAN); output shape [B, 3 * heads], head i in columns 3i..3i+2.
    """
    check_spectral_norm(spectral_norm)
    check_fusion(fusion)
    check_dropout(dropout)
    if int(heads) < 1:
        raise ZooError(f"heads must be >= 1, got {heads}")
    if separate_scores and _is_mlp(architecture, resolution, channels, latent_dim, width):
        raise ZooError("separate scores need the image (dcgan) joint discriminator, not the mlp one")
    if separate_scores and fusion != "late":
        raise ZooError(f"separate scores need the joint discriminator with late fusion, not {fusion!r}")
    if _is_mlp(architecture, resolution, channels, latent_dim, width):
        if dropout:
            raise ZooError("dropout applies to the image (dcgan) joint discriminators, not the mlp one")
        x, z = keras.Input((channels,), name="images"), keras.Input((latent_dim,), name="z")
        return _mlp([x, z], heads, width, name)
    check_shape(resolution, channels, latent_dim, width)
    if fusion in ("late", "late_bilinear"):
        return _late_fusion_joint_discriminator(
            resolution,
            channels,
            latent_dim,
            width,
            heads,
            name,
            spectral_norm,
            bilinear=fusion == "late_bilinear",
            dropout=dropout,
            separate_scores=separate_scores,
        )
    x = keras.Input((resolution, resolution, channels), name="images")
    z = keras.Input((latent_dim,), name="z")
    z_map = layers.Reshape((1, 1, latent_dim))(z)
    h = x
    for filters, kernel, stride in TRUNK:
        n = scaled(filters, width)
        h = _sn(layers.Conv2D(n, kernel, strides=stride, padding="same"), spectral_norm)(h)
        bias = _sn(layers.Conv2D(n, 1, use_bias=False), spectral_norm)(z_map)  # [B, 1, 1, n]
        h = layers.Add()([h, bias])  # broadcast over H, W
        h = _dropped(layers.LeakyReLU(LEAKY_SLOPE)(h), dropout)
    h = layers.Flatten()(h)
    return keras.Model([x, z], _heads(h, heads, spectral_norm), name=name)


FUSIONS = ("every_layer", "late", "late_bilinear")


def check_dropout(rate: float) -> None:
    if not 0.0 <= float(rate) < 1.0:
        raise ZooError(f"dropout must be in [0, 1), got {rate}")


def _dropped(h, rate: float):
    """``h`` through a dropout layer of ``rate`` (none when 0)."""
    return layers.Dropout(rate)(h) if rate else h


def check_fusion(fusion: str) -> None:
    if fusion not in FUSIONS:
        raise ZooError(f"unknown joint-discriminator fusion {fusion!r}; expected one of {', '.join(FUSIONS)}")


def _heads(h, heads: int, spectral_norm: str):
    """``heads`` separate spectrally-normalised final FC layers on the features ``h``."""
    if heads == 1:
        return _sn(layers.Dense(1, dtype="float32"), spectral_norm)(h)
    outs = [_sn(layers.Dense(1, dtype="float32", name=f"head_{i}"), spectral_norm)(h) for i in range(heads)]
    return layers.Concatenate(dtype="float32", name="heads")(outs)


def _late_fusion_joint_discriminator(
    resolution: int,
    channels: int,
    latent_dim: int,
    width: float,
    heads: int,
    name: str,
    spectral_norm: str,
    bilinear: bool = False,
    dropout: float = 0.0,
    separate_scores: bool = False,
) -> keras.Model:
    """A joint D that fuses x and z once, at the top (the spectrally-normalised BiGANs
    that train: imp_bigan, ALAD; BigBiGAN's unary scores, Donahue & Simonyan 2019 §2).

    f_x = the image discriminator's trunk (``TRUNK``, SN convs, LeakyReLU) -> flatten ->
    SN FC(512·w); f_z = 2 x [SN FC(512·w) -> LeakyReLU] on z; f_xz = SN FC(512·w) ->
    LeakyReLU on [f_x, f_z]. Each head is one SN FC on [f_x, f_z, f_xz], i.e. the sum of
    a unary x score, a unary z score and a joint score; it is still a single logit
    D(x, z), so BiGAN's objectives (seed 003 eq. 3) are unchanged. The x path alone is the
    GAN's discriminator, so G gets the gradient a GAN's G gets, plus the pairing term.
    ``bilinear`` adds to each head a projection term f_zᵀ W f_x (Miyato & Koyama 2018's
    projection discriminator, with the code in place of the class), a direct score of
    how x's features correlate with z.

    ``separate_scores``: BigBiGAN's discriminator (Donahue & Simonyan 2019 §2, eq. for
    s_x, s_z, s_xz): each head outputs the three scores s_x = θ_xᵀ f_x, s_z = θ_zᵀ f_z and
    s_xz = θ_xzᵀ J(f_x, f_z) as three columns, with J two SN FC(512·w) -> LeakyReLU layers
    (BigBiGAN's J is an MLP). A loss on each score gives the joint score its own gradient;
    in the single logit above one unit-norm (spectrally normalised) weight vector is shared
    by f_x, f_z and f_xz, and D can spend it on the image features alone. J has one layer
    more than f_xz above, so the option changes D's depth as well as its loss.
    """
    sn = lambda layer: _sn(layer, spectral_norm)  # noqa: E731
    units = scaled(512, width)
    x = keras.Input((resolution, resolution, channels), name="images")
    z = keras.Input((latent_dim,), name="z")
    h = x
    for filters, kernel, stride in TRUNK:
        h = sn(layers.Conv2D(scaled(filters, width), kernel, strides=stride, padding="same"))(h)
        h = _dropped(layers.LeakyReLU(LEAKY_SLOPE)(h), dropout)
    f_x = _dropped(layers.LeakyReLU(LEAKY_SLOPE)(sn(layers.Dense(units))(layers.Flatten()(h))), dropout)
    f_z = z
    for _ in range(2):
        f_z = _dropped(layers.LeakyReLU(LEAKY_SLOPE)(sn(layers.Dense(units))(f_z)), dropout)
    f_xz = layers.LeakyReLU(LEAKY_SLOPE)(sn(layers.Dense(units))(layers.Concatenate()([f_x, f_z])))
    f_xz = _dropped(f_xz, dropout)
    if separate_scores:
        f_xz = _dropped(layers.LeakyReLU(LEAKY_SLOPE)(sn(layers.Dense(units))(f_xz)), dropout)
        scores = [
            sn(layers.Dense(1, dtype="float32", name=f"s_{part}_{i}"))(f)
            for i in range(heads)
            for part, f in (("x", f_x), ("z", f_z), ("xz", f_xz))
        ]
        return keras.Model([x, z], layers.Concatenate(dtype="float32", name="scores")(scores), name=name)
    features = layers.Concatenate()([f_x, f_z, f_xz])
    logits = _heads(features, heads, spectral_norm)
    if bilinear:
        terms = [
            layers.Dot(axes=1)([sn(layers.Dense(units, use_bias=False, name=f"projection_{i}"))(f_x), f_z])
            for i in range(heads)
        ]
        projection = terms[0] if heads == 1 else layers.Concatenate()(terms)
        logits = layers.Add(dtype="float32")([logits, projection])
    return keras.Model([x, z], logits, name=name)


# ------------------------------------------------------------------------ 2-D data
ARCHITECTURES = ("dcgan", "mlp")
MLP_UNITS = 128  # hidden units at width 1.0 (seed 002 App. B Table 1)
MLP_SLOPE = 0.2  # seed 002 Table 1's LReLU slope


def _is_mlp(architecture: str, resolution: int, channels: int, latent_dim: int, width: float) -> bool:
    if architecture not in ARCHITECTURES:
        raise ZooError(f"unknown architecture {architecture!r}; expected one of {', '.join(ARCHITECTURES)}")
    if architecture == "dcgan":
        return False
    if resolution != 1 or channels < 1 or latent_dim < 1 or not width > 0:
        raise ZooError(
            "the mlp architecture takes points: resolution 1, channels = the point's dimension "
            f"(2 for the 2-D mixtures), latent_dim >= 1, width > 0; got {resolution}, {channels}, "
            f"{latent_dim}, {width}"
        )
    return True


def _mlp(
    inputs, outputs: int, width: float, name: str, out_name: str | None = None, feature_norm: bool = False
) -> keras.Model:
    """Two hidden Dense(128 * width) layers with LeakyReLU(0.2), then a linear Dense.

    Seed 002 appendix B Table 1's 2-D networks have one hidden layer of 128 tanh units
    and tanh outputs; here a second hidden layer adds capacity for the 25-mode grid,
    leaky ReLUs (Table 1's slope, used by its image networks) replace tanh, and the output
    is linear so samples can reach the grid's corners at ±4 (tanh stops at ±1).
    Used by every family for points [B, d] (``architecture="mlp"``); no normalisation
    (``feature_norm``: the encoder's parameter-free batch norm before the output layer).
    Always float32, whatever the dtype policy: at 128 units bf16 only adds casts
    (``benchmarks/compare_pytorch.py``: 1 719 steps/s under mixed_bfloat16 against
    1 982 in float32), so a mixed policy applies to the convolutional networks only.
    """
    f32 = "float32"
    h = layers.Concatenate(dtype=f32)(inputs) if isinstance(inputs, list) else inputs
    for _ in range(2):
        h = layers.LeakyReLU(MLP_SLOPE, dtype=f32)(layers.Dense(scaled(MLP_UNITS, width), dtype=f32)(h))
    if feature_norm:
        h = _feature_norm(f32)(h)
    out = layers.Dense(outputs, dtype=f32, name=out_name)(h)
    return keras.Model(inputs, out, name=name)


def build_code_discriminator(
    latent_dim: int, units: int = 750, hidden_layers: int = 3, name: str = "code_discriminator"
) -> keras.Model:
    """Code discriminator C: z -> logit (seed 001 H.4: "a 3 layer MLP, each layer
    containing 750 hidden units"), leaky ReLU 0.2 (H.4: all discriminators), no
    normalisation."""
    if latent_dim < 1 or units < 1 or hidden_layers < 1:
        raise ZooError(f"code discriminator needs positive sizes, got {latent_dim}, {units}, {hidden_layers}")
    z = keras.Input((latent_dim,), name="z")
    h = z
    for _ in range(hidden_layers):
        h = layers.LeakyReLU(0.2)(layers.Dense(units)(h))
    return keras.Model(z, layers.Dense(1, dtype="float32")(h), name=name)


def build_latent_pair_discriminator(
    latent_dim: int,
    units: int = 256,
    hidden_layers: int = 2,
    name: str = "cycle_critic",
    spectral_norm: str | None = None,
) -> keras.Model:
    """ALICE's latent cycle critic (Li et al. 2017, ``toy_data/ALICE_A.py``,
    ``data_network_zz``): [z, z'] concatenated -> ``hidden_layers`` x Dense(``units``,
    ReLU) -> logit. It sees both codes side by side, so it can judge the pairing of z
    with E(G(z)) directly. Float32; no normalisation (ALICE's) unless ``spectral_norm``
    names one (``_sn``) for every Dense layer, as ALAD's latent-pair critic D_zz has
    (Zenati et al. 2018): the critic is then 1-Lipschitz in (z, z') and cannot turn
    the exact equality of its true pairs (z, z) into an arbitrarily sharp score."""
    if latent_dim < 1 or units < 1 or hidden_layers < 1:
        raise ZooError(
            f"latent pair discriminator needs positive sizes, got {latent_dim}, {units}, {hidden_layers}"
        )
    wrap = (lambda layer: layer) if spectral_norm is None else (lambda layer: _sn(layer, spectral_norm))
    z, z_other = keras.Input((latent_dim,), name="z"), keras.Input((latent_dim,), name="z_other")
    h = layers.Concatenate(dtype="float32")([z, z_other])
    for _ in range(hidden_layers):
        h = wrap(layers.Dense(units, activation="relu", dtype="float32"))(h)
    return keras.Model([z, z_other], wrap(layers.Dense(1, dtype="float32"))(h), name=name)


# ----------------------------------------------------------------------- IVE-GAN
IVE_MNIST = "ive_mnist"  # seed 002 App. B Table 2, an IVE-GAN-only architecture
IVE_HEAD = (128, 64, 16)  # D's hidden units on [D_enc(x), D_enc(·)] (Table 2)
IVE_SAMPLE_HEAD = 64  # D''s hidden units on D_enc(·) (Table 2)
IVE_SAMPLE_DISCRIMINATORS = ("shared", "separate")  # D' on the shared D_enc, or its own network


def build_ive_generator(
    resolution: int,
    channels: int,
    noise_dim: int,
    latent_dim: int,
    width: float = 1.0,
    name: str = "generator",
    architecture: str = "dcgan",
) -> keras.Model:
    """IVE-GAN's generator G(z', z) (seed 002 §3): inputs ``z_noise`` [B, noise_dim] and
    ``z`` [B, latent_dim], concatenated (App. B: "Concatenate z' and z = E(x)") and fed to
    the zoo's generator for ``architecture`` (or Table 2's with ``"ive_mnist"``)."""
    if noise_dim < 1:
        raise ZooError(f"noise_dim must be >= 1, got {noise_dim}")
    z_noise = keras.Input((noise_dim,), name="z_noise")
    z = keras.Input((latent_dim,), name="z")
    size = noise_dim + latent_dim
    if architecture == IVE_MNIST:
        trunk = _ive_mnist_generator(resolution, channels, size, width)
    else:
        trunk = build_generator(resolution, channels, size, width, "generator_trunk", architecture)
    images = trunk(layers.Concatenate()([z_noise, z]))
    return keras.Model([z_noise, z], images, name=name)


def build_ive_encoder(
    resolution: int,
    channels: int,
    latent_dim: int,
    width: float = 1.0,
    architecture: str = "dcgan",
    tanh: bool = False,
) -> keras.Model:
    """IVE-GAN's encoder: the zoo's encoder, or Table 2's with ``"ive_mnist"`` (its trunk,
    then a dense layer to ``latent_dim`` with tanh, as Table 2's last encoder row).
    ``tanh`` ends the zoo's encoder in tanh too, so codes lie in (-1, 1)^d like a uniform
    prior's (Table 1 and 2 end every encoder so); ``"ive_mnist"`` always does."""
    if architecture != IVE_MNIST:
        encoder = build_encoder(resolution, channels, latent_dim, width, architecture=architecture)
        if not tanh:
            return encoder
        codes = layers.Activation("tanh", dtype="float32", name="z_tanh")(encoder.output)
        return keras.Model(encoder.input, codes, name="encoder")
    x = keras.Input((resolution, resolution, channels), name="images")
    h = layers.Flatten()(_ive_mnist_trunk(x, width))
    z = layers.Dense(latent_dim, activation="tanh", dtype="float32", name="z")(h)
    return keras.Model(x, z, name="encoder")


def build_ive_discriminator(
    resolution: int,
    channels: int,
    width: float = 1.0,
    architecture: str = "dcgan",
    spectral_norm: str = "miyato",
    sample_discriminator: str = "shared",
) -> keras.Model:
    """IVE-GAN's two discriminators on one shared embedding D_enc (seed 002 App. B):
    inputs ``[candidate, condition, sample]``, outputs ``[D(candidate, condition),
    D'(sample)]`` as logits [B, 1] each.

    D is an MLP (128, 64, 16 units, leaky ReLU) on [D_enc(condition), D_enc(candidate)];
    D' one hidden layer of 64 on D_enc(sample). D_enc is, per ``architecture``: the SN-DCGAN
    discriminator trunk, flattened, then a spectrally normalised dense layer of 256 x
    ``width`` units (every dense layer of the heads spectrally normalised too); Table 2's
    conv trunk with batch norm and its 3-unit embedding (``"ive_mnist"``, no SN); or, for
    2-D points (``"mlp"``), no shared embedding: D and D' are the zoo's point MLPs on
    [condition, candidate] and on the sample (Table 1 also feeds x and T(x) to D directly).
    ``sample_discriminator="separate"`` makes D' the zoo's own image discriminator
    (``build_discriminator``, the GAN's) instead of a head on the shared D_enc.
    """
    if sample_discriminator not in IVE_SAMPLE_DISCRIMINATORS:
        raise ZooError(
            f"unknown sample_discriminator {sample_discriminator!r}; "
            f"expected one of {', '.join(IVE_SAMPLE_DISCRIMINATORS)}"
        )
    if sample_discriminator == "separate" and architecture != "dcgan":
        raise ZooError("sample_discriminator='separate' needs the dcgan architecture")
    shape = (channels,) if architecture == "mlp" else (resolution, resolution, channels)
    inputs = [keras.Input(shape, name=n) for n in ("candidate", "condition", "sample")]
    candidate, condition, sample = inputs
    if architecture == "mlp":
        _is_mlp(architecture, resolution, channels, 1, width)
        pair = _mlp([keras.Input(shape), keras.Input(shape)], 1, width, "pair_discriminator")
        single = _mlp(keras.Input(shape), 1, width, "sample_discriminator")
        return keras.Model(inputs, [pair([condition, candidate]), single(sample)], name="discriminator")
    x = keras.Input(shape, name="images")
    if architecture == IVE_MNIST:
        wrap, units = (lambda layer: layer), (scaled(128, width), scaled(64, width), scaled(16, width), 64)
        h = layers.Flatten()(_ive_mnist_trunk(x, width))
        embedding = layers.LeakyReLU(MLP_SLOPE)(layers.Dense(3)(h))
    else:
        check_shape(resolution, channels, 1, width)
        check_spectral_norm(spectral_norm)
        wrap = lambda layer: _sn(layer, spectral_norm)  # noqa: E731
        units = tuple(scaled(u, width) for u in IVE_HEAD + (IVE_SAMPLE_HEAD,))
        h = x
        for filters, kernel, stride in TRUNK:
            h = wrap(layers.Conv2D(scaled(filters, width), kernel, strides=stride, padding="same"))(h)
            h = layers.LeakyReLU(LEAKY_SLOPE)(h)
        h = wrap(layers.Dense(scaled(256, width)))(layers.Flatten()(h))
        embedding = layers.LeakyReLU(LEAKY_SLOPE)(h)
    d_enc = keras.Model(x, embedding, name="d_enc")
    h = layers.Concatenate()([d_enc(condition), d_enc(candidate)])
    for n in units[:3]:
        h = layers.LeakyReLU(MLP_SLOPE)(wrap(layers.Dense(n))(h))
    pair = wrap(layers.Dense(1, dtype="float32", name="pair_logit"))(h)
    if sample_discriminator == "separate":
        d_prime = build_discriminator(
            resolution, channels, width, "sample_discriminator", spectral_norm=spectral_norm
        )
        return keras.Model(inputs, [pair, d_prime(sample)], name="discriminator")
    h = layers.LeakyReLU(MLP_SLOPE)(wrap(layers.Dense(units[3]))(d_enc(sample)))
    single = wrap(layers.Dense(1, dtype="float32", name="sample_logit"))(h)
    return keras.Model(inputs, [pair, single], name="discriminator")


def _ive_mnist_trunk(x, width: float):
    """Table 2's E / D_enc convolutions: 5x5/2 64, 3x3/2 128, 3x3/2 256, 3x3/2 256,
    2x2/1 256, each with batch norm and LReLU(0.2)."""
    h = x
    for filters, kernel, stride in ((64, 5, 2), (128, 3, 2), (256, 3, 2), (256, 3, 2), (256, 2, 1)):
        h = layers.Conv2D(scaled(filters, width), kernel, strides=stride, padding="same")(h)
        h = layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(h)
        h = layers.LeakyReLU(MLP_SLOPE)(h)
    return h


def _ive_mnist_generator(resolution: int, channels: int, size: int, width: float) -> keras.Model:
    """Table 2's G: Dense 4x4x256 (BN, LReLU) -> transposed convs 3x3/2 256 (BN), 3x3/2 128
    (BN), 5x5/2 64, 5x5/1 ``channels`` with a sigmoid: 32x32, cropped by 2 pixels a side
    for 28x28 data."""
    if resolution not in (28, 32):
        raise ZooError(f"the ive_mnist architecture makes 28x28 or 32x32 images, not {resolution}")
    z = keras.Input((size,))
    top = scaled(256, width)
    h = layers.Dense(4 * 4 * top)(z)
    h = layers.LeakyReLU(MLP_SLOPE)(layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(h))
    h = layers.Reshape((4, 4, top))(h)
    for filters, kernel, bn in ((256, 3, True), (128, 3, True), (64, 5, False)):
        h = layers.Conv2DTranspose(scaled(filters, width), kernel, strides=2, padding="same")(h)
        if bn:
            h = layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(h)
        h = layers.LeakyReLU(MLP_SLOPE)(h)
    h = layers.Conv2DTranspose(channels, 5, strides=1, padding="same")(h)
    if resolution == 28:
        h = layers.Cropping2D(2)(h)
    images = layers.Activation("sigmoid", dtype="float32", name="images")(h)
    return keras.Model(z, images, name="generator_trunk")
