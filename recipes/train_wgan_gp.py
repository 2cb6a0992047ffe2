"""Train the WGAN-GP baseline (5 critic steps per G step, penalty 10; seed 001) and export G.

python recipes/train_wgan_gp.py              # cpu preset on Fashion-MNIST
python recipes/train_wgan_gp.py --d-steps 3 --gp-weight 1
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's zoo, not another clone's

from zoo.recipe import Recipe, run

RECIPE = Recipe(
    "wgan_gp",
    __doc__.splitlines()[0],
    add_arguments=lambda parser: None,
    model_kwargs=lambda args, settings: {},
    fixed_preset={"d_steps": 5, "gp_weight": 10.0},
    unused_flags=("spectral_norm",),  # a plain critic
)

if __name__ == "__main__":
    sys.exit(run(RECIPE))
