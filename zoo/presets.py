"""Training presets: ``tiny`` (tests), ``cpu`` (minutes on 2 cores), ``paper`` (seed 000)."""

from __future__ import annotations

import dataclasses

from zoo.errors import ZooError


@dataclasses.dataclass(frozen=True)
class Preset:
    """Hyper-parameters a preset fixes; recipe flags override single fields."""

    width: float
    batch_size: int
    steps: int
    learning_rate: float
    gp_weight: float
    d_steps: int
    latent_dim: int
    checkpoint_every: int
    eval_images: int
    # Exponential learning-rate decay (``zoo.trainer.LearningRateDecay``); 1.0 = none.
    lr_decay_rate: float = 1.0
    lr_decay_start: int = 0
    lr_decay_every: int = 1


PRESETS = {
    # Tests: a few filters, a few steps; no gradient penalty, as in ``cpu`` (its double
    # backward added ~1.8 s to a 12.2 s tiny BiGAN recipe run in a fresh process; the
    # penalty keeps its value tests, and the WGAN-GP recipe's tests trace it).
    "tiny": Preset(
        width=1 / 16,
        batch_size=16,
        steps=20,
        learning_rate=1e-3,
        gp_weight=0.0,
        d_steps=1,
        latent_dim=16,
        checkpoint_every=10,
        eval_images=256,
    ),
    # A run that finishes in minutes on this 2-core CPU (width 1/4 of the paper's filters).
    # Spectral normalisation alone, Miyato et al. 2018's SN-DCGAN setting C (Adam 2e-4,
    # beta 0.5/0.999, one critic step). Measured here with an in-domain FID over 1500 steps:
    # adding the (one-centred) WGAN-GP term at weight 1, with one or two critic steps, let G
    # collapse or fill with texture (FID 40 -> 196 for seed 0); without it FID fell
    # steadily for seeds 0-2 (README, "Presets").
    "cpu": Preset(
        width=0.25,
        batch_size=64,
        steps=5000,
        learning_rate=2e-4,
        gp_weight=0.0,
        d_steps=1,
        latent_dim=64,
        checkpoint_every=1000,
        eval_images=2000,
    ),
    # Seed 000 A.3: batch 64, 500K steps, full SN-DCGAN width, checkpoints every 10K;
    # lr 3e-4 and GP weight 1 from its grids (the values of most of its App. B runs).
    "paper": Preset(
        width=1.0,
        batch_size=64,
        steps=500_000,
        learning_rate=3e-4,
        gp_weight=1.0,
        d_steps=1,
        latent_dim=64,
        checkpoint_every=10_000,
        eval_images=10_000,
    ),
}


def get_preset(name: str, **overrides) -> Preset:
    """A preset by name with some fields replaced; unknown names or fields raise."""
    try:
        preset = PRESETS[name]
    except KeyError:
        raise ZooError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}") from None
    fields = {f.name for f in dataclasses.fields(Preset)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ZooError(f"unknown preset fields {unknown}; fields are {sorted(fields)}")
    return dataclasses.replace(preset, **{k: v for k, v in overrides.items() if v is not None})
