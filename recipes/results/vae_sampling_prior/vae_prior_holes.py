"""Diagnostic: FID of a trained VAE's decoder on z ~ N(0, I) vs z from densities fitted to the
aggregate posterior of the training codes (single full-cov Gaussian; GMM with 10 components)."""

import sys
import time

import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[3]))  # this checkout
from sklearn.mixture import GaussianMixture

from zoo import data, evaluation, training
from zoo.extractors import choose_extractor
from zoo.suite import EvalSettings, RealData, _encode, _generate

run = sys.argv[1]
ckpt = sys.argv[2] if len(sys.argv) > 2 else None
_, model = training.load_run(run)
if ckpt:
    training.restore_networks(model, ckpt)
else:
    training.restore_latest(model, run, networks_only=True)
real = RealData("fashion_mnist", choose_extractor("fashion_mnist"), EvalSettings())
n = real.settings.n_samples
train = data.train_array("fashion_mnist").astype(np.float32) / 255.0
t0 = time.time()
mu = _encode(model, train)
print(
    "codes",
    mu.shape,
    "mean norm/sqrt(d)",
    np.linalg.norm(mu, axis=1).mean() / np.sqrt(mu.shape[1]),
    time.time() - t0,
)
rng = np.random.default_rng(0)


def fid(z, name):
    x = _generate(model, z.astype(np.float32))
    f, logits = real.extractor(x)
    h = evaluation.class_histogram(logits)
    p, r = evaluation.precision_recall(real.features, f)
    print(
        f"{name}: FID {evaluation.frechet_distance(real.features, f):.2f} precision {p:.3f} recall {r:.3f} classes {h.min():.3f}-{h.max():.3f}",
        flush=True,
    )


fid(model.prior_samples(n, np.random.default_rng(0)), "prior N(0,I)")
m, c = mu.mean(0), np.cov(mu.T)
fid(rng.multivariate_normal(m, c, size=n), "full-cov Gaussian fit")
for k in (10,):
    g = GaussianMixture(k, covariance_type="full", random_state=0).fit(mu)
    fid(g.sample(n)[0], f"GMM {k}")
fid(mu[rng.choice(len(mu), n, replace=False)], "training codes themselves (recon of train)")
