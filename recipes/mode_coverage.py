"""2-D mode-coverage benchmark (seed 002 §4.1; PacGAN Table 1's format); see ``zoo.mode_coverage``.

python recipes/mode_coverage.py --dataset ring --models gan,bigan,ige_gan --trials 10 --out results/ring
python recipes/mode_coverage.py --dataset grid
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's zoo, not another clone's

from zoo.mode_coverage import main

if __name__ == "__main__":
    sys.exit(main())
