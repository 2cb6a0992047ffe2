"""Cost of seed 004's non-uniform minibatch sampling, in one process.

Times (1) the input pipeline alone, batches/s, for the uniform shuffled stream
(``zoo.data.train_dataset``) and for ``zoo.sampling.ScoreSampler.dataset`` over all 60,000
Fashion-MNIST training images (it re-ranks the live score table for every batch), and
(2) MDGAN training steps at width 1/4, batch 64, fed by each, plus a score refresh of the
batch's examples after every step (what EP-MDGAN does, here with random scores).

    python benchmarks/sampler_overhead.py [--steps 200]
"""

from __future__ import annotations

import argparse
import time

import keras
import numpy as np
import tensorflow as tf

from zoo import data
from zoo.models import MDGAN
from zoo.sampling import ScoreSampler


def pipeline_rate(ds: tf.data.Dataset, batches: int) -> float:
    it = iter(ds)
    next(it)
    t0 = time.perf_counter()
    for _ in range(batches):
        next(it)
    return batches / (time.perf_counter() - t0)


class Refresh(keras.callbacks.Callback):
    def __init__(self, sampler: ScoreSampler, batch_size: int):
        super().__init__()
        self.sampler, self.rng, self.batch_size = sampler, np.random.default_rng(0), batch_size

    def on_train_batch_end(self, batch, logs=None):
        idx = self.rng.integers(0, self.sampler.n, self.batch_size)
        self.sampler.update(tf.constant(idx, tf.int64), tf.constant(self.rng.normal(size=self.batch_size)))


def step_rate(ds: tf.data.Dataset, steps: int, callbacks=()) -> float:
    keras.utils.set_random_seed(0)
    model = MDGAN(resolution=28, channels=1, latent_dim=64, width=0.25, seed=0)
    model.compile(learning_rate=2e-4)
    model.fit(ds, steps_per_epoch=5, epochs=1, verbose=0)  # trace
    t0 = time.perf_counter()
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=list(callbacks))
    return steps / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=64)
    a = p.parse_args()
    images, _ = data.load_images("fashion_mnist", "train")
    images = np.stack(list(images.as_numpy_iterator()))
    sampler = ScoreSampler(
        len(images), 0.8, 4.0, initial_scores=np.random.default_rng(0).normal(size=len(images))
    )
    uniform = data.train_dataset("fashion_mnist", a.batch_size, seed=0)
    weighted = sampler.dataset(images, a.batch_size, seed=0)
    print(
        f"pipeline, batches/s: uniform {pipeline_rate(uniform, 500):.0f}, "
        f"non-uniform {pipeline_rate(weighted, 500):.0f}",
        flush=True,
    )
    u = step_rate(uniform, a.steps)
    w = step_rate(weighted.map(lambda x, idx: x), a.steps, [Refresh(sampler, a.batch_size)])
    print(f"MDGAN train steps/s: uniform {u:.2f}, non-uniform + per-step refresh {w:.2f} (ratio {w / u:.3f})")


if __name__ == "__main__":
    main()
