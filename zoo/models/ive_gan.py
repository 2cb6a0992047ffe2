"""IVE-GAN, invariant-encoding GAN: seed 002 (Kiss et al. 2018), §3 eq. 3, §4, App. B."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from zoo import losses, networks, transforms
from zoo.errors import ZooError
from zoo.trainer import AdversarialModel, Player


class PriorNoise(keras.layers.Layer):
    """Draws z' ~ N(0, I) of shape [batch of its input, dim] on every call, training or not."""

    def __init__(self, dim: int, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.dim = int(dim)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        return keras.random.normal((keras.ops.shape(inputs)[0], self.dim), seed=self.seed_generator)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.dim)


class IVEGAN(AdversarialModel):
    """IVE-GAN (Kiss et al. 2018, seed 002 §3 eq. 3): a generator G(z', z) of noise z' ~
    N(0, I) and a code z, an encoder E, a discriminator D(·, x) conditioned on the
    original x, and a discriminator D' on single images. With T the invariance
    transformation (``zoo.transforms``):

        min_{G,E} max_{D,D'} E_x[ log D(T(x), x) + log D'(x)
                                  + E_z' log(1 - D(G(z', E(x)), x)) ]
                             + E_{z ~ P_Z, z'} log(1 - D'(G(z', z)))             (eq. 3)

    D tells a transformed original T(x) from the reconstruction G(z', E(x)), both paired
    with the untransformed x as condition; D' tells real x from new samples G(z', z).
    T is applied to real data only. Eq. 3 prints D'(G(z', E(x))) in its last term; the
    text (§3: "we can draw samples z ~ P_Z ... train an additional discriminator D' on
    discriminating them from true data") and the issue use G(z', z), as here.

    Losses: D and D' (one player ``d``, one network with a shared embedding D_enc as in
    App. B) minimise the two cross-entropies; E and G minimise the non-saturating
    -log D(G(z', E(x)), x) - log D'(G(z', z)). P_Z = P_Z' = N(0, I) (the zoo's prior; seed
    002 draws new codes uniformly for its figures) unless ``prior="uniform"``: then
    P_Z = U(-1, 1)^d as in seed 002 §4.2 and §4.3 ("randomly drawn from a uniform
    distribution"), and E ends in tanh as in App. B Tables 1 and 2, so E's codes and the
    codes G samples from share one box; z' stays N(0, I) (the paper does not name P_Z').
    N(0, I) stays the recipe's default outside ``--preset paper``: at the ``cpu`` preset
    (zoo table, seed 0) the uniform prior gave FID(P_G) 133 against 107, with codes
    piled at the tanh's ends (‖E(x)‖/√d 0.95 against the prior's 0.58).
    ``noise_dim`` is dim z' (App. B: 4). ``sample_discriminator="separate"`` gives D' its own
    network (the GAN's SN discriminator) instead of App. B's head on the shared D_enc: with
    the paper's T the zoo table measured FID(P_G) 117 against the shared head's 107, with the
    small T below 110 against 148 (seed 0).
    ``transform``: ``"digits"``, ``"photos"`` or ``"shift"`` (2-D points, with
    ``shift_stddev``; eq. 4), see ``zoo.transforms``. ``transform_scale`` scales seed 002's
    ranges and ``shift_interpolation`` picks whole-pixel (``"nearest"``) or blurring
    sub-pixel (``"bilinear"``) shifts. Why T's size matters: D's real image is T(x), so at
    eq. 3's optimum G(z', E(x)) is distributed like T(x). On Fashion-MNIST the paper's digits
    T moves the images far from the data for the shipped classifier (FID(T(x), x) 64.0,
    class agreement 49 % where x itself gets 91 %, PSNR(x, T(x)) 11.5 dB;
    ``benchmarks/transform_distance.py``), so that optimum already misses the zoo table's
    bar for reconstructions (class agreement ≥ 60 %, PSNR ≥ random pairs' 8 dB + 4 dB).
    The recipe's ``cpu`` default (the zoo table's choice, seed 0) deviates from App. B: T at a
    quarter of the ranges with whole-pixel shifts (FID(T(x), x) 9.8) and D' as its own
    SN-DCGAN discriminator. Against the paper's T with the shared D', it reconstructs with
    PSNR 13.7 against 11.0 dB and class agreement 58 % against 28 %, at about the same
    FID(P_G) (110 against 107); the small T alone made the samples worse (148).

    ``generator`` is the sampling path z -> G(z', z) with a fresh z' ~ N(0, I) per call
    (so reconstructions G(z', E(x)) are random variants of x, as in seed 002 Fig. 4 and 6);
    ``decoder`` is G(z', z) itself, which export serves with inputs ``z_noise`` and ``z``.
    Architectures: the SN-DCGAN networks (default), the point MLPs (``"mlp"``) or seed 002
    App. B Table 2's MNIST networks (``"ive_mnist"``, see ``zoo.networks``).
    """

    ARCHITECTURES = networks.ARCHITECTURES + (networks.IVE_MNIST,)
    PRIORS = ("gaussian", "uniform")
    GAUSSIAN_LATENT = False

    def default_adam_betas(self) -> tuple[float, float]:
        # App. B Table 2 (the MNIST networks): Adam beta_1 0.7 for G and D.
        return (0.7, 0.999) if self.architecture == networks.IVE_MNIST else super().default_adam_betas()

    def default_lr_ratios(self) -> dict[str, float]:
        # App. B Table 2: G (and E) at 2e-4, D at 1e-4.
        return {"d": 0.5} if self.architecture == networks.IVE_MNIST else {}

    def __init__(
        self,
        noise_dim: int = 4,
        transform: str = "digits",
        shift_stddev: float = 0.0,
        transform_scale: float = 1.0,
        shift_interpolation: str = "bilinear",
        prior: str = "gaussian",
        sample_discriminator: str = "shared",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if self.gp_weight != 0.0:
            raise ZooError("IVE-GAN trains with the plain GAN losses of eq. 3; gp_weight must be 0")
        if prior not in self.PRIORS:
            raise ZooError(f"unknown prior {prior!r}; expected one of {', '.join(self.PRIORS)}")
        self.prior = prior
        self.sample_discriminator = sample_discriminator
        self.noise_dim = int(noise_dim)
        self.transform_kind = transform
        self.shift_stddev = float(shift_stddev)
        self.transform_scale = float(transform_scale)
        self.shift_interpolation = shift_interpolation
        arch = self.architecture
        res, ch, d, w = self.resolution, self.channels, self.latent_dim, self.width
        self.transform = transforms.build_transform(
            transform, res, ch, shift_stddev, self.seed, self.transform_scale, shift_interpolation
        )
        self.decoder = networks.build_ive_generator(res, ch, self.noise_dim, d, w, "decoder", arch)
        self.encoder = networks.build_ive_encoder(res, ch, d, w, arch, tanh=prior == "uniform")
        self.discriminator = networks.build_ive_discriminator(
            res, ch, w, arch, spectral_norm=self.spectral_norm, sample_discriminator=sample_discriminator
        )
        z = keras.Input((d,), name="z")
        noise = PriorNoise(self.noise_dim, seed=None if self.seed is None else self.seed + 1, name="z_noise")
        self.generator = keras.Model(z, self.decoder([noise(z), z]), name="generator")

    def all_players(self) -> list[Player]:
        return [
            Player("d", self.discriminator, self.discriminator_objective, critic=True),
            Player("e", self.encoder, self.generator_objective),
            Player("g", self.decoder, self.generator_objective),
        ]

    def extra_metric_names(self):
        return ("reconstruction_mse",)

    def sample_latent(self, batch_size) -> tf.Tensor:
        """z ~ P_Z: N(0, I), or U(-1, 1)^d with ``prior="uniform"``."""
        if self.prior == "gaussian":
            return super().sample_latent(batch_size)
        shape = (batch_size, self.latent_dim)
        return keras.random.uniform(shape, minval=-1.0, maxval=1.0, seed=self.seed_generator)

    def prior_samples(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.prior == "gaussian":
            return super().prior_samples(n, rng)
        return rng.uniform(-1.0, 1.0, (n, self.latent_dim)).astype(np.float32)

    def sample_noise(self, batch_size) -> tf.Tensor:
        """z' ~ N(0, I) [batch_size, noise_dim] from the model's seed generator."""
        return keras.random.normal((batch_size, self.noise_dim), seed=self.seed_generator)

    def _fakes(self, x, z):
        """G(z', E(x)) and G(z'', z), each with its own noise draw."""
        batch = tf.shape(x)[0]
        recon = self.decoder([self.sample_noise(batch), self.encoder(x, training=True)], training=True)
        return recon, self.decoder([self.sample_noise(batch), z], training=True)

    def discriminator_objective(self, x, z) -> dict:
        """D: (T(x), x) real, (G(z', E(x)), x) fake; D': x real, G(z'', z) fake."""
        recon, fake = self._fakes(x, z)
        real_variant = self.transform(x, training=True)  # T on real data only
        pair, single = self.discriminator(
            [tf.concat([real_variant, recon], 0), tf.concat([x, x], 0), tf.concat([x, fake], 0)],
            training=True,
        )
        pair_real, pair_fake = tf.split(pair, 2)
        single_real, single_fake = tf.split(single, 2)
        return {
            "loss": losses.ns_discriminator_loss(pair_real, pair_fake)
            + losses.ns_discriminator_loss(single_real, single_fake)
        }

    def generator_objective(self, x, z) -> dict:
        """G and E: -log D(G(z', E(x)), x) - log D'(G(z'', z)) (non-saturating eq. 3)."""
        recon, fake = self._fakes(x, z)
        pair, single = self.discriminator([recon, x, fake], training=True)
        return {
            "loss": losses.ns_generator_loss(pair) + losses.ns_generator_loss(single),
            "reconstruction_mse": tf.reduce_mean(tf.square(tf.cast(x, tf.float32) - recon)),
        }

    def networks(self) -> dict[str, keras.Model]:
        return {"d": self.discriminator, "e": self.encoder, "g": self.decoder}

    def serving_signatures(self, rng: np.random.Generator) -> dict[str, tuple]:
        """The encoder as usual; the generator served as G(z_noise, z)."""
        out = super().serving_signatures(rng)
        codes = out["generator"][1]["z"]
        noise = rng.standard_normal((len(codes), self.noise_dim)).astype(np.float32)
        out["generator"] = (self.decoder, {"z_noise": noise, "z": codes}, "images")
        return out

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "noise_dim": self.noise_dim,
            "transform": self.transform_kind,
            "shift_stddev": self.shift_stddev,
            "transform_scale": self.transform_scale,
            "shift_interpolation": self.shift_interpolation,
            "prior": self.prior,
            "sample_discriminator": self.sample_discriminator,
        }

    def call(self, z, training=False):
        return self.generator(z, training=training)
