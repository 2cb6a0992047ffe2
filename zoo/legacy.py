"""Run configs stored before a model key existed: the value those runs trained with.

A stored ``config.json`` is rebuilt with ``from_config``, whose defaults are today's; a key
missing from an old run must take the value the run was trained with instead, or its
checkpoint would be restored into other networks (or resumed with other optimisers).
"""

from __future__ import annotations

import inspect

# Model-config key -> the value every run stored without that key trained with.
LEGACY_MODEL_DEFAULTS: dict[str, object] = {
    "spectral_norm": "projection",  # the default until the zoo table measured miyato better
    "fresh_critic_batches": False,
    "adam_betas": [0.5, 0.999],
    "lr_ratios": {},
    "joint_fusion": "every_layer",  # the families with a joint discriminator only
    "joint_dropout": 0.0,
    "cycle_critic_weight": 0.0,  # the families with an encoder inversion loss only
    "cycle_critic_norm": "none",  # ALICE's unnormalised D3, the only one before the option
    "discriminator_batches": "mixed",  # DCGAN: one D call on real and fake, before the option
    "joint_scores": "summed",  # BiGAN family: one joint-D logit, before BigBiGAN's separate scores
    "encoder_norm": "layer",  # BiGAN family: seed 000's layer-norm encoder, before the option
    "encoder_feature_norm": "none",  # BiGAN family: E's output layer on raw features, before the option
    "prior": "gaussian",  # IVE-GAN and the VAE: N(0, I) (and IVE-GAN's unbounded encoder) before the option
    "sample_discriminator": "shared",  # IVE-GAN: D' a head on D_enc (App. B), before the option
    "transform_scale": 1.0,  # IVE-GAN: T's full ranges, before the option
    "shift_interpolation": "bilinear",  # IVE-GAN: Keras' sub-pixel (blurring) shifts, before the option
}


def takes(cls: type, argument: str) -> bool:
    """Whether ``cls`` or a base class takes constructor ``argument``."""
    return any(
        argument in inspect.signature(c.__init__).parameters for c in cls.__mro__ if "__init__" in vars(c)
    )


def with_legacy_defaults(cls: type, model_config: dict) -> dict:
    """``model_config`` with each missing legacy key that ``cls`` takes set to its legacy value."""
    missing = {k: v for k, v in LEGACY_MODEL_DEFAULTS.items() if k not in model_config and takes(cls, k)}
    return {**model_config, **missing}
