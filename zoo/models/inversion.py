"""The four encoder-inversion losses of seed 000 §3.1, shared by IGE-GAN and BiGAN.

Each family calls these with its own networks; only E's variables are ever trained by
them (seed 000 found training G with them harmful). ``critic`` is the inversion
discriminator D2 as a function of an ``[x, z]`` pair returning logits [B, 1]: IGE-GAN's
own joint discriminator, or the second head of BiGAN's shared one (A.3.2).
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

from zoo import losses, networks
from zoo.errors import ZooError

INVERSIONS = ("x_ae", "z_ae", "x_adv", "z_adv")
Critic = Callable[[list], tf.Tensor]


def check_inversion(name: str | None, allow_none: bool = False) -> None:
    """Raise ``ZooError`` for an unknown inversion-loss name."""
    if name is None and allow_none:
        return
    if name not in INVERSIONS:
        raise ZooError(f"unknown inversion {name!r}; expected one of {', '.join(INVERSIONS)}")


def is_adversarial(name: str | None) -> bool:
    """Whether the loss needs an inversion discriminator D2."""
    return name is not None and name.endswith("_adv")


def encoder_inversion_loss(
    inversion: str,
    generator: keras.Model,
    encoder: keras.Model,
    critic: Critic | None,
    z: tf.Tensor,
) -> tuple[tf.Tensor, tf.Tensor]:
    """(E's inversion loss, z_hat = E(G(z))) for one of the four losses:

    x_ae:  l2(G(z), G(E(G(z))))            (eq. 6)
    z_ae:  l2(z, E(G(z)))                  (eq. 5)
    z_adv: -log D2(G(z), E(G(z)))          (§3.1, non-saturating)
    x_adv: -log D2(G(E(G(z))), z)          (§3.1, non-saturating)
    G(z) is a constant here (stop-gradient), so G is never trained by these losses.
    """
    fake = tf.stop_gradient(generator(z, training=True))
    z_hat = encoder(fake, training=True)
    if inversion == "x_ae":
        loss = losses.x_ae_loss(fake, generator(z_hat, training=True))
    elif inversion == "z_ae":
        loss = losses.z_ae_loss(z, z_hat)
    elif inversion == "z_adv":
        loss = losses.adversarial_inversion_encoder_loss(critic([fake, z_hat]))
    else:  # x_adv
        loss = losses.adversarial_inversion_encoder_loss(critic([generator(z_hat, training=True), z]))
    return loss, z_hat


def critic_pairs(inversion: str, generator: keras.Model, encoder: keras.Model, z: tf.Tensor):
    """The (true, inverted) [x, z] pairs D2 separates:
    z_adv: (G(z), z) vs (G(z), E(G(z)));  x_adv: (G(z), z) vs (G(E(G(z))), z)."""
    fake = generator(z, training=True)
    z_hat = encoder(fake, training=True)
    if inversion == "z_adv":
        return [fake, z], [fake, z_hat]
    return [fake, z], [generator(z_hat, training=True), z]


def critic_loss(critic: Critic, true_pair: list, inverted_pair: list) -> tf.Tensor:
    """D2's loss E[-log D2(true)] + E[-log(1 - D2(inverted))] on one concatenated call."""
    both = [tf.concat([a, b], axis=0) for a, b in zip(true_pair, inverted_pair)]
    true_logits, inverted_logits = tf.split(critic(both), 2, axis=0)
    return losses.adversarial_inversion_discriminator_loss(true_logits, inverted_logits)


CYCLE_CRITIC_NORMS = ("none", "spectral")


def check_cycle_critic(inversion: str | None, weight: float, norm: str = "none") -> None:
    """Raise ``ZooError`` unless ``weight`` >= 0, and > 0 only with ``z_adv``, and ``norm``
    is one of ``CYCLE_CRITIC_NORMS``."""
    if not float(weight) >= 0:
        raise ZooError(f"cycle_critic_weight must be >= 0, got {weight}")
    if float(weight) > 0 and inversion != "z_adv":
        raise ZooError(f"cycle_critic_weight applies only to the z_adv inversion, not {inversion}")
    if norm not in CYCLE_CRITIC_NORMS:
        raise ZooError(f"unknown cycle_critic_norm {norm!r}; expected one of {', '.join(CYCLE_CRITIC_NORMS)}")


def build_cycle_critic(latent_dim: int, weight: float, norm: str, spectral_norm: str) -> keras.Model | None:
    """D3 when ``weight`` > 0 (else None): ALICE's MLP, spectrally normalised with the
    model's ``spectral_norm`` kind when ``norm`` is ``"spectral"`` (ALAD's D_zz)."""
    if not float(weight) > 0:
        return None
    return networks.build_latent_pair_discriminator(
        latent_dim, spectral_norm=spectral_norm if norm == "spectral" else None
    )


def cycle_critic_pairs(z: tf.Tensor, z_hat: tf.Tensor) -> tuple[list, list]:
    """The (true, inverted) [z, z'] pairs of ALICE's latent cycle critic D3 (Li et al.
    2017, ``toy_data/ALICE_A.py``): (z, z) vs (z, E(G(z)))."""
    return [z, z], [z, z_hat]


def cycle_critic_encoder_loss(critic: Critic, z: tf.Tensor, z_hat: tf.Tensor) -> tf.Tensor:
    """E's term from D3: E[-log D3(z, E(G(z)))] (non-saturating, as ALICE's ``cost_z``,
    whose true-pair half carries no gradient to E)."""
    return losses.adversarial_inversion_encoder_loss(critic(cycle_critic_pairs(z, z_hat)[1]))


def cycle_critic_objective(
    critic: Critic, generator: keras.Model, encoder: keras.Model, z: tf.Tensor, model
) -> dict:
    """D3's objective: E[-log D3(z, z)] + E[-log(1 - D3(z, E(G(z))))], plus ``model``'s
    WGAN-GP term on the pairs (zero unless its ``gp_weight`` is set)."""
    z_hat = encoder(generator(z, training=True), training=True)
    true_pair, inverted_pair = cycle_critic_pairs(z, z_hat)
    penalty = model.gradient_penalty_term(critic, true_pair, inverted_pair)
    return {"loss": critic_loss(critic, true_pair, inverted_pair) + penalty}
