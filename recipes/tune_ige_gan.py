"""Grid-search IGE-GAN (lr x WGAN-GP weight x D steps, seed 000 A.3.3) with Keras Tuner; exports the best trial.

python recipes/tune_ige_gan.py                                     # the whole 18-point grid, cpu preset
python recipes/tune_ige_gan.py --lr 1e-4,3e-4 --gp-weight 0 --steps-per-trial 1000
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's zoo, not another clone's

from zoo.tuning import load_recipe, main

if __name__ == "__main__":
    sys.exit(main(load_recipe("ige_gan")))
