"""Train α-GAN (seed 001: auto-encoder + data and code discriminators) and export E and G.

python recipes/train_alpha_gan.py                                  # cpu preset, λ = 10
python recipes/train_alpha_gan.py --preset paper                   # seed 001 Table 2's rate
python recipes/train_alpha_gan.py --lambda 50 --prior-matching empirical_kl
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's zoo, not another clone's

from zoo.models.alpha_gan import PRIOR_MATCHING
from zoo.recipe import Recipe, nonnegative_float, positive_int, run

# Seed 001 Table 2: D and C at 5e-4, E and G swept over {1e-4, 5e-4}; 5e-4 for every player
# under both presets. The cpu preset trains 2 000 steps of it (each step: one D and C update,
# two E and G updates), measured against the 5 000 steps at 2e-4 before (README, "α-GAN's rate").
PAPER_LEARNING_RATE = 5e-4
CPU_STEPS = 2000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lambda",
        dest="lam",
        type=nonnegative_float,
        default=10.0,
        help="L1 reconstruction weight (H.1: 1, 5, 10, 50)",
    )
    parser.add_argument(
        "--prior-matching",
        choices=PRIOR_MATCHING,
        default="code_discriminator",
        help="code discriminator C (eq. 11), or App. D's empirical KL",
    )
    parser.add_argument(
        "--g-steps", type=positive_int, default=2, help="E and G updates per D/C update (default 2)"
    )


RECIPE = Recipe(
    "alpha_gan",
    __doc__.splitlines()[0],
    add_arguments,
    model_kwargs=lambda args, settings: {
        "reconstruction_weight": args.lam,
        "prior_matching": args.prior_matching,
        "g_steps": args.g_steps,
    },
    fixed_preset={"gp_weight": 0.0},  # seed 001 trains α-GAN with the plain GAN losses (H.2)
    cpu_preset={"steps": CPU_STEPS, "learning_rate": PAPER_LEARNING_RATE},
    paper_preset=lambda args, dataset: {"learning_rate": PAPER_LEARNING_RATE},
)

if __name__ == "__main__":
    sys.exit(run(RECIPE))
