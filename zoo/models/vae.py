"""Variational auto-encoder: seed 000 appendix A.2 (Kingma & Welling 2014)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from zoo import losses, networks
from zoo.errors import ZooError
from zoo.trainer import AdversarialModel, Player


class LogSigma(keras.layers.Layer):
    """Holds the decoder's learned log σ (one scalar, starting at ``initial``); passes
    its input through."""

    def __init__(self, initial: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.initial = float(initial)

    def build(self, input_shape):
        init = keras.initializers.Constant(self.initial)
        self.log_sigma = self.add_weight(shape=(), initializer=init, name="log_sigma")

    def get_config(self):
        return {**super().get_config(), "initial": self.initial}

    def call(self, inputs):
        return inputs


DEFAULT_LOG_SIGMA = -2.3  # σ ≈ 0.1; see VAE's docstring
MIXTURE_LR_RATIO = 50.0


class MixturePrior(keras.layers.Layer):
    """A mixture of ``components`` full-covariance Gaussians over d-dimensional codes:
    weights π = softmax(logits), means μ_k and Cholesky factors L_k (strictly lower part
    free, diagonal exp(log_diag)). ``call((noise, uniform))`` maps noise ~ N(0, I_d) and
    uniform ~ U(0, 1) [B, 1] to a draw z = μ_c + L_c noise, with c the component whose
    interval of the cumulative weights holds ``uniform``. At the start L_k = I and μ_k are
    small (N(0, 0.1²)), so the untrained mixture is close to N(0, I)."""

    def __init__(self, components: int, **kwargs):
        super().__init__(**kwargs)
        self.components = int(components)

    def build(self, input_shape):
        k, d = self.components, int(input_shape[0][-1])
        self.logits = self.add_weight(shape=(k,), initializer="zeros", name="logits")
        init = keras.initializers.RandomNormal(stddev=0.1)
        self.means = self.add_weight(shape=(k, d), initializer=init, name="means")
        self.lower = self.add_weight(shape=(k, d, d), initializer="zeros", name="lower")
        self.log_diag = self.add_weight(shape=(k, d), initializer="zeros", name="log_diag")

    def scale_tril(self) -> tf.Tensor:
        strict = tf.linalg.band_part(self.lower, -1, 0) - tf.linalg.band_part(self.lower, 0, 0)
        return strict + tf.linalg.diag(tf.exp(self.log_diag))

    def log_prob(self, z: tf.Tensor) -> tf.Tensor:
        return losses.mixture_log_likelihood(z, self.logits, self.means, self.scale_tril())

    def call(self, inputs):
        noise, uniform = inputs
        cumulative = tf.cumsum(tf.nn.softmax(self.logits))[:-1]
        c = tf.reduce_sum(tf.cast(uniform >= cumulative[None], tf.int32), axis=1)
        return tf.gather(self.means, c) + tf.einsum("bij,bj->bi", tf.gather(self.scale_tril(), c), noise)

    def get_config(self):
        return {**super().get_config(), "components": self.components}


class VAE(AdversarialModel):
    """VAE of seed 000 appendix A.2: unit Gaussian prior P_Z, factored Gaussian posterior
    N(μ(x), diag σ²_E(x)) and Gaussian decoder N(G(z), σ² I) with a learned σ:

        G, E: min E_x [ E_{z ~ N(μ(x), Σ(x))} ||x - G(z)||² / (2σ²) + d log σ
                        + KL[N(μ(x), Σ(x)) || N(0, I)] ]

    with one reparameterised sample z = μ + σ_E ⊙ ε per example. The appendix prints the
    reconstruction term with a minus sign and the log σ term with d_Z; the Gaussian
    log-likelihood it stands for has a plus sign and d = the number of values in x (784
    for Fashion-MNIST), which is what is minimised here (``losses.gaussian_nll``), so the
    loss is the negative ELBO up to the constant (d/2) log 2π.

    Networks: the encoder trunk of ``zoo.networks`` with 2·d_z outputs (μ, log σ²_E) and
    the generator as the decoder mean. ``encoder`` returns μ(x) (what export, metrics and
    reconstructions use); the whole model trains as one player, ``vae``.

    ``log_sigma_init``: log σ at the start. The default -2.3 (σ ≈ 0.1) is near the
    per-pixel error of a useful reconstruction of [0, 1] images; the appendix gives no
    starting value. Measured reason (zoo table, cpu preset, Fashion-MNIST, seed 0): from
    σ = 1 (``log_sigma_init=0``, the default before) Adam moves log σ by about the learning
    rate per step, so after 5 000 steps at 2e-4 σ cannot be below ≈ 0.37 and the KL term
    dominates: FID(P_G) 113, FID(recon) 44.3, PSNR 18.1 dB; from σ = 0.1 the same run
    reached FID(P_G) 71.0, FID(recon) 15.6, PSNR 22.4 dB and class agreement 85.5 %.

    ``prior="mixture"``: ex-post density estimation (Ghosh et al. 2020, "From variational to
    deterministic autoencoders", §4): after ``prior_start_step`` the networks are frozen and
    a mixture of ``prior_components`` full-covariance Gaussians (``MixturePrior``) is fitted
    by maximum likelihood to draws z ~ q(z|x) of the training data,

        p_mix: max E_x E_{z ~ q(z|x)} log Σ_k π_k N(z; μ_k, L_k L_kᵀ),

    and samples are G(z) with z ~ p_mix (``sample_latent``, ``prior_samples``; export
    serves the mixture as ``vae_prior``). The ELBO is unchanged: its KL still pulls q(z|x)
    towards N(0, I). Not seed 000's model (``prior="gaussian"``, ``--preset paper``).
    Measured reason (in-domain FID, decoder of the 5 000-step cpu-preset run, seed 0):
    samples from N(0, I) scored FID(P_X,P_G) 71.1 while decoding the training codes
    themselves scored 14.5, so the decoder is not what fails; the aggregate posterior does
    not fill N(0, I). A single full-covariance Gaussian fitted to the codes scored 80.8; a
    10-component mixture 26.7 (scikit-learn's EM) and 26.6 after 2 000 Adam steps of the fit
    above; a second-stage VAE on the codes (Dai & Wipf 2019) 50.4 after 5 000 steps and
    44.3 after 20 000 (``recipes/results/vae_sampling_prior/``). Trained as the cpu preset's
    default (zoo table, seeds 0-2): FID(P_G) 29.6 ± 2.7 against 71.0 (seed 0), recall 0.40
    against 0.52.
    """

    PHASES = ("joint", "prior")
    PRIORS = ("gaussian", "mixture")

    def __init__(
        self,
        log_sigma_init: float = DEFAULT_LOG_SIGMA,
        prior: str = "gaussian",
        prior_components: int = 10,
        prior_start_step: int = 0,
        **kwargs,
    ):
        if prior not in self.PRIORS:
            raise ZooError(f"unknown prior {prior!r}; expected one of {', '.join(self.PRIORS)}")
        if not int(prior_components) >= 1 or not int(prior_start_step) >= 0:
            raise ZooError(
                f"prior_components must be >= 1 and prior_start_step >= 0, got {prior_components} and {prior_start_step}"
            )
        if prior == "mixture" and kwargs.get("lr_ratios") is None:
            # The mixture is fitted 50× faster than the networks learn (Adam at 1e-2 under
            # the cpu preset's 2e-4): a density estimate of fixed codes, not a game.
            kwargs["lr_ratios"] = {"prior": MIXTURE_LR_RATIO}
        super().__init__(**kwargs)
        self.log_sigma_init = float(log_sigma_init)
        self.prior, self.prior_components = prior, int(prior_components)
        self.prior_start_step = int(prior_start_step) if prior == "mixture" else 0
        self.GAUSSIAN_LATENT = prior == "gaussian"  # AIS assumes z ~ N(0, I), not the mixture
        shape = (self.resolution, self.channels)
        d = self.latent_dim
        self.posterior = networks.build_encoder(
            *shape, 2 * d, self.width, name="posterior", **self.network_kwargs()
        )
        self.generator = networks.build_generator(*shape, d, self.width, **self.network_kwargs())
        self.encoder = keras.Model(self.posterior.input, self.posterior.output[:, :d], name="encoder")
        self.noise = LogSigma(self.log_sigma_init, name="decoder_log_sigma")
        x = keras.Input(self.posterior.input.shape[1:], name="images")
        eps = keras.Input((d,), name="eps")
        stats = self.posterior(x)
        mean, log_var = stats[:, :d], stats[:, d:]
        z = mean + keras.ops.exp(0.5 * log_var) * eps
        self.autoencoder = keras.Model([x, eps], [self.noise(self.generator(z)), mean, log_var], name="vae")
        self.mixture = None
        if prior == "mixture":
            noise, uniform = keras.Input((d,), name="noise"), keras.Input((1,), name="uniform")
            layer = MixturePrior(self.prior_components, name="mixture")
            self.mixture = layer
            self.prior_sampler = keras.Model([noise, uniform], layer([noise, uniform]), name="prior_sampler")
        self.phase = self.phase_for_step(0)

    def phase_for_step(self, step: int) -> str:
        return "prior" if self.mixture is not None and step >= self.prior_start_step else "joint"

    def all_players(self) -> list[Player]:
        players = [Player("vae", self.autoencoder, self.negative_elbo)]
        if self.mixture is not None:
            players.append(Player("prior", self.prior_sampler, self.prior_objective, phases=("prior",)))
        return players

    def sample_latent(self, batch_size) -> tf.Tensor:
        """z ~ P_Z: N(0, I), or the fitted mixture with ``prior="mixture"``."""
        noise = super().sample_latent(batch_size)
        if self.mixture is None:
            return noise
        uniform = keras.random.uniform((batch_size, 1), seed=self.seed_generator)
        return self.mixture([noise, uniform])

    def prior_samples(self, n: int, rng: np.random.Generator) -> np.ndarray:
        noise = rng.standard_normal((n, self.latent_dim)).astype(np.float32)
        if self.mixture is None:
            return noise
        uniform = rng.uniform(size=(n, 1)).astype(np.float32)
        return np.asarray(self.mixture([noise, uniform]), dtype=np.float32)

    def prior_objective(self, x, z) -> dict:
        """-E_x E_{z ~ q(z|x)} log p_mix(z): the mixture's maximum-likelihood fit to the
        codes of the (frozen) encoder, one reparameterised draw per example."""
        stats = self.posterior(x, training=True)
        d = self.latent_dim
        eps = keras.random.normal(tf.shape(stats[:, :d]), seed=self.seed_generator)
        codes = stats[:, :d] + tf.exp(0.5 * stats[:, d:]) * eps
        return {"loss": -tf.reduce_mean(self.mixture.log_prob(tf.stop_gradient(codes)))}

    def extra_metric_names(self):
        return ("kl", "reconstruction_mse", "sigma")

    def negative_elbo(self, x, z) -> dict:
        """-ELBO per example (without the constant), averaged over the batch."""
        eps = keras.random.normal((tf.shape(x)[0], self.latent_dim), seed=self.seed_generator)
        recon, mean, log_var = self.autoencoder([x, eps], training=True)
        kl = losses.gaussian_kl(mean, log_var)
        nll = losses.gaussian_nll(x, recon, self.noise.log_sigma)
        return {
            "loss": tf.reduce_mean(nll + kl),
            "kl": tf.reduce_mean(kl),
            "reconstruction_mse": tf.reduce_mean(tf.square(tf.cast(x, tf.float32) - recon)),
            "sigma": tf.exp(self.noise.log_sigma),
        }

    def networks(self) -> dict[str, keras.Model]:
        out = {"vae": self.autoencoder}
        if self.mixture is not None:
            out["prior"] = self.prior_sampler
        return out

    def serving_signatures(self, rng: np.random.Generator) -> dict[str, tuple]:
        out = super().serving_signatures(rng)
        if self.mixture is not None:  # z ~ the mixture from N(0, I) and U(0, 1) draws
            inputs = {
                "noise": rng.standard_normal((5, self.latent_dim)).astype(np.float32),
                "uniform": rng.uniform(size=(5, 1)).astype(np.float32),
            }
            out["prior"] = (self.prior_sampler, inputs, "z")
        return out

    def get_config(self) -> dict:
        config = {**super().get_config(), "log_sigma_init": self.log_sigma_init, "prior": self.prior}
        if self.prior == "mixture":
            config.update(prior_components=self.prior_components, prior_start_step=self.prior_start_step)
        return config

    def call(self, z, training=False):
        return self.generator(z, training=training)
