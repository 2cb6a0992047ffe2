"""Time FID of 10,000 vs 10,000 Fashion-MNIST-sized images with the in-domain extractor
(issue #4's speed target: under 60 s here), end to end: features of both sets, then the
Fréchet distance. The two sets are the first and second halves of the train split.

    python benchmarks/fid_speed.py [--n 10000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from zoo import data
from zoo.evaluation import frechet_distance
from zoo.extractors import load_domain_extractor


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000)
    a = p.parse_args()
    images = data.train_array("fashion_mnist")
    first = images[: a.n].astype(np.float32) / 255.0
    second = images[a.n : 2 * a.n].astype(np.float32) / 255.0
    extractor = load_domain_extractor()
    extractor(first[:10])  # build and warm up
    t0 = time.perf_counter()
    fa, _ = extractor(first)
    fb, _ = extractor(second)
    t1 = time.perf_counter()
    fid = frechet_distance(fa, fb)
    t2 = time.perf_counter()
    print(
        f"FID {a.n} vs {a.n}: {fid:.3f}; features {t1 - t0:.1f} s "
        f"({2 * a.n / (t1 - t0):.0f} img/s), Fréchet distance {t2 - t1:.2f} s, total {t2 - t0:.1f} s"
    )


if __name__ == "__main__":
    main()
