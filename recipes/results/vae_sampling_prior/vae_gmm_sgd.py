"""Feasibility: a K-component full-covariance Gaussian mixture fitted by Adam (max likelihood)
to z ~ q(z|x) of a trained VAE, batches of 64; FID of G(z), z ~ the mixture."""

import sys
import time

import keras
import numpy as np
import tensorflow as tf

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[3]))  # this checkout
from zoo import data, evaluation, training
from zoo.extractors import choose_extractor
from zoo.suite import EvalSettings, RealData, _generate, batched

run, ckpt, steps, K, lr, sample = (
    sys.argv[1],
    sys.argv[2],
    int(sys.argv[3]),
    int(sys.argv[4]),
    float(sys.argv[5]),
    sys.argv[6] == "sample",
)
_, model = training.load_run(run)
training.restore_networks(model, ckpt)
real = RealData("fashion_mnist", choose_extractor("fashion_mnist"), EvalSettings())
n = real.settings.n_samples
train = data.train_array("fashion_mnist").astype(np.float32) / 255.0
stats = batched(lambda t: model.posterior(t, training=False), train)
d = stats.shape[1] // 2
mu_t, sd_t = tf.constant(stats[:, :d]), tf.constant(np.exp(0.5 * stats[:, d:]))
tf.random.set_seed(0)
means = tf.Variable(float(sys.argv[7]) * tf.random.normal([K, d]))
raw_tril = tf.Variable(tf.zeros([K, d, d]))
log_diag = tf.Variable(tf.zeros([K, d]))
logits = tf.Variable(tf.zeros([K]))


def tril():
    return (
        tf.linalg.band_part(raw_tril, -1, 0)
        - tf.linalg.band_part(raw_tril, 0, 0)
        + tf.linalg.diag(tf.exp(log_diag))
    )


def log_prob(z):
    L = tril()
    diff = z[:, None, :] - means[None]  # [B, K, d]
    sol = tf.linalg.triangular_solve(
        tf.broadcast_to(L[None], [tf.shape(z)[0], K, d, d]), diff[..., None], lower=True
    )[..., 0]
    comp = -0.5 * tf.reduce_sum(sol**2, -1) - tf.reduce_sum(log_diag, -1)[None] - 0.5 * d * np.log(2 * np.pi)
    return tf.reduce_logsumexp(comp + tf.nn.log_softmax(logits)[None], -1)


opt = keras.optimizers.Adam(lr)
vars_ = [means, raw_tril, log_diag, logits]


@tf.function
def step(idx):
    z = tf.gather(mu_t, idx)
    if sample:
        z = z + tf.gather(sd_t, idx) * tf.random.normal(tf.shape(z))
    with tf.GradientTape() as tape:
        loss = -tf.reduce_mean(log_prob(z))
    opt.apply_gradients(zip(tape.gradient(loss, vars_), vars_))
    return loss


def score(k):
    rng = np.random.default_rng(1)
    w = tf.nn.softmax(logits).numpy().astype(np.float64)
    c = rng.choice(K, n, p=w / w.sum())
    u = rng.standard_normal((n, d)).astype(np.float32)
    z = means.numpy()[c] + np.einsum("nij,nj->ni", tril().numpy()[c], u)
    x = _generate(model, z.astype(np.float32))
    f, lg = real.extractor(x)
    h = evaluation.class_histogram(lg)
    p, r = evaluation.precision_recall(real.features, f)
    print(
        f"  step {k}: FID {evaluation.frechet_distance(real.features, f):.2f} precision {p:.3f} recall {r:.3f} classes {h.min():.3f}-{h.max():.3f} weights {np.sort(w)[::-1][:3].round(3)}",
        flush=True,
    )


rng = np.random.default_rng(0)
t0 = time.time()
for i in range(steps):
    loss = step(rng.integers(0, len(stats), 64))
    if (i + 1) % 500 == 0:
        print(i + 1, float(loss), f"{time.time() - t0:.0f}s", flush=True)
    if (i + 1) % 2000 == 0:
        score(i + 1)
