"""Grid-search any zoo family with Keras Tuner (seed 000 A.3.3 grids), resumable; exports the best trial.

python recipes/tune.py --family alpha_gan --lambda 1,10,50 --lr 1e-4,3e-4
python recipes/tune.py --family bigan --variant bigan_z_ae --steps-per-trial 1000 --max-trials 6
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's zoo, not another clone's

from zoo.tuning import main

if __name__ == "__main__":
    sys.exit(main())
