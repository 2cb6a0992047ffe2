"""The GAN baselines of seed 001 (Rosca et al. 2017, §5-6 and appendix H): DCGAN and
WGAN-GP. Neither has an encoder."""

from __future__ import annotations

from zoo import losses
from zoo.errors import ZooError
from zoo.models.gan import GAN

DISCRIMINATOR_BATCHES = ("separate", "mixed")


class DCGAN(GAN):
    """DCGAN (Radford et al. 2016) as seed 001's baseline: the non-saturating loss of
    ``GAN`` with batch normalisation instead of layer norm in G and instead of spectral
    normalisation in D (no BN on D's first layer), and G updated twice per D update
    (seed 001 §6: "the generator was updated twice for each discriminator update").

    ``discriminator_batches="separate"`` (the default) runs D on the real batch and on the
    fake batch in two calls, so each has its own batch statistics, as Radford et al.'s
    reference code does (``dcgan.torch``'s ``main.lua``: ``netD:forward`` on a real batch,
    then on a fake one) and as D sees the fakes in G's updates. ``"mixed"`` is one call on
    the concatenated batch (the zoo's DCGAN before; its zoo-table row collapsed to one
    class). Same layer layout as the SN-DCGAN networks (``zoo.networks``).
    """

    GENERATOR_NORM = "batch"
    DISCRIMINATOR_NORM = "batch"
    ADAM_BETAS = (0.5, 0.9)  # seed 001 App. H: "for all our experiments"

    def __init__(self, g_steps: int = 2, discriminator_batches: str = "separate", **kwargs):
        if discriminator_batches not in DISCRIMINATOR_BATCHES:
            raise ZooError(
                f"unknown discriminator_batches {discriminator_batches!r}; expected separate or mixed"
            )
        super().__init__(g_steps=g_steps, **kwargs)
        self.discriminator_batches = discriminator_batches

    def discriminator_objective(self, x, z) -> dict:
        if self.discriminator_batches == "mixed":
            return super().discriminator_objective(x, z)
        fake = self.generator(z, training=True)
        real_logits = self.discriminator(x, training=True)
        fake_logits = self.discriminator(fake, training=True)
        penalty = self.gradient_penalty_term(lambda t: self.discriminator(t, training=True), x, fake)
        return {"loss": self.discriminator_loss(real_logits, fake_logits) + penalty}

    def get_config(self) -> dict:
        return {**super().get_config(), "discriminator_batches": self.discriminator_batches}


class WGANGP(GAN):
    """WGAN-GP (Gulrajani et al. 2017, Algorithm 1) as seed 001's baseline:

    critic D: min E_z[D(G(z))] - E_x[D(x)] + λ E_x̂[(||∇_x̂ D(x̂)||₂ - 1)²], λ = 10,
              x̂ = a x + (1 - a) G(z), a ~ U[0, 1]; 5 critic steps per generator step,
              each on its own real batch and z (Alg. 1, ``fresh_critic_batches``);
    G:        min -E_z[D(G(z))].

    The critic is the SN-DCGAN discriminator without spectral (or any) normalisation, as
    the penalty assumes; the generator is the SN-DCGAN generator.
    """

    DISCRIMINATOR_NORM = "none"
    ADAM_BETAS = (0.5, 0.9)  # seed 001 App. H (Gulrajani et al.'s Alg. 1: beta_1 0, beta_2 0.9)
    discriminator_loss = staticmethod(losses.wasserstein_critic_loss)
    generator_loss = staticmethod(losses.wasserstein_generator_loss)

    def __init__(
        self, d_steps: int = 5, gp_weight: float = 10.0, fresh_critic_batches: bool = True, **kwargs
    ):
        super().__init__(
            d_steps=d_steps, gp_weight=gp_weight, fresh_critic_batches=fresh_critic_batches, **kwargs
        )
