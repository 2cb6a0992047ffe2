"""Train the non-saturating SN-DCGAN GAN (seed 000 eq. 1, A.3.2) and export G.

python recipes/train_gan.py                  # cpu preset on Fashion-MNIST
python recipes/train_gan.py --preset paper   # seed 000's settings (GP weight 1, lr 3e-4)

The reference every other family's sample quality is judged against in the zoo table
(``recipes/zoo_table.py``): the same generator and discriminator as IGE-GAN, no encoder.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's zoo, not another clone's

from zoo.recipe import Recipe, run

RECIPE = Recipe(
    "gan",
    __doc__.splitlines()[0],
    add_arguments=lambda parser: None,
    model_kwargs=lambda args, settings: {},
)

if __name__ == "__main__":
    sys.exit(run(RECIPE))
