"""Train AGE (Ulyanov et al. 2018, seed 001's baseline: E is the adversary, codes on the unit sphere) and export E and G.

python recipes/train_age.py                                  # cpu preset, λ_x = 100, λ_z = 10
python recipes/train_age.py --lambda 500 --g-steps 3
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's zoo, not another clone's

from zoo.recipe import Recipe, nonnegative_float, positive_int, run


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lambda",
        dest="lam",
        type=nonnegative_float,
        default=100.0,
        help="L1 data reconstruction weight of E (seed 001 H.1: 100, 500, 1000, 2000)",
    )
    parser.add_argument(
        "--code-weight",
        type=nonnegative_float,
        default=10.0,
        help="cosine code reconstruction weight of G (H.1: 10)",
    )
    parser.add_argument("--g-steps", type=positive_int, default=2, help="G updates per E update (default 2)")


RECIPE = Recipe(
    "age",
    __doc__.splitlines()[0],
    add_arguments,
    model_kwargs=lambda args, settings: {
        "data_weight": args.lam,
        "code_weight": args.code_weight,
        "g_steps": args.g_steps,
    },
    fixed_preset={"gp_weight": 0.0},
    unused_flags=("gp_weight", "spectral_norm"),
)

if __name__ == "__main__":
    sys.exit(run(RECIPE))
