"""Train the VAE baseline (seed 000 appendix A.2) and export its encoder (μ(x)) and decoder.

python recipes/train_vae.py                  # cpu preset on Fashion-MNIST
python recipes/train_vae.py --preset tiny --steps 50
python recipes/train_vae.py --log-sigma-init 0      # the decoder's sigma starts at 1 (default: 0.1)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's zoo, not another clone's

from zoo.models.vae import DEFAULT_LOG_SIGMA
from zoo.recipe import Recipe, run


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-sigma-init",
        type=float,
        default=DEFAULT_LOG_SIGMA,
        help=f"log of the decoder's sigma at the start (default {DEFAULT_LOG_SIGMA}: sigma ≈ 0.1)",
    )


RECIPE = Recipe(
    "vae",
    __doc__.splitlines()[0],
    add_arguments=add_arguments,
    model_kwargs=lambda args, settings: {"log_sigma_init": args.log_sigma_init},
    unused_flags=("d_steps", "gp_weight", "spectral_norm"),
)

if __name__ == "__main__":
    sys.exit(run(RECIPE))
