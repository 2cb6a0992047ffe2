"""Non-uniform minibatch sampling (seed 004 §4): the formula, its ranking, and the draws."""

import numpy as np
import pytest
import tensorflow as tf

from zoo.errors import ZooError
from zoo.sampling import ScoreSampler, example_probabilities, rank_probabilities


def test_rank_probabilities_golden():
    # n = 3, λ_perc = 0.5, λ_dist = 1: (k/100) / Σ = 1/6, 2/6, 3/6; plus 0.5/3 uniform.
    p = rank_probabilities(3, 0.5, 1.0)
    assert p == pytest.approx([0.5 / 3 + 0.5 / 6, 0.5 / 3 + 0.5 * 2 / 6, 0.5 / 3 + 0.5 * 3 / 6], rel=1e-12)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(
    "n,perc,dist", [(1, 0.8, 4.0), (60_000, 0.8, 4.0), (54_000, 0.5, 12.0), (100, 1.0, 0.0)]
)
def test_rank_probabilities_sum_to_one_and_grow_with_rank(n, perc, dist):
    p = rank_probabilities(n, perc, dist)
    assert np.isfinite(p).all() and p.sum() == pytest.approx(1.0, abs=1e-9)
    assert np.all(np.diff(p) >= 0)  # worse rank (larger k) is never less likely


def test_uniform_when_lambda_perc_is_zero():
    assert rank_probabilities(7, 0.0, 8.0) == pytest.approx(np.full(7, 1 / 7))
    probs = example_probabilities(np.random.default_rng(0).normal(size=50), 0.0, 8.0).numpy()
    assert probs == pytest.approx(np.full(50, 1 / 50), rel=1e-6)


def test_example_probabilities_follow_the_ranking():
    scores = np.array([5.0, 1.0, 3.0])  # ranks: index 0 -> 1, index 2 -> 2, index 1 -> 3
    expected = rank_probabilities(3, 0.5, 1.0)
    got = example_probabilities(scores, 0.5, 1.0).numpy()
    assert got == pytest.approx([expected[0], expected[2], expected[1]], rel=1e-6)


def test_low_scores_are_drawn_more_often_in_the_predicted_ratio():
    sampler = ScoreSampler(10, 0.8, 4.0, initial_scores=np.arange(10.0))  # index 0 scores worst
    draws = sampler.sample(200_000, tf.constant([0, 1], tf.int64)).numpy()
    freq = np.bincount(draws, minlength=10) / len(draws)
    expected = sampler.probabilities().numpy()
    assert freq == pytest.approx(expected, abs=4e-3)
    assert freq[0] / freq[9] == pytest.approx(expected[0] / expected[9], rel=0.1)
    assert expected[0] > 10 * expected[9]


def test_update_changes_the_next_draws_of_the_live_stream_and_a_resumed_stream_repeats_them():
    images = np.arange(50, dtype=np.uint8)[:, None, None, None] * np.ones((1, 2, 2, 1), np.uint8)
    sampler = ScoreSampler(50, 1.0, 6.0, initial_scores=np.arange(50.0))
    assert int(np.argmax(sampler.probabilities().numpy())) == 0  # the lowest score
    live = iter(sampler.dataset(images, 64, seed=5))
    first = next(live)[1].numpy()
    assert np.mean(first < 10) > 0.6, first  # draws favour the badly scored end (79 % on 0..9)
    # Examples 40..49 now score worst: the very next batch of the live stream must follow.
    sampler.update(tf.range(50, dtype=tf.int64), tf.constant(np.arange(50.0)[::-1].copy(), tf.float32))
    second = next(live)[1].numpy()
    assert np.mean(second >= 40) > 0.6, second
    # A stream resumed at batch 1 with the same scores draws exactly the same indices,
    # and so does the in-graph source the recipes use.
    resumed = next(iter(sampler.dataset(images, 64, seed=5, skip_batches=1)))[1].numpy()
    np.testing.assert_array_equal(resumed, second)
    np.testing.assert_array_equal(sampler.batches(images, 64, seed=5)(1)[1].numpy(), second)


def test_dataset_yields_the_sampled_images_deterministically():
    images = (np.arange(6, dtype=np.uint8)[:, None, None, None] * np.ones((1, 2, 2, 1), np.uint8)) * 40
    sampler = ScoreSampler(6, 0.5, 2.0, initial_scores=np.arange(6.0))
    batches = list(sampler.dataset(images, 4, seed=3).take(3))
    for x, idx in batches:
        assert x.dtype == tf.float32 and x.shape == (4, 2, 2, 1)
        np.testing.assert_allclose(x.numpy()[:, 0, 0, 0], idx.numpy() * 40 / 255.0, rtol=1e-6)
    again = list(sampler.dataset(images, 4, seed=3).take(3))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(batches, again))
    resumed = next(iter(sampler.dataset(images, 4, seed=3, skip_batches=2)))
    assert np.array_equal(resumed[1], batches[2][1])


@pytest.mark.parametrize("perc,dist", [(-0.1, 1.0), (1.5, 1.0), (0.5, -1.0)])
def test_bad_parameters(perc, dist):
    with pytest.raises(ZooError):
        rank_probabilities(10, perc, dist)


def test_in_graph_draws_follow_the_scores_of_their_step_and_repeat_on_resume():
    images = np.arange(50, dtype=np.uint8).reshape(50, 1, 1, 1)
    sampler = ScoreSampler(50, lambda_perc=1.0, lambda_dist=8.0)
    draw = sampler.batches(images, 64, seed=5)
    x, idx = draw(tf.constant(3, tf.int64))
    # The images are the drawn examples, in [0, 1]; the same step draws the same indices,
    # as the tf.data stream does for its batch 3 (resume: a pure function of the step).
    np.testing.assert_allclose(x.numpy().reshape(-1), idx.numpy() / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(draw(3)[1].numpy(), idx.numpy())
    stream = list(sampler.dataset(images, 64, seed=5, skip_batches=3).take(1))[0]
    np.testing.assert_array_equal(stream[1].numpy(), idx.numpy())
    # No lag: after an update the very next in-graph draw uses the new scores. With all
    # scores 0 ties rank in index order, so the last examples are drawn most; give
    # examples 0-9 the lowest scores and they take over at once.
    assert np.mean(draw(4)[1].numpy() >= 40) > 0.5
    sampler.update(tf.range(10, dtype=tf.int64), -tf.ones(10))
    assert np.mean(draw(4)[1].numpy() < 10) > 0.5
