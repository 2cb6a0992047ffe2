"""Cost of seed 004's non-uniform minibatch sampling (EP-MDGAN), in one process.

Times (1) the input pipeline alone, batches/s, for the uniform shuffled stream
(``zoo.data.train_dataset``) and for ``zoo.sampling.ScoreSampler.dataset`` over all 60,000
Fashion-MNIST training images (it re-ranks the live score table for every batch), and
(2) training steps/s at width 1/4, batch 64: P-MDGAN on the uniform stream against
EP-MDGAN (the same objectives) on its sampler, which also recomputes the PSNR of the
batch's examples and writes them to the score table after every step.

    python benchmarks/sampler_overhead.py [--steps 200]
"""

from __future__ import annotations

import argparse
import time

import keras
import tensorflow as tf

from zoo import data
from zoo.models import EPMDGAN, PMDGAN


def pipeline_rate(ds: tf.data.Dataset, batches: int) -> float:
    it = iter(ds)
    next(it)
    t0 = time.perf_counter()
    for _ in range(batches):
        next(it)
    return batches / (time.perf_counter() - t0)


def step_rate(model, ds: tf.data.Dataset, steps: int) -> float:
    """Steady-state steps/s: the difference of a (steps + 20)-step and a 20-step ``fit``,
    so the start of each call (a new iterator, the uniform stream's shuffle-buffer fill)
    cancels out."""
    model.compile(learning_rate=2e-4)
    model.fit(ds, steps_per_epoch=5, epochs=1, verbose=0)  # trace
    times = []
    for n in (20, steps + 20):
        t0 = time.perf_counter()
        model.fit(ds, steps_per_epoch=n, epochs=1, verbose=0)
        times.append(time.perf_counter() - t0)
    return steps / (times[1] - times[0])


def build(cls, **kwargs):
    keras.utils.set_random_seed(0)
    return cls(resolution=28, channels=1, latent_dim=64, width=0.25, seed=0, **kwargs)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=64)
    a = p.parse_args()
    images = data.train_array("fashion_mnist")
    uniform = data.train_dataset("fashion_mnist", a.batch_size, seed=0)
    ep = build(EPMDGAN, num_examples=len(images), lambda_perc=0.8, lambda_dist=4.0)
    t0 = time.perf_counter()
    ep.score_all(images)
    score_all = time.perf_counter() - t0
    weighted = ep.sampler.dataset(images, a.batch_size, seed=0)
    print(
        f"pipeline, batches/s: uniform {pipeline_rate(uniform, 500):.0f}, "
        f"non-uniform {pipeline_rate(weighted, 500):.0f}; scoring all {len(images)} images "
        f"{score_all:.1f} s",
        flush=True,
    )
    u = step_rate(build(PMDGAN, cycle_weight=3.0), uniform, a.steps)
    w = step_rate(ep, weighted, a.steps)
    print(
        f"train steps/s: P-MDGAN uniform {u:.2f}, EP-MDGAN non-uniform + per-step refresh {w:.2f} (ratio {w / u:.3f})"
    )


if __name__ == "__main__":
    main()
