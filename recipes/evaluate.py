"""Evaluate zoo runs with the evaluation suite (issue #4); see ``zoo.sweep`` for the outputs.

python recipes/evaluate.py --run runs/ige_gan-fashion_mnist-...           # newest checkpoint
python recipes/evaluate.py --run RUN_A --run RUN_B --checkpoints all       # seed 000 §4.1 sweep
python recipes/evaluate.py --run RUN --slow                                # + critic and AIS
python recipes/evaluate.py --run RUN --extractor inception --inception-weights inception_v3.h5
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's zoo, not another clone's

from zoo.sweep import main

if __name__ == "__main__":
    sys.exit(main())
