"""GAN with the non-saturating loss: seed 000 §2, eq. (1)."""

from __future__ import annotations

import tensorflow as tf

from zoo import losses, networks
from zoo.trainer import AdversarialModel, Player


class GAN(AdversarialModel):
    """Non-saturating GAN (Rubenstein et al. 2018, eq. 1; Goodfellow et al. 2014).

    D: min E_x[-log D(x)] + E_z[-log(1 - D(G(z)))]  (+ gp_weight * WGAN-GP, seed 000 A.3.2)
    G: min E_z[-log D(G(z))]

    Networks: SN-DCGAN generator and spectrally-normalised discriminator (A.3.2).
    """

    # Normalisation layers of G and D (``zoo.networks``); the baselines change them.
    GENERATOR_NORM = "layer"
    DISCRIMINATOR_NORM = "spectral"
    # The pair of losses (``zoo.losses``) the objectives use; WGAN-GP swaps in its own.
    discriminator_loss = staticmethod(losses.ns_discriminator_loss)
    generator_loss = staticmethod(losses.ns_generator_loss)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        shape = (self.resolution, self.channels)
        self.generator = networks.build_generator(
            *shape, self.latent_dim, self.width, normalization=self.GENERATOR_NORM, **self.network_kwargs()
        )
        self.discriminator = networks.build_discriminator(
            *shape, self.width, normalization=self.DISCRIMINATOR_NORM, **self.discriminator_kwargs()
        )

    def all_players(self) -> list[Player]:
        return [
            Player("d", self.discriminator, self.discriminator_objective, critic=True),
            Player("g", self.generator, self.generator_objective),
        ]

    def discriminator_objective(self, x, z) -> dict:
        fake = self.generator(z, training=True)
        logits = self.discriminator(tf.concat([x, fake], axis=0), training=True)
        real_logits, fake_logits = tf.split(logits, 2, axis=0)
        penalty = self.gradient_penalty_term(lambda t: self.discriminator(t, training=True), x, fake)
        return {"loss": self.discriminator_loss(real_logits, fake_logits) + penalty}

    def generator_objective(self, x, z) -> dict:
        fake_logits = self.discriminator(self.generator(z, training=True), training=True)
        return {"loss": self.generator_loss(fake_logits)}

    def generate(self, z: tf.Tensor) -> tf.Tensor:
        """G(z) in inference mode."""
        return self.generator(z, training=False)

    def call(self, z, training=False):
        return self.generator(z, training=training)
