"""Train BiGAN / ALI or one of its extensions (seed 000 §3.2, seed 004) and export it.

python recipes/train_bigan.py                                  # BiGAN, cpu preset, Fashion-MNIST
python recipes/train_bigan.py --variant bigan_x_ae --lambda 0.3
python recipes/train_bigan.py --variant p_mdgan --lambda-cyc 9

Variants: ``bigan``; ``bigan_{x_ae,z_ae,x_adv,z_adv}`` = BiGAN + that inversion loss on
E with weight ``--lambda`` (seed 000 A.2); ``mdgan`` = BiGAN + ``--lambda-cyc`` x MSE(x,
G(E(x))) (seed 004 eq. 2); ``p_mdgan`` = MDGAN + the latent-norm regulariser with
λ_norm tuned during training (seed 004 eq. 5-6): held at 0.01 for the first quarter of
the steps (200 of the paper's 800 epochs), then adapted every steps/160 steps (its every
5 epochs); see ``zoo.models.bigan.PMDGAN`` for the exact rule. λ_cyc defaults to seed 004
Table 1's Fashion-MNIST value, 9. EP-MDGAN (non-uniform sampling) is not implemented yet.
"""

from __future__ import annotations

import argparse
import sys

from zoo.models.inversion import INVERSIONS
from zoo.recipe import Recipe, nonnegative_float, run

VARIANTS = ("bigan", *(f"bigan_{i}" for i in INVERSIONS), "mdgan", "p_mdgan")
FAMILY = {"mdgan": "mdgan", "p_mdgan": "p_mdgan"}  # every other variant is the bigan family


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variant", choices=VARIANTS, default="bigan", help="default: bigan")
    parser.add_argument(
        "--lambda",
        dest="inversion_weight",
        type=nonnegative_float,
        default=1.0,
        help="bigan_* variants: weight of the inversion loss in E's objective (default 1)",
    )
    parser.add_argument(
        "--lambda-cyc",
        dest="cycle_weight",
        type=nonnegative_float,
        default=9.0,
        help="mdgan / p_mdgan: weight of the cycle loss (default 9, seed 004 Table 1, F-MNIST)",
    )


def model_family(args: argparse.Namespace) -> str:
    return FAMILY.get(args.variant, "bigan")


def model_kwargs(args: argparse.Namespace, settings: dict) -> dict:
    if args.variant.startswith("bigan_"):
        return {"inversion": args.variant[len("bigan_") :], "inversion_weight": args.inversion_weight}
    if args.variant == "bigan":
        return {}
    kwargs = {"cycle_weight": args.cycle_weight}
    if args.variant == "p_mdgan":
        steps = settings["steps"]
        kwargs.update(norm_weight=0.01, norm_hold_steps=steps // 4, norm_update_every=max(1, steps // 160))
    return kwargs


RECIPE = Recipe(
    "bigan",
    __doc__.splitlines()[0],
    add_arguments,
    model_kwargs,
    model_family=model_family,
    families=("bigan", "mdgan", "p_mdgan"),
    variant=lambda args: args.variant,
)

if __name__ == "__main__":
    sys.exit(run(RECIPE))
