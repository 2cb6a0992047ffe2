"""α-GAN: seed 001 (Rosca et al. 2017), eq. 8-9, Algorithm 1 (eq. 10-17), App. D, H.1-H.4."""

from __future__ import annotations

import tensorflow as tf

from zoo import losses, networks
from zoo.errors import ZooError
from zoo.trainer import AdversarialModel, Player

PRIOR_MATCHING = ("code_discriminator", "empirical_kl")


class AlphaGAN(AdversarialModel):
    """α-GAN (Rosca et al. 2017): an auto-encoder E, G whose reconstructions and samples
    a data discriminator D must tell from data, and whose codes a code discriminator C
    must tell from the prior. With x̂ = G(E(x)), z ~ N(0, I), R(logit) = -logit
    (Algorithm 1 lines 3-4: R_D = -log D + log(1 - D)):

        E: min λ ||x - x̂||₁ + R_C(E(x))                                (eq. 11)
        G: min λ ||x - x̂||₁ + R_D(x̂) + R_D(G(z))                       (eq. 13; eq. 9)
        D: min -log D(x) - log(1 - D(x̂)) - log(1 - D(G(z)))            (eq. 15)
        C: min -log(1 - C(E(x))) - log C(z)                             (eq. 17)

    E and G are updated twice per D and C update (seed 001 §6: ``g_steps=2``). The
    encoder is deterministic (E(x) is the code). ‖·‖₁ is the mean absolute error per
    value (``losses.l1_reconstruction``); ``reconstruction_weight`` λ is swept over
    {1, 5, 10, 50} in H.1.

    ``prior_matching="empirical_kl"`` is the App. D ablation: no C; E's adversarial
    term is replaced by the batch's empirical KL to N(0, I) divided by d_z (eq. 18).

    Training budget (``recipes/train_alpha_gan.py``): every player at Table 2's rate 5e-4
    (its D and C rate, and one of the two it sweeps for E and G) under both presets. The
    ``cpu`` preset stops after 2 000 steps, not the paper's 100 000: there the samples scored
    FID 18.3 ± 6.3 over seeds 0-2, against 24.6 for seed 0 after 5 000 steps at 2e-4 (the
    old default, ``ed5f2a3``), while E's 1-NN score stays at its untrained level (README,
    "α-GAN's rate"; ``recipes/results/alpha_gan_rate/``). λ stays 10: a larger λ raised E's
    1-NN score and cost the samples (zoo table, cpu preset: λ 50 on seed 0 1-NN 0.768 against
    0.753, FID 47.0 against 12.7; λ 20 on seeds 0-1 1-NN 0.754 / 0.757 against 0.753 / 0.741,
    FID 23.7 / 31.3 against 12.7 / 27.1; README, "α-GAN's λ").

    Networks: SN-DCGAN generator, encoder and discriminator (``zoo.networks``; or the MLPs
    for 2-D points) and C, an MLP of 3 x 750 leaky-ReLU units (H.4).
    """

    ADAM_BETAS = (0.5, 0.9)  # seed 001 App. H: "for all our experiments"

    def __init__(
        self,
        reconstruction_weight: float = 10.0,
        prior_matching: str = "code_discriminator",
        g_steps: int = 2,
        **kwargs,
    ):
        if not float(reconstruction_weight) >= 0:
            raise ZooError(f"reconstruction_weight must be >= 0, got {reconstruction_weight}")
        if prior_matching not in PRIOR_MATCHING:
            raise ZooError(
                f"unknown prior_matching {prior_matching!r}; expected one of {', '.join(PRIOR_MATCHING)}"
            )
        super().__init__(g_steps=g_steps, **kwargs)
        self.reconstruction_weight = float(reconstruction_weight)
        self.prior_matching = prior_matching
        shape = (self.resolution, self.channels, self.latent_dim, self.width)
        self.generator = networks.build_generator(*shape, **self.network_kwargs())
        self.encoder = networks.build_encoder(*shape, **self.network_kwargs())
        self.discriminator = networks.build_discriminator(
            *shape[:2], self.width, **self.discriminator_kwargs()
        )
        self.code_discriminator = (
            networks.build_code_discriminator(self.latent_dim)
            if prior_matching == "code_discriminator"
            else None
        )

    def all_players(self) -> list[Player]:
        players = [Player("d", self.discriminator, self.discriminator_objective, critic=True)]
        if self.code_discriminator is not None:
            players.append(
                Player("c", self.code_discriminator, self.code_discriminator_objective, critic=True)
            )
        return players + [
            Player("e", self.encoder, self.encoder_objective),
            Player("g", self.generator, self.generator_objective),
        ]

    def extra_metric_names(self):
        return ("reconstruction_l1",) + (("empirical_kl",) if self.code_discriminator is None else ())

    def discriminator_objective(self, x, z) -> dict:
        """Eq. 15: data real; reconstructions and samples fake."""
        recon = self.generator(self.encoder(x, training=True), training=True)
        fake = self.generator(z, training=True)
        logits = self.discriminator(tf.concat([x, recon, fake], axis=0), training=True)
        real, recon_logits, fake_logits = tf.split(logits, 3, axis=0)
        return {"loss": losses.alpha_discriminator_loss(real, recon_logits, fake_logits)}

    def code_discriminator_objective(self, x, z) -> dict:
        """Eq. 17: prior samples real, codes E(x) fake."""
        codes = self.encoder(x, training=True)
        return {
            "loss": losses.ns_discriminator_loss(
                self.code_discriminator(z, training=True), self.code_discriminator(codes, training=True)
            )
        }

    def encoder_objective(self, x, z) -> dict:
        """Eq. 11 (or App. D's empirical KL in place of R_C)."""
        codes = self.encoder(x, training=True)
        l1 = losses.l1_reconstruction(x, self.generator(codes, training=True))
        out = {"reconstruction_l1": l1}
        if self.code_discriminator is not None:
            prior_term = losses.ratio_generator_loss(self.code_discriminator(codes, training=True))
        else:
            prior_term = out["empirical_kl"] = losses.empirical_gaussian_kl(codes)
        return {"loss": self.reconstruction_weight * l1 + prior_term, **out}

    def generator_objective(self, x, z) -> dict:
        """Eq. 13: reconstruction plus the non-saturating ratio terms of x̂ and G(z)."""
        recon = self.generator(self.encoder(x, training=True), training=True)
        logits = self.discriminator(
            tf.concat([recon, self.generator(z, training=True)], axis=0), training=True
        )
        recon_logits, fake_logits = tf.split(logits, 2, axis=0)
        l1 = losses.l1_reconstruction(x, recon)
        adversarial = losses.ratio_generator_loss(recon_logits) + losses.ratio_generator_loss(fake_logits)
        return {"loss": self.reconstruction_weight * l1 + adversarial, "reconstruction_l1": l1}

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "reconstruction_weight": self.reconstruction_weight,
            "prior_matching": self.prior_matching,
        }

    def call(self, z, training=False):
        return self.generator(z, training=training)
