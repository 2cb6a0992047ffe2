"""Non-uniform minibatch sampling of seed 004 §4 (MLeq and EP-MDGAN).

Examples are ranked by a score, best first (k = 1 is the highest score: the largest
log-likelihood for MLeq, the largest PSNR(x, G(E(x))) for EP-MDGAN), and drawn with

    Pr(x_k) = (1 - λ_perc) / N + λ_perc (k/100)^λ_dist / Σ_j (j/100)^λ_dist,

i.e. each draw is uniform with probability 1 - λ_perc and otherwise favours the badly
scored end of the ranking. λ_perc = 0 is uniform sampling.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from zoo.data import to_unit_float
from zoo.errors import ZooError


def check_sampling(lambda_perc: float, lambda_dist: float) -> None:
    """Raise ``ZooError`` unless 0 <= λ_perc <= 1 and λ_dist >= 0."""
    if not 0.0 <= float(lambda_perc) <= 1.0:
        raise ZooError(f"lambda_perc must be in [0, 1], got {lambda_perc}")
    if not float(lambda_dist) >= 0.0:
        raise ZooError(f"lambda_dist must be >= 0, got {lambda_dist}")


def rank_probabilities(n: int, lambda_perc: float, lambda_dist: float) -> np.ndarray:
    """Pr of the example at rank k = 1..n (seed 004 §4), as float64 [n] summing to 1."""
    check_sampling(lambda_perc, lambda_dist)
    k = np.arange(1, n + 1, dtype=np.float64)
    # (k/100)^λ / Σ_j (j/100)^λ computed in log space: n^λ overflows nothing this way.
    log_w = lambda_dist * np.log(k / 100.0)
    w = np.exp(log_w - log_w.max())
    return (1.0 - lambda_perc) / n + lambda_perc * w / w.sum()


def example_probabilities(scores, lambda_perc: float, lambda_dist: float) -> tf.Tensor:
    """Pr(x_i) for each example from its score (higher = better, rank 1), float32 [N].

    Ties are ranked in index order (a stable sort), so the result is deterministic.
    """
    scores = tf.convert_to_tensor(scores, tf.float32)
    n = tf.shape(scores)[0]
    order = tf.argsort(scores, direction="DESCENDING", stable=True)  # best first
    k = tf.cast(tf.range(1, n + 1), tf.float64)
    log_w = float(lambda_dist) * tf.math.log(k / 100.0)
    w = tf.exp(log_w - tf.reduce_max(log_w))
    by_rank = (1.0 - float(lambda_perc)) / tf.cast(n, tf.float64) + float(lambda_perc) * w / tf.reduce_sum(w)
    probs = tf.scatter_nd(order[:, None], by_rank, tf.shape(scores)[:1])
    return tf.cast(probs, tf.float32)


class ScoreSampler:
    """Draws minibatches of indices by ``example_probabilities`` of a live score table.

    ``scores`` is a ``tf.Variable`` [N]; ``update(indices, values)`` writes new scores
    (EP-MDGAN refreshes the examples of every batch after each step), and the next
    batches use them. ``dataset(images, batch_size, seed)`` is an infinite
    ``tf.data.Dataset`` of ``(images[idx], idx)`` drawn without prefetching, so each batch
    uses the scores as they are when it is asked for; ``batches`` draws the same in-graph.
    """

    def __init__(self, n: int, lambda_perc: float, lambda_dist: float, initial_scores=None):
        check_sampling(lambda_perc, lambda_dist)
        if n < 1:
            raise ZooError(f"need at least one example to sample, got {n}")
        self.n, self.lambda_perc, self.lambda_dist = int(n), float(lambda_perc), float(lambda_dist)
        init = np.zeros(n, np.float32) if initial_scores is None else np.asarray(initial_scores, np.float32)
        if init.shape != (n,):
            raise ZooError(f"initial_scores must have shape ({n},), got {init.shape}")
        self.scores = tf.Variable(init, trainable=False, name="sampler_scores")

    def probabilities(self) -> tf.Tensor:
        return example_probabilities(self.scores, self.lambda_perc, self.lambda_dist)

    def sample(self, batch_size: int, seed: tf.Tensor) -> tf.Tensor:
        """``batch_size`` indices drawn with replacement; ``seed`` is a stateless [2] seed."""
        logits = tf.math.log(self.probabilities())[None, :]
        return tf.random.stateless_categorical(logits, batch_size, seed, dtype=tf.int64)[0]

    def update(self, indices, values) -> None:
        self.scores.scatter_nd_update(tf.reshape(indices, [-1, 1]), tf.cast(values, tf.float32))

    def batches(self, images, batch_size: int, seed: int):
        """In-graph draws for ``AdversarialModel.fit_source``: ``batches(step)`` is
        ``(images[idx], idx)`` with idx drawn from the scores as they are at that step
        (no prefetch lag), from the stateless seed (seed, step): the same draws as
        ``dataset`` makes for batch ``step`` from the same scores."""
        images = tf.Variable(images, trainable=False, name="sampled_images")

        def draw(step):
            idx = self.sample(batch_size, tf.stack([tf.cast(seed, tf.int64), tf.cast(step, tf.int64)]))
            return to_unit_float(tf.gather(images, idx)), idx

        return draw

    def dataset(self, images, batch_size: int, seed: int, skip_batches: int = 0) -> tf.data.Dataset:
        """Infinite ``(float32 images in [0, 1], int64 indices)`` batches; batch i uses the
        stateless seed (seed, i), so a resumed run continues the same seed sequence."""
        images = tf.convert_to_tensor(images)

        def draw(i):
            idx = self.sample(batch_size, tf.stack([tf.cast(seed, tf.int64), i]))
            return to_unit_float(tf.gather(images, idx)), idx

        # No prefetching, explicit or injected by tf.data's optimiser: a batch is drawn
        # when the step asks for it, from the scores as they are then, so the stream
        # follows every update at once and a resumed stream repeats the draws.
        options = tf.data.Options()
        options.experimental_optimization.inject_prefetch = False
        options.autotune.enabled = False
        return tf.data.Dataset.counter(start=skip_batches).map(draw).with_options(options)
