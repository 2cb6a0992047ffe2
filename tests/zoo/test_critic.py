"""The independent Wasserstein critic (seed 001 §5): near zero when samples are real
images, clearly negative when they are noise."""

import numpy as np
import pytest

from zoo import data
from zoo.critic import independent_critic
from zoo.errors import ZooError


def test_critic_tells_noise_from_data_and_not_data_from_data():
    images = data.test_images("fashion_mnist", 1200)
    val, test, pool = images[:400], images[400:800], images[800:]
    rng = np.random.default_rng(0)
    real_fn = lambda n: pool[rng.integers(0, len(pool), n)]  # noqa: E731
    noise_fn = lambda n: rng.uniform(size=(n, 28, 28, 1)).astype(np.float32)  # noqa: E731
    kw = dict(steps=60, batch_size=32, width=8, learning_rate=1e-3)
    same = independent_critic(real_fn, val, test, **kw)
    noise = independent_critic(noise_fn, val, test, **kw)
    assert noise.negative_wasserstein_test < -1.0, noise
    assert abs(same.negative_wasserstein_test) < 0.25 * abs(noise.negative_wasserstein_test), (same, noise)
    with pytest.raises(ZooError, match="fewer than the batch size"):
        independent_critic(real_fn, val[:10], test, steps=1)
