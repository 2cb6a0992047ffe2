"""BiGAN / ALI and its extensions: + an inversion loss (seed 000), MDGAN, P-MDGAN and
EP-MDGAN (seed 004)."""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from zoo import losses, networks
from zoo.errors import ZooError
from zoo.metrics import psnr_tf
from zoo.models import inversion as inv
from zoo.sampling import ScoreSampler
from zoo.trainer import AdversarialModel, Player


class BiGAN(AdversarialModel):
    """BiGAN (Donahue et al. 2017, eq. 3 and App. B; = ALI, Dumoulin et al. 2017; seed 000
    eq. 2), optionally with one of seed 000's inversion losses on the encoder (§3.2, A.2):

      D:  min E_x[-log D(x, E(x))] + E_z[-log(1 - D(G(z), z))]   (+ WGAN-GP on (x, z))
      G:  min E_z[-log D(G(z), z)]                                (the "inverse" objective
      E:  min E_x[-log(1 - D(x, E(x)))] + λ · L_inv(E)              of App. B, per player)

    ``inversion`` is None (plain BiGAN) or one of ``x_ae, z_ae, x_adv, z_adv``, the same
    losses IGE-GAN uses (``zoo.models.inversion``), weighted by ``inversion_weight`` (λ).
    For the adversarial ones D2 shares every parameter with D but the final FC layer
    (A.3.2): the joint discriminator gets a second head, and since the trunk is shared its
    one optimiser minimises D's loss + D2's loss. λ = 0 is exactly BiGAN: no D2 head is
    built and the adversarial inversion loss is not computed (the AE losses are still
    computed and logged, with weight 0).

    Networks: SN-DCGAN generator, LayerNorm encoder, spectrally-normalised joint
    discriminator. ``joint_fusion="every_layer"`` is seed 000 A.3.2's (z added as a bias at
    every layer; ``--preset paper`` of the ``bigan*`` recipes); the default ``"late"``
    fuses once at the top, as seed 004 Table 3's discriminator does (x trunk to 1x1, a z
    path, a joint head; ``zoo.networks._late_fusion_joint_discriminator``). Measured
    reason (zoo table, cpu preset, Fashion-MNIST, seed 0): every_layer BiGAN reached
    FID(P_G) 179 (samples grey blobs) and BiGAN + X-AE 183; late reached 20.4 and 43.5,
    with the GAN at 24.5. Late fusion did not make plain BiGAN's encoder learn at this
    budget (PSNR 7.86 against random pairs' 7.77 dB), nor did a 4x faster D (FID 85.0).
    ``joint_dropout``: dropout after every hidden activation of the joint D (ALI's
    discriminators use 0.2; 0, the default: none). ``cycle_critic_weight`` (z_adv only;
    0 by default): ALICE's latent cycle critic D3 on [z, z'] pairs and E's extra term
    λ_c · E_z[-log D3(z, E(G(z)))], as in ``IGEGAN``; ``cycle_critic_norm`` as there.
    ``encoder_norm``: ``"layer"`` (seed 000 A.3.2's encoder, the default) or ``"batch"``:
    batch norm in E's hidden layers, as the encoders of Donahue et al.'s and Dumoulin et
    al.'s code have (``jeffdonahue/bigan`` net.py, ``IshmaelBelghazi/ALI``); with batch
    statistics the codes of one batch cannot all move together, the collapse seen in
    plain BiGAN's zoo-table row (every G(E(x)) the same image).
    ``encoder_feature_norm``: ``"none"`` (seed 000 A.3.2's encoder, the default) or
    ``"batch"``: parameter-free batch norm on E's last hidden features, before its output
    layer (``networks.build_encoder``'s ``feature_norm``; Donahue et al.'s MNIST encoder has
    one on its last hidden layer, C.1). Reason (``benchmarks/encoder_codes.py``): plain
    BiGAN's codes collapse to one point (mean pairwise cosine 0.96-1.00) while its
    untrained encoder's features share a large common part, so one Adam step on the output
    layer moves every code the same way; with the features centred per batch the codes'
    batch mean is the output bias and only it can drift together. Its inference
    statistics are recomputed from the first training batches before each checkpoint
    (``batch_statistics_networks``; ``zoo.training.refresh_batch_statistics``). Measured
    (zoo table ``bigan_feature_bn``, cpu preset, seed 0): the codes spread like the prior's
    (mean cosine <= 0.015 from step 1 000), 1-NN on E(x) 0.785 (plain BiGAN 0.656) and
    FID(P_X,P_G(E(X))) 39.5 (557), but no pairing (PSNR 8.61 dB against random pairs' 8.57,
    class agreement 6.7 %); not the default until seeds 1 and 2 are in.
    ``joint_scores``: ``"summed"`` (one logit, the default) or ``"separate"``: BigBiGAN's
    (Donahue & Simonyan 2019 §2) unary and joint scores s_x, s_z, s_xz, each its own
    output, D's loss applied to each (``losses.separate_scores_discriminator_loss``), G and
    E playing against their sum, and the gradient penalty (if any; BigBiGAN has none)
    taken on the sum; its joint path J is one layer deeper than the summed head's. Late
    fusion, image networks and no D2 only. Not the default: on plain BiGAN (zoo table, cpu
    preset, seed 0) it gave FID(P_G) 13.6 but no pairing (class agreement 10.0 %, PSNR 8.56
    against random pairs' 8.30 dB, latent recovery 2.48, 1-NN 0.659 against its untrained
    encoder's 0.745).
    """

    JOINT_SCORES = ("summed", "separate")

    def __init__(
        self,
        inversion: str | None = None,
        inversion_weight: float = 1.0,
        joint_fusion: str = "late",
        joint_dropout: float = 0.0,
        cycle_critic_weight: float = 0.0,
        cycle_critic_norm: str = "none",
        encoder_norm: str = "layer",
        joint_scores: str = "summed",
        encoder_feature_norm: str = "none",
        **kwargs,
    ):
        inv.check_inversion(inversion, allow_none=True)
        if joint_scores not in self.JOINT_SCORES:
            raise ZooError(
                f"unknown joint_scores {joint_scores!r}; expected one of {', '.join(self.JOINT_SCORES)}"
            )
        if joint_scores == "separate" and joint_fusion != "late":
            raise ZooError(f"joint_scores='separate' needs joint_fusion='late', not {joint_fusion!r}")
        if joint_scores == "separate" and kwargs.get("architecture", "dcgan") != "dcgan":
            raise ZooError("joint_scores='separate' needs the image (dcgan) networks, not the mlp ones")
        inv.check_cycle_critic(inversion, cycle_critic_weight, cycle_critic_norm)
        networks.check_dropout(joint_dropout)
        if encoder_feature_norm not in networks.ENCODER_FEATURE_NORMS:
            raise ZooError(
                f"unknown encoder_feature_norm {encoder_feature_norm!r}; expected one of "
                f"{', '.join(networks.ENCODER_FEATURE_NORMS)}"
            )
        if not float(inversion_weight) >= 0:
            raise ZooError(f"inversion_weight must be >= 0, got {inversion_weight}")
        networks.check_fusion(joint_fusion)
        if float(cycle_critic_weight) > 0 and not float(inversion_weight) > 0:
            raise ZooError("cycle_critic_weight > 0 needs inversion_weight > 0 (it adds to the z_adv game)")
        super().__init__(**kwargs)
        self.inversion = inversion
        self.inversion_weight = float(inversion_weight)
        self.joint_fusion = joint_fusion
        self.joint_dropout = float(joint_dropout)
        self.cycle_critic_weight = float(cycle_critic_weight)
        self.cycle_critic_norm = cycle_critic_norm
        self.encoder_norm = encoder_norm
        self.joint_scores = joint_scores
        self.encoder_feature_norm = encoder_feature_norm
        if joint_scores == "separate" and self.has_d2:
            raise ZooError("joint_scores='separate' is for the joint D alone (no D2 head): not x_adv / z_adv")
        shape = (self.resolution, self.channels, self.latent_dim, self.width)
        self.generator = networks.build_generator(*shape, **self.network_kwargs())
        self.encoder = networks.build_encoder(
            *shape, normalization=encoder_norm, feature_norm=encoder_feature_norm, **self.network_kwargs()
        )
        self.discriminator = networks.build_joint_discriminator(
            *shape,
            heads=2 if self.has_d2 else 1,
            name="discriminator",
            fusion=joint_fusion,
            dropout=self.joint_dropout,
            separate_scores=joint_scores == "separate",
            **self.discriminator_kwargs(),
        )
        self.cycle_critic = inv.build_cycle_critic(
            self.latent_dim, self.cycle_critic_weight, cycle_critic_norm, self.spectral_norm
        )

    def batch_statistics_networks(self) -> list[keras.Model]:
        return [self.encoder] if self.encoder_feature_norm == "batch" else []

    @property
    def has_d2(self) -> bool:
        """Whether an adversarial inversion loss is active (and D has a D2 head)."""
        return inv.is_adversarial(self.inversion) and self.inversion_weight > 0

    @property
    def computes_inversion(self) -> bool:
        return self.inversion is not None and (self.has_d2 or not inv.is_adversarial(self.inversion))

    def all_players(self) -> list[Player]:
        critics = [Player("d", self.discriminator, self.discriminator_objective, critic=True)]
        if self.cycle_critic is not None:
            critics.append(Player("d3", self.cycle_critic, self.cycle_critic_objective, critic=True))
        return [
            *critics,
            Player("g", self.generator, self.generator_objective),
            Player("e", self.encoder, self.encoder_objective),
        ]

    def extra_metric_names(self):
        names = ["latent_recovery"]
        if self.computes_inversion:
            names.append("inversion_loss")
        if self.has_d2:
            names.append("d2_loss")
        return names

    def _head(self, index: int):
        """D (index 0) or D2 (index 1) as a function of an [x, z] pair, in training mode;
        with separate scores, D's logit is their sum s_x + s_z + s_xz (BigBiGAN)."""
        k = 3 if self.joint_scores == "separate" else 1  # columns per head
        return lambda pair: tf.reduce_sum(
            self.discriminator(pair, training=True)[:, k * index : k * (index + 1)], axis=1, keepdims=True
        )

    # --------------------------------------------------------------- objectives
    def discriminator_objective(self, x, z) -> dict:
        fake, code = self.generator(z, training=True), self.encoder(x, training=True)
        real_pair, fake_pair = [x, code], [fake, z]
        both = [tf.concat([a, b], axis=0) for a, b in zip(real_pair, fake_pair)]
        if self.joint_scores == "separate":  # each of s_x, s_z, s_xz trained on its own
            real_scores, fake_scores = tf.split(self.discriminator(both, training=True), 2, axis=0)
            loss = losses.separate_scores_discriminator_loss(real_scores, fake_scores)
        else:
            real_logits, fake_logits = tf.split(self._head(0)(both), 2, axis=0)
            loss = losses.ns_discriminator_loss(real_logits, fake_logits)
        loss += self.gradient_penalty_term(self._head(0), real_pair, fake_pair)
        out = {}
        if self.has_d2:
            true_pair, inverted_pair = inv.critic_pairs(self.inversion, self.generator, self.encoder, z)
            d2 = inv.critic_loss(self._head(1), true_pair, inverted_pair)
            d2 += self.gradient_penalty_term(self._head(1), true_pair, inverted_pair)
            loss += d2
            out["d2_loss"] = d2
        return {"loss": loss, **out}

    def _cycle_critic(self, pair: list) -> tf.Tensor:
        return self.cycle_critic(pair, training=True)

    def cycle_critic_objective(self, x, z) -> dict:
        """D3's loss E[-log D3(z, z)] + E[-log(1 - D3(z, E(G(z))))] (+ WGAN-GP)."""
        return inv.cycle_critic_objective(self._cycle_critic, self.generator, self.encoder, z, self)

    def generator_objective(self, x, z) -> dict:
        fake_logits = self._head(0)([self.generator(z, training=True), z])
        return {"loss": losses.bigan_generator_loss(fake_logits)}

    def encoder_objective(self, x, z) -> dict:
        code = self.encoder(x, training=True)  # computed once, shared by every term
        loss, out = self.encoder_terms(x, z, code)
        return {"loss": loss, **out}

    def encoder_terms(self, x, z, code) -> tuple[tf.Tensor, dict]:
        """E's loss given ``code`` = E(x), and its extra metrics. Variants add terms."""
        loss = losses.bigan_encoder_loss(self._head(0)([x, code]))
        out = {}
        if self.computes_inversion:
            critic = self._head(1) if self.has_d2 else None
            inversion_loss, z_hat = inv.encoder_inversion_loss(
                self.inversion, self.generator, self.encoder, critic, z
            )
            loss += self.inversion_weight * inversion_loss
            out["inversion_loss"] = inversion_loss
            if self.cycle_critic is not None:
                cycle = inv.cycle_critic_encoder_loss(self._cycle_critic, z, z_hat)
                loss += self.cycle_critic_weight * cycle
        else:  # monitoring only: no gradient flows from it
            z_hat = self.encoder(tf.stop_gradient(self.generator(z, training=True)), training=True)
        out["latent_recovery"] = tf.stop_gradient(losses.latent_recovery_error(z, z_hat))
        return loss, out

    # ---------------------------------------------------------------- inference
    def generate(self, z: tf.Tensor) -> tf.Tensor:
        """G(z) in inference mode."""
        return self.generator(z, training=False)

    def encode(self, x: tf.Tensor) -> tf.Tensor:
        """E(x) in inference mode."""
        return self.encoder(x, training=False)

    def reconstruct(self, x: tf.Tensor) -> tf.Tensor:
        """G(E(x)) in inference mode."""
        return self.generator(self.encoder(x, training=False), training=False)

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "inversion": self.inversion,
            "inversion_weight": self.inversion_weight,
            "joint_fusion": self.joint_fusion,
            "joint_scores": self.joint_scores,
            "joint_dropout": self.joint_dropout,
            "cycle_critic_weight": self.cycle_critic_weight,
            "cycle_critic_norm": self.cycle_critic_norm,
            "encoder_norm": self.encoder_norm,
            "encoder_feature_norm": self.encoder_feature_norm,
        }


class MDGAN(BiGAN):
    """MDGAN (seed 004 eq. 2 and App. B eq. 8): BiGAN + λ_cyc · MSE(x, G(E(x))) on real
    data, minimised by both E and G (each differentiates it w.r.t. its own variables).

    Seed 004 Table 1: λ_cyc = 8 (CIFAR-10), 9 (F-MNIST). ``cycle_weight`` = 0 is BiGAN.
    """

    def __init__(self, cycle_weight: float = 9.0, **kwargs):
        if not float(cycle_weight) >= 0:
            raise ZooError(f"cycle_weight must be >= 0, got {cycle_weight}")
        super().__init__(**kwargs)
        self.cycle_weight = float(cycle_weight)

    def extra_metric_names(self):
        return [*super().extra_metric_names(), "cycle_loss"]

    def cycle_term(self, x, code=None) -> tf.Tensor:
        """L_cyc = E_x MSE(x, G(E(x))) (seed 004 eq. 2); ``code`` = E(x) if already computed."""
        code = self.encoder(x, training=True) if code is None else code
        return losses.cycle_loss(x, self.generator(code, training=True))

    def generator_objective(self, x, z) -> dict:
        out = super().generator_objective(x, z)
        return {**out, "loss": out["loss"] + self.cycle_weight * self.cycle_term(x)}

    def encoder_terms(self, x, z, code):
        loss, out = super().encoder_terms(x, z, code)
        cycle = self.cycle_term(x, code)
        return loss + self.cycle_weight * cycle, {**out, "cycle_loss": cycle}

    def get_config(self) -> dict:
        return {**super().get_config(), "cycle_weight": self.cycle_weight}


def prior_norm_std(latent_dim: int) -> float:
    """Standard deviation of ||z|| for z ~ N(0, I_d) (the chi distribution):
    sqrt(d - mu^2) with mu = sqrt(2) Gamma((d+1)/2) / Gamma(d/2)."""
    d = float(latent_dim)
    mu = math.sqrt(2.0) * math.exp(math.lgamma((d + 1) / 2) - math.lgamma(d / 2))
    return math.sqrt(max(d - mu * mu, 0.0))


class PMDGAN(MDGAN):
    """P-MDGAN (seed 004 eq. 5-6, App. B eq. 8): MDGAN + λ_norm · E_x[(||E(x)|| - sqrt(d_z))^2]
    on the encoder, with λ_norm tuned during training.

    Seed 004 App. B only says λ_norm starts at 0.01, is held for the first 200 of 800
    epochs and is then "updated according to the variance of ||E(x)||". The exact rule
    implemented here (its thresholds and step size follow the authors' released code,
    with epochs replaced by steps):
      * λ_norm = ``norm_weight`` until step ``norm_hold_steps``;
      * then every ``norm_update_every`` steps, with s_E the standard deviation of
        ||E(x)|| over the real examples of those steps and s_p that of ||z|| under the
        prior (``prior_norm_std``): if s_E > 1.01 s_p, λ_norm += δ; if s_E < 0.98 s_p,
        λ_norm -= δ; with δ = max(0.01, norm_hold_steps / step / 10) and λ_norm kept
        in [0.001, 1].
    ``adapt_norm_weight=False`` keeps λ_norm fixed (``norm_weight`` = 0 then is MDGAN).
    λ_norm is a checkpointed variable and is logged as the metric ``norm_weight``.
    """

    def __init__(
        self,
        norm_weight: float = 0.01,
        adapt_norm_weight: bool = True,
        norm_hold_steps: int = 1000,
        norm_update_every: int = 100,
        **kwargs,
    ):
        if not float(norm_weight) >= 0:
            raise ZooError(f"norm_weight must be >= 0, got {norm_weight}")
        if int(norm_hold_steps) < 0 or int(norm_update_every) < 1:
            raise ZooError(
                f"norm_hold_steps must be >= 0 and norm_update_every >= 1, got "
                f"{norm_hold_steps} and {norm_update_every}"
            )
        super().__init__(**kwargs)
        self.norm_weight = float(norm_weight)
        self.adapt_norm_weight = bool(adapt_norm_weight)
        self.norm_hold_steps = int(norm_hold_steps)
        self.norm_update_every = int(norm_update_every)
        self.prior_std = prior_norm_std(self.latent_dim)
        self.lambda_norm = keras.Variable(
            self.norm_weight, dtype="float32", trainable=False, name="lambda_norm"
        )
        # Sums of 1, ||E(x)|| and ||E(x)||^2 since the last update of lambda_norm.
        self.norm_moments = keras.Variable(
            [0.0, 0.0, 0.0], dtype="float32", trainable=False, name="norm_moments"
        )

    def extra_metric_names(self):
        return [*super().extra_metric_names(), "norm_loss", "norm_weight", "latent_norm_ratio"]

    def encoder_terms(self, x, z, code):
        loss, out = super().encoder_terms(x, z, code)
        norm = losses.latent_norm_loss(code)
        ratio = tf.reduce_mean(tf.norm(code, axis=-1)) / math.sqrt(self.latent_dim)
        return loss + self.lambda_norm * norm, {
            **out,
            "norm_loss": norm,
            "norm_weight": tf.convert_to_tensor(self.lambda_norm),
            "latent_norm_ratio": tf.stop_gradient(ratio),
        }

    def train_step(self, data):
        logs = super().train_step(data)
        if self.adapt_norm_weight:
            x = data[0] if isinstance(data, (tuple, list)) else data
            norms = tf.norm(self.encoder(x, training=False), axis=-1)
            self.norm_moments.assign_add(
                tf.stack([tf.cast(tf.size(norms), tf.float32), tf.reduce_sum(norms), tf.reduce_sum(norms**2)])
            )
            step = self.step  # already incremented by the base train_step
            due = tf.logical_and(step > self.norm_hold_steps, step % self.norm_update_every == 0)
            tf.cond(due, self._adapt_lambda_norm, lambda: tf.constant(True))
        return logs

    def _adapt_lambda_norm(self) -> tf.Tensor:
        n, s1, s2 = tf.unstack(self.norm_moments)
        mean = s1 / tf.maximum(n, 1.0)
        std = tf.sqrt(tf.maximum(s2 / tf.maximum(n, 1.0) - mean * mean, 0.0))
        step = tf.cast(self.step, tf.float32)
        delta = tf.maximum(0.01, self.norm_hold_steps / step / 10.0)
        lam = self.lambda_norm
        lam_new = tf.where(std > 1.01 * self.prior_std, lam + delta, lam)
        lam_new = tf.where(std < 0.98 * self.prior_std, lam - delta, lam_new)
        self.lambda_norm.assign(tf.clip_by_value(lam_new, 0.001, 1.0))
        self.norm_moments.assign(tf.zeros(3))
        return tf.constant(True)

    def training_state(self) -> dict:
        return {"lambda_norm": self.lambda_norm, "norm_moments": self.norm_moments}

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "norm_weight": self.norm_weight,
            "adapt_norm_weight": self.adapt_norm_weight,
            "norm_hold_steps": self.norm_hold_steps,
            "norm_update_every": self.norm_update_every,
        }


class MLeqPMDGAN(PMDGAN):
    """P-MDGAN with MLeq (seed 004 §4): P-MDGAN trained on minibatches drawn
    non-uniformly by a fixed score per training example (the paper: the AIS marginal
    log-likelihood of G(E(x_k)) under a first P-MDGAN), with

        Pr(x_k) = (1 - λ_perc) / N + λ_perc (k/100)^λ_dist / Σ_j (j/100)^λ_dist,

    k = the example's rank from the highest score (k = 1) to the lowest (k = N), so
    badly scored examples are drawn more often (``zoo.sampling``).

    ``self.sampler`` holds the score table of the ``num_examples`` training images; set
    it with ``set_scores``. Training data are its ``(images, indices)`` batches,
    ``model.sampler.dataset(train_images, batch_size, seed)``. The table is
    checkpointed with the model. ``lambda_perc`` = 0 samples uniformly.

    Defaults: seed 004 Table 1, F-MNIST (λ_cyc 5, λ_perc 0.8, λ_dist 8; CIFAR-10: 5,
    0.5, 8).
    """

    def __init__(
        self,
        num_examples: int = 60_000,
        lambda_perc: float = 0.8,
        lambda_dist: float = 8.0,
        cycle_weight: float = 5.0,
        **kwargs,
    ):
        super().__init__(cycle_weight=cycle_weight, **kwargs)
        self.num_examples = int(num_examples)
        self.sampler = ScoreSampler(self.num_examples, lambda_perc, lambda_dist)
        self.lambda_perc, self.lambda_dist = self.sampler.lambda_perc, self.sampler.lambda_dist

    def set_scores(self, scores) -> None:
        """Replace the whole score table (higher = better; ``num_examples`` finite values)."""
        scores = np.asarray(scores, np.float32)
        if scores.shape != (self.num_examples,):
            raise ZooError(
                f"expected {self.num_examples} scores, one per training example, got shape {scores.shape}"
            )
        if not np.all(np.isfinite(scores)):
            raise ZooError(f"scores must be finite; {int(np.sum(~np.isfinite(scores)))} are not")
        self.sampler.scores.assign(scores)

    def split_batch(self, data) -> tuple[tf.Tensor, tf.Tensor]:
        if not (isinstance(data, (tuple, list)) and len(data) == 2):
            raise ZooError(
                f"{type(self).__name__} trains on (images, indices) batches: "
                "use model.sampler.dataset(train_images, batch_size, seed)"
            )
        return data[0], data[1]

    def train_step(self, data):
        x, _ = self.split_batch(data)
        return super().train_step(x)

    def training_state(self) -> dict:
        return {**super().training_state(), "sampler_scores": self.sampler.scores}

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_examples": self.num_examples,
            "lambda_perc": self.lambda_perc,
            "lambda_dist": self.lambda_dist,
        }


class EPMDGAN(MLeqPMDGAN):
    """EP-MDGAN (seed 004 §4): P-MDGAN with MLeq's sampling, the fixed log-likelihood
    replaced by each example's latest PSNR(x_k, G(E(x_k))), refreshed during training.

    After every step the PSNR of the batch's examples under the updated networks
    (inference mode) replaces their scores, so the next batches are drawn from them
    ("recompute the PSNR for each image after each mini-batch has been trained"); the
    batch's mean PSNR is logged as ``batch_psnr``. The paper does not say how the scores
    start: ``score_all(train_images)`` scores every example once before training (the
    recipe does); until then all scores are 0 and ties are ranked in index order.

    Defaults: seed 004 Table 1, F-MNIST (λ_cyc 3, λ_perc 0.8, λ_dist 4; CIFAR-10: 3,
    0.5, 12).
    """

    def __init__(self, lambda_dist: float = 4.0, cycle_weight: float = 3.0, **kwargs):
        super().__init__(lambda_dist=lambda_dist, cycle_weight=cycle_weight, **kwargs)

    def extra_metric_names(self):
        return [*super().extra_metric_names(), "batch_psnr"]

    def reconstruction_psnr(self, x: tf.Tensor) -> tf.Tensor:
        """PSNR(x, G(E(x))) per example [B] in inference mode."""
        return psnr_tf(x, self.reconstruct(x))

    def train_step(self, data):
        x, idx = self.split_batch(data)
        logs = super().train_step(data)
        scores = self.reconstruction_psnr(x)
        self.sampler.update(idx, scores)
        tracker = self._trackers["batch_psnr"]
        tracker.update_state(tf.reduce_mean(scores))
        return {**logs, "batch_psnr": tracker.result()}

    def score_all(self, images, batch_size: int = 1000) -> np.ndarray:
        """Set every example's score to its PSNR(x, G(E(x))) now and return the scores.
        ``images``: the ``num_examples`` training images (uint8, or float32 in [0, 1])."""
        if len(images) != self.num_examples:
            raise ZooError(f"score_all: the sampler has {self.num_examples} examples, got {len(images)}")
        score = tf.function(self.reconstruction_psnr, reduce_retracing=True)  # ~1.5x eager's speed
        scores = []
        for i in range(0, len(images), batch_size):
            x = tf.convert_to_tensor(images[i : i + batch_size])
            if x.dtype == tf.uint8:
                x = tf.cast(x, tf.float32) / 255.0
            scores.append(score(x).numpy())
        scores = np.concatenate(scores)
        self.set_scores(scores)
        return scores
