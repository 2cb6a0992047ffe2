"""Feasibility: Dai & Wipf (2019) second-stage VAE on a trained VAE's codes; FID of G1(G2(u)), u ~ N(0, I)."""

import sys
import time

import keras
import numpy as np
import tensorflow as tf

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[3]))  # this checkout
from zoo import data, evaluation, losses, training
from zoo.extractors import choose_extractor
from zoo.suite import EvalSettings, RealData, _generate, batched

run, ckpt, steps, width = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
_, model = training.load_run(run)
training.restore_networks(model, ckpt)
real = RealData("fashion_mnist", choose_extractor("fashion_mnist"), EvalSettings())
n = real.settings.n_samples
train = data.train_array("fashion_mnist").astype(np.float32) / 255.0
stats = batched(lambda t: model.posterior(t, training=False), train)
d = stats.shape[1] // 2
mu, logvar = stats[:, :d], stats[:, d:]
keras.utils.set_random_seed(0)


def mlp(out, name):
    return keras.Sequential(
        [
            keras.layers.Dense(width, activation="relu"),
            keras.layers.Dense(width, activation="relu"),
            keras.layers.Dense(out),
        ],
        name=name,
    )


enc2, dec2 = mlp(2 * d, "enc2"), mlp(d, "dec2")
log_gamma = tf.Variable(float(sys.argv[6]) if len(sys.argv) > 6 else 0.0)
opt = keras.optimizers.Adam(float(sys.argv[5]) if len(sys.argv) > 5 else 1e-3, beta_1=0.9)
mu_t, sd_t = tf.constant(mu), tf.constant(np.exp(0.5 * logvar))


@tf.function
def step(idx):
    z = tf.gather(mu_t, idx) + tf.gather(sd_t, idx) * tf.random.normal([tf.size(idx), d])
    with tf.GradientTape() as tape:
        s = enc2(z)
        m, lv = s[:, :d], s[:, d:]
        u = m + tf.exp(0.5 * lv) * tf.random.normal(tf.shape(m))
        nll = losses.gaussian_nll(z, dec2(u), log_gamma)
        kl = losses.gaussian_kl(m, lv)
        loss = tf.reduce_mean(nll + kl)
    vars_ = enc2.trainable_variables + dec2.trainable_variables + [log_gamma]
    opt.apply_gradients(zip(tape.gradient(loss, vars_), vars_))
    return loss, tf.reduce_mean(kl)


BATCH = int(sys.argv[7]) if len(sys.argv) > 7 else 64


def score(k):
    u = np.random.default_rng(1).standard_normal((n, d)).astype(np.float32)
    x = _generate(model, dec2(u).numpy())
    f, logits = real.extractor(x)
    h = evaluation.class_histogram(logits)
    p, r = evaluation.precision_recall(real.features, f)
    print(
        f"  step {k}: FID {evaluation.frechet_distance(real.features, f):.2f} precision {p:.3f} recall {r:.3f} classes {h.min():.3f}-{h.max():.3f}",
        flush=True,
    )


rng = np.random.default_rng(0)
t0 = time.time()
for i in range(steps):
    loss, kl = step(rng.integers(0, len(mu), BATCH))
    if (i + 1) % 1000 == 0:
        print(i + 1, float(loss), float(kl), float(tf.exp(log_gamma)), f"{time.time() - t0:.0f}s", flush=True)
    if (i + 1) % 5000 == 0:
        score(i + 1)
