"""Marginal log-likelihood of images under a generator by annealed importance sampling.

Seed 004 §2.2 (eq. 3-4, following Wu et al. 2017) scores an image x by

    log p(x) = log ∫ p(x | z) p(z) dz,   p(x | z) = N(x; G(z), σ² I),   p(z) = N(0, I),

and §4 (eq. 7) scores reconstructions the same way, log p(G(E(x))). Seed 004 prints
eq. 4's normaliser as (2πσ²)^dim(x); the Gaussian density has (2πσ²)^(dim(x)/2), which is
what is used here. Values are in nats (seed 004's figures use log10: divide by ln 10).

AIS (Neal 2001) anneals from the prior to the posterior through
f_t(z) = p(z) p(x | z)^β_t, 0 = β_0 < ... < β_T = 1 (Wu et al.'s sigmoid schedule), with
one Hamiltonian Monte Carlo move per temperature. Wu et al. adapt the step size towards
an acceptance rate of 0.65 on the fly; here a pilot run adapts it (x1.02 on accept, x0.98
on reject, per chain) and the estimating run reuses the pilot's per-temperature step
sizes, so the transitions do not depend on the chain's own history. Each of K chains accumulates
log w = Σ_t (β_t − β_{t−1}) log p(x | z_{t−1}); the estimate is log mean_k w_k, a
stochastic lower bound of log p(x) in expectation.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import tensorflow as tf

from zoo.errors import ZooError


@dataclasses.dataclass(frozen=True)
class AISResult:
    """Per-example estimates (nats) and the delta-method standard error of each, over
    the chains: se = std(w) / (sqrt(K) mean(w))."""

    log_likelihood: np.ndarray
    standard_error: np.ndarray
    acceptance: float

    @property
    def mean(self) -> float:
        return float(np.mean(self.log_likelihood))

    @property
    def sem(self) -> float:
        """Standard error of the mean over examples."""
        n = len(self.log_likelihood)
        return float(np.std(self.log_likelihood, ddof=1) / math.sqrt(n)) if n > 1 else float("nan")


def sigmoid_schedule(steps: int, radius: float = 4.0) -> np.ndarray:
    """β_0 = 0 ... β_T = 1, sigmoid-spaced (denser near both ends), as Wu et al. use."""
    s = 1.0 / (1.0 + np.exp(-np.linspace(-radius, radius, steps + 1)))
    return (s - s[0]) / (s[-1] - s[0])


def ais_log_likelihood(
    generator,
    images,
    latent_dim: int,
    sigma: float = 0.1,
    chains: int = 16,
    steps: int = 500,
    leapfrog: int = 10,
    step_size: float = 0.05,
    batch_size: int = 16,
    seed: int = 0,
) -> AISResult:
    """log p(x) of each image [N, ...] under p(x|z) = N(G(z), σ² I), z ~ N(0, I), by AIS
    with ``chains`` chains, ``steps`` temperatures and ``leapfrog`` HMC steps each.

    ``generator`` maps float32 codes [M, latent_dim] to images shaped like ``images``
    (pass ``lambda z: model.generator(z, training=False)``).
    """
    x = np.asarray(images, np.float32)
    if x.ndim < 2 or len(x) == 0:
        raise ZooError(f"ais_log_likelihood needs a batch of images, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ZooError("images contain NaN or Inf")
    if not (sigma > 0 and chains >= 2 and steps >= 1 and leapfrog >= 1):
        raise ZooError(
            f"need sigma > 0, chains >= 2, steps >= 1, leapfrog >= 1; got {sigma}, {chains}, {steps}, {leapfrog}"
        )
    betas = tf.constant(sigmoid_schedule(steps), tf.float32)
    dim_x = int(np.prod(x.shape[1:]))
    log_norm = -0.5 * dim_x * math.log(2.0 * math.pi * sigma**2)
    rng = tf.random.Generator.from_seed(seed)

    def log_lik_and_grad(z, target):  # log p(x|z) per chain and its gradient in z
        with tf.GradientTape() as tape:
            tape.watch(z)
            diff = tf.reshape(generator(z) - target, [tf.shape(z)[0], -1])
            ll = log_norm - 0.5 * tf.reduce_sum(tf.square(diff), axis=1) / sigma**2
        return ll, tape.gradient(ll, z)

    def half_norm(v):
        return 0.5 * tf.reduce_sum(tf.square(v), axis=1)

    @tf.function(reduce_retracing=True)
    def run(target, schedule, adapt: bool):
        m = tf.shape(target)[0]
        z = rng.normal([m, latent_dim])
        ll, g_ll = log_lik_and_grad(z, target)
        eps = tf.fill([m, 1], tf.constant(step_size, tf.float32))
        log_w, accepted = tf.zeros([m]), tf.zeros([])
        used = tf.TensorArray(tf.float32, size=steps)
        for t in tf.range(1, steps + 1):
            if not adapt:
                eps = tf.ones_like(eps) * schedule[t - 1]
            used = used.write(t - 1, tf.exp(tf.reduce_mean(tf.math.log(eps))))
            beta = betas[t]
            log_w += (beta - betas[t - 1]) * ll
            # One HMC move leaving f_t(z) = p(z) p(x|z)^beta invariant; U = -log f_t.
            u0 = half_norm(z) - beta * ll
            p0 = rng.normal(tf.shape(z))
            zn, lln, g_lln = z, ll, g_ll
            p = p0 - 0.5 * eps * (zn - beta * g_lln)
            for i in tf.range(leapfrog):
                zn = zn + eps * p
                lln, g_lln = log_lik_and_grad(zn, target)
                p = p - tf.where(i < leapfrog - 1, 1.0, 0.5) * eps * (zn - beta * g_lln)
            log_accept = u0 - (half_norm(zn) - beta * lln) + half_norm(p0) - half_norm(p)
            log_accept = tf.where(tf.math.is_finite(log_accept), log_accept, -np.inf)
            accept = tf.math.log(rng.uniform([m])) < log_accept
            z = tf.where(accept[:, None], zn, z)
            ll = tf.where(accept, lln, ll)
            g_ll = tf.where(accept[:, None], g_lln, g_ll)
            accepted += tf.reduce_mean(tf.cast(accept, tf.float32))
            if adapt:
                eps = tf.clip_by_value(eps * tf.where(accept[:, None], 1.02, 0.98), 1e-4, 1.0)
        return log_w, accepted / tf.cast(steps, tf.float32), used.stack()

    estimates, errors, rates = [], [], []
    for start in range(0, len(x), batch_size):
        part = x[start : start + batch_size]
        target = tf.constant(np.repeat(part, chains, axis=0))
        # A pilot pass adapts the step sizes; the estimate comes from a second pass that
        # follows the pilot's step-size schedule, fixed in advance, so every transition
        # is a valid MCMC kernel for its f_t (adapting inside the estimating pass would
        # bias it: about -0.2 nats on the linear-Gaussian test).
        _, _, schedule = run(target, tf.zeros([steps]), adapt=True)
        log_w, rate, _ = run(target, schedule, adapt=False)
        log_w = log_w.numpy().astype(np.float64).reshape(len(part), chains)
        top = log_w.max(axis=1, keepdims=True)
        w = np.exp(log_w - top)
        estimates.append(top[:, 0] + np.log(w.mean(axis=1)))
        errors.append(w.std(axis=1) / (math.sqrt(chains) * w.mean(axis=1)))
        rates.append(float(rate))
    return AISResult(np.concatenate(estimates), np.concatenate(errors), float(np.mean(rates)))
