"""AIS log-likelihood against the exact marginal of a linear-Gaussian generator:
G(z) = zA + b, z ~ N(0, I), x | z ~ N(G(z), σ²I)  =>  x ~ N(b, AᵀA + σ²I)."""

import numpy as np
import pytest
import scipy.stats
import tensorflow as tf

from zoo.ais import ais_log_likelihood, sigmoid_schedule
from zoo.errors import ZooError


def test_ais_agrees_with_the_exact_linear_gaussian_marginal_within_one_nat():
    rng = np.random.default_rng(0)
    dz, dx, sigma = 3, 8, 0.3
    a = rng.standard_normal((dz, dx)).astype(np.float32)
    b = rng.standard_normal(dx).astype(np.float32)
    z = rng.standard_normal((5, dz))
    x = (z @ a + b + sigma * rng.standard_normal((5, dx))).astype(np.float32)
    x[-1] += 1.0  # an image off the generator's manifold: much less likely
    exact = scipy.stats.multivariate_normal(b, a.T @ a + sigma**2 * np.eye(dx)).logpdf(x)
    result = ais_log_likelihood(
        lambda t: tf.matmul(t, a) + b, x, dz, sigma=sigma, chains=48, steps=500, leapfrog=5
    )
    assert np.max(np.abs(result.log_likelihood - exact)) < 1.0, (result.log_likelihood, exact)
    assert np.all(result.standard_error < 1.0) and 0.3 < result.acceptance < 0.95
    # A wrong σ in the density would be off by dim(x)/2 * log(...) nats: this one is not.
    assert result.mean == pytest.approx(exact.mean(), abs=0.5)


def test_schedule_and_bad_inputs():
    betas = sigmoid_schedule(10)
    assert betas[0] == 0.0 and betas[-1] == 1.0 and np.all(np.diff(betas) > 0)
    gen = lambda t: t  # noqa: E731
    with pytest.raises(ZooError, match="NaN"):
        ais_log_likelihood(gen, np.full((1, 2), np.nan, np.float32), 2)
    with pytest.raises(ZooError, match="sigma > 0"):
        ais_log_likelihood(gen, np.zeros((1, 2), np.float32), 2, sigma=0.0)
