"""Grid-search BiGAN + an inversion loss (λ x the seed 000 A.3.3 grid) with Keras Tuner; exports the best trial.

python recipes/tune_bigan.py                                       # bigan_x_ae, λ in {0.1, 0.3, 1, 3, 10}
python recipes/tune_bigan.py --lr 1e-4,3e-4,1e-3 --lambda 0.1,1,3,10 --gp-weight 1 --d-steps 1
python recipes/tune_bigan.py --variant mdgan                        # λ_cyc in {3, 5, 6, 7, 8, 9}
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's zoo, not another clone's

from zoo.tuning import load_recipe, main

if __name__ == "__main__":
    argv = sys.argv[1:]
    if not any(a == "--variant" or a.startswith("--variant=") for a in argv):
        argv = ["--variant", "bigan_x_ae", *argv]  # a λ search needs an inversion loss
    sys.exit(main(load_recipe("bigan"), argv))
