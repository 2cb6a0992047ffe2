"""AIS log-likelihood against exact marginals: a linear-Gaussian generator,
G(z) = zA + b, z ~ N(0, I), x | z ~ N(G(z), σ²I)  =>  x ~ N(b, AᵀA + σ²I), and a
nonlinear 1-D generator integrated numerically."""

import numpy as np
import pytest
import scipy.stats
import tensorflow as tf

from zoo.ais import ais_log_likelihood, sigmoid_schedule
from zoo.errors import ZooError

SEEDS = (0, 1, 2, 3)


def linear_gaussian(dz=3, dx=8, sigma=0.3):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((dz, dx)).astype(np.float32)
    b = rng.standard_normal(dx).astype(np.float32)
    z = rng.standard_normal((5, dz))
    x = (z @ a + b + sigma * rng.standard_normal((5, dx))).astype(np.float32)
    x[-1] += 1.0  # an image off the generator's manifold: much less likely
    exact = scipy.stats.multivariate_normal(b, a.T @ a + sigma**2 * np.eye(dx)).logpdf(x)
    return (lambda t: tf.matmul(t, a) + b), x, dz, sigma, exact


def curved(t):
    """A nonlinear 1-D generator into 3-D: its marginal has no closed form."""
    return tf.concat([tf.tanh(2.0 * t), 0.5 * tf.square(t), tf.sin(3.0 * t)], axis=1)


def curved_case(sigma=0.3):
    rng = np.random.default_rng(1)
    z = rng.standard_normal((5, 1)).astype(np.float32)
    x = (curved(tf.constant(z)).numpy() + sigma * rng.standard_normal((5, 3))).astype(np.float32)
    # log p(x) = log ∫ N(z; 0, 1) N(x; G(z), σ²I) dz by the trapezoid rule on a fine grid.
    grid = np.linspace(-10.0, 10.0, 200_001)
    g = curved(tf.constant(grid[:, None], tf.float32)).numpy().astype(np.float64)
    log_prior = scipy.stats.norm.logpdf(grid)
    exact = []
    for xi in x:
        log_lik = scipy.stats.norm.logpdf(xi[None, :], g, sigma).sum(axis=1)
        integrand = np.exp(log_prior + log_lik - (log_prior + log_lik).max())
        exact.append(np.log(np.trapezoid(integrand, grid)) + (log_prior + log_lik).max())
    return curved, x, 1, sigma, np.array(exact)


@pytest.mark.parametrize("case", [linear_gaussian, curved_case], ids=["linear_gaussian", "curved_1d"])
def test_ais_matches_the_exact_marginal_to_a_tenth_of_a_nat_on_average_over_seeds(case):
    generator, x, dz, sigma, exact = case()
    errors, rates = [], []
    for seed in SEEDS:
        result = ais_log_likelihood(
            generator, x, dz, sigma=sigma, chains=48, steps=500, leapfrog=5, seed=seed
        )
        errors.append(result.log_likelihood - exact)
        rates.append(result.acceptance)
        assert np.all(result.standard_error < 1.0)
    errors = np.array(errors)  # [seeds, images]
    assert np.abs(errors).max() < 1.0, errors
    # AIS is a lower bound in expectation, and with these settings a tight one: the mean
    # error over 4 seeds x 5 images is within 0.1 nat (a wrong density constant would be
    # off by dim(x)/2 * log(...), an estimate from the adapting pass by about -0.2).
    assert abs(errors.mean()) < 0.1, errors.mean()
    assert 0.3 < np.mean(rates) < 0.95
    # With a short schedule the bound is loose, and must stay a lower bound: the log of an
    # unbiased estimate of p(x) is below log p(x) on average (measured: -0.98 nat linear,
    # -0.20 curved, 20 temperatures). Weights updated after each move instead of before
    # overestimate instead (+0.35, +0.07).
    short = [
        ais_log_likelihood(generator, x, dz, sigma=sigma, chains=48, steps=20, leapfrog=5, seed=seed)
        for seed in SEEDS
    ]
    assert np.mean([r.log_likelihood - exact for r in short]) < 0
    if case is linear_gaussian:  # the image pushed off the manifold is the least likely one
        assert np.argmin(exact) == 4 and np.all(np.argmin(errors + exact, axis=1) == 4)


def test_schedule_and_bad_inputs():
    betas = sigmoid_schedule(10)
    assert betas[0] == 0.0 and betas[-1] == 1.0 and np.all(np.diff(betas) > 0)
    gen = lambda t: t  # noqa: E731
    with pytest.raises(ZooError, match="NaN"):
        ais_log_likelihood(gen, np.full((1, 2), np.nan, np.float32), 2)
    with pytest.raises(ZooError, match="sigma > 0"):
        ais_log_likelihood(gen, np.zeros((1, 2), np.float32), 2, sigma=0.0)
