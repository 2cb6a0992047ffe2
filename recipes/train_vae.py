"""Train the VAE baseline (seed 000 appendix A.2) and export its encoder (μ(x)) and decoder.

python recipes/train_vae.py                  # cpu preset on Fashion-MNIST
python recipes/train_vae.py --preset tiny --steps 50
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's zoo, not another clone's

from zoo.recipe import Recipe, run

RECIPE = Recipe(
    "vae",
    __doc__.splitlines()[0],
    add_arguments=lambda parser: None,
    model_kwargs=lambda args, settings: {},
    unused_flags=("d_steps", "gp_weight", "spectral_norm"),
)

if __name__ == "__main__":
    sys.exit(run(RECIPE))
