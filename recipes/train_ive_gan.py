"""Train IVE-GAN (seed 002: G(z', E(x)) against transformed originals, D' on samples) and export E and G(z_noise, z).

python recipes/train_ive_gan.py                              # cpu preset, T = shifts + rotations
python recipes/train_ive_gan.py --architecture ive_mnist --noise-dim 4
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's zoo, not another clone's

from zoo.models.ive_gan import IVEGAN
from zoo.networks import IVE_MNIST, IVE_SAMPLE_DISCRIMINATORS
from zoo.recipe import Recipe, positive_float, positive_int, run
from zoo.transforms import DATASET_TRANSFORMS, SHIFT_INTERPOLATIONS, TRANSFORMS

DEFAULT_PRIOR = "gaussian"
# Outside --preset paper (README, "IVE-GAN's T"): T at a quarter of seed 002's ranges with
# whole-pixel shifts, and D' as its own discriminator on the dcgan networks.
DEFAULT_TRANSFORM_SCALE = 0.25
DEFAULT_SHIFT_INTERPOLATION = "nearest"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--noise-dim", type=positive_int, default=4, help="dim z' (seed 002 App. B: 4)")
    parser.add_argument(
        "--transform",
        choices=[t for t in TRANSFORMS if t != "shift"],
        default=None,
        help="invariance transformation T (default: digits for (Fashion-)MNIST, photos otherwise)",
    )
    parser.add_argument(
        "--transform-scale",
        type=positive_float,
        default=None,
        help="T's shift and rotation ranges (and colour jitter) as a fraction of seed 002's, "
        f"in (0, 1] (default {DEFAULT_TRANSFORM_SCALE}; --preset paper: 1)",
    )
    parser.add_argument(
        "--shift-interpolation",
        choices=list(SHIFT_INTERPOLATIONS),
        default=None,
        help="T's shifts by whole pixels (nearest, the default) or by fractions that blur "
        "(bilinear, Keras' default and --preset paper's)",
    )
    parser.add_argument(
        "--architecture",
        choices=["dcgan", IVE_MNIST],
        default="dcgan",
        help="SN-DCGAN networks, or seed 002 App. B Table 2's MNIST networks",
    )
    parser.add_argument(
        "--prior",
        choices=list(IVEGAN.PRIORS),
        default=None,
        help="P_Z: N(0, I), or uniform on (-1, 1)^d with a tanh-ended encoder (seed 002 §4, "
        "App. B; --preset paper's). Default: N(0, I)",
    )
    parser.add_argument(
        "--sample-discriminator",
        choices=list(IVE_SAMPLE_DISCRIMINATORS),
        default=None,
        help="D' as a head on D's shared embedding (seed 002 App. B; --preset paper's and the "
        "ive_mnist networks') or its own SN-DCGAN discriminator (dcgan networks only; their default)",
    )


def model_kwargs(args: argparse.Namespace, settings: dict) -> dict:
    paper = settings.get("preset") == "paper"

    def chosen(flag, paper_value, default):
        return flag if flag is not None else paper_value if paper else default

    default_d_prime = "shared" if args.architecture == IVE_MNIST else "separate"  # Table 2's nets share D_enc
    return {
        "noise_dim": args.noise_dim,
        "transform": args.transform or DATASET_TRANSFORMS[settings["dataset"]],
        "transform_scale": chosen(args.transform_scale, 1.0, DEFAULT_TRANSFORM_SCALE),
        "shift_interpolation": chosen(args.shift_interpolation, "bilinear", DEFAULT_SHIFT_INTERPOLATION),
        "architecture": args.architecture,
        "sample_discriminator": chosen(args.sample_discriminator, "shared", default_d_prime),
        "prior": chosen(args.prior, "uniform", DEFAULT_PRIOR),
    }


def paper_preset(args: argparse.Namespace, dataset: str) -> dict:
    """Seed 002 App. B Table 2 for its MNIST networks: batch 512, G at 2e-4 (D at half
    that and beta_1 0.7 come with the architecture, ``IVEGAN.default_*``)."""
    return {"batch_size": 512, "learning_rate": 2e-4} if args.architecture == IVE_MNIST else {}


RECIPE = Recipe(
    "ive_gan",
    __doc__.splitlines()[0],
    add_arguments,
    model_kwargs=model_kwargs,
    paper_preset=paper_preset,
    fixed_preset={"gp_weight": 0.0},  # eq. 3's plain GAN losses
    unused_flags=("gp_weight",),
)

if __name__ == "__main__":
    sys.exit(run(RECIPE))
