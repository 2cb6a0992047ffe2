"""Train the DCGAN baseline (batch norm, G updated twice per D update; seed 001) and export G.

python recipes/train_dcgan.py                # cpu preset on Fashion-MNIST
python recipes/train_dcgan.py --g-steps 1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's zoo, not another clone's

from zoo.models.baselines import DISCRIMINATOR_BATCHES
from zoo.recipe import Recipe, positive_int, run


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--g-steps", type=positive_int, default=2, help="G updates per D update (default 2)")
    parser.add_argument(
        "--discriminator-batches",
        choices=DISCRIMINATOR_BATCHES,
        default="separate",
        help="D on the real and the fake batch in separate calls (Radford et al.'s code, the default) "
        "or in one mixed call (the zoo's DCGAN before)",
    )


RECIPE = Recipe(
    "dcgan",
    __doc__.splitlines()[0],
    add_arguments,
    model_kwargs=lambda args, settings: {
        "g_steps": args.g_steps,
        "discriminator_batches": args.discriminator_batches,
    },
    fixed_preset={"gp_weight": 0.0, "d_steps": 1},  # Radford et al.: no penalty, one D step
    unused_flags=("spectral_norm",),  # batch norm, no spectral norm
)

if __name__ == "__main__":
    sys.exit(run(RECIPE))
