"""Model families, by the name used in run directories and recipes."""

from zoo.errors import ZooError
from zoo.models.age import AGE
from zoo.models.alpha_gan import AlphaGAN
from zoo.models.baselines import DCGAN, WGANGP
from zoo.models.bigan import EPMDGAN, MDGAN, PMDGAN, BiGAN, MLeqPMDGAN
from zoo.models.gan import GAN
from zoo.models.ige_gan import IGEGAN
from zoo.models.ive_gan import IVEGAN
from zoo.models.vae import VAE

FAMILIES = {
    "gan": GAN,
    "dcgan": DCGAN,
    "wgan_gp": WGANGP,
    "ige_gan": IGEGAN,
    "bigan": BiGAN,
    "mdgan": MDGAN,
    "p_mdgan": PMDGAN,
    "p_mdgan_mleq": MLeqPMDGAN,
    "ep_mdgan": EPMDGAN,
    "vae": VAE,
    "alpha_gan": AlphaGAN,
    "age": AGE,
    "ive_gan": IVEGAN,
}


def family_class(name: str):
    """The model class of a family name; ``ZooError`` for an unknown one."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ZooError(f"unknown model family {name!r}; known: {', '.join(FAMILIES)}") from None


__all__ = [
    "AGE",
    "AlphaGAN",
    "VAE",
    "DCGAN",
    "EPMDGAN",
    "FAMILIES",
    "GAN",
    "WGANGP",
    "IGEGAN",
    "IVEGAN",
    "MDGAN",
    "MLeqPMDGAN",
    "PMDGAN",
    "BiGAN",
    "family_class",
]
