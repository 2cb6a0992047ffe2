"""The evaluation suite: every metric of issue #4 for one trained model, as one dict.

``evaluate_model`` returns exactly ``METRIC_KEYS`` (plus ``SLOW_KEYS`` when asked); keys
that need an encoder are None for a model without one. Real-data features are computed
once per (dataset, split, extractor, n) and cached on disk (``zoo.extractors``).

Which images play which part (seed 000 §2, §4.1):
- P_X for the FIDs, precision/recall and density/coverage: the first ``n_samples``
  training images;
- reconstructions G(E(x)), feature-L2 and PSNR: the first ``n_samples`` test images
  (at most the split's size), so FID(P_X, P_G(E(X))) compares different images;
- encoder probes: codes of the first ``probe_train`` training images (fit) and of the
  test images (score), with their class labels; ``knn_accuracy_untrained`` is the same
  1-NN score of the run's *initial* encoder (the model rebuilt from its config under
  its seed, as a recipe builds it), the baseline a trained encoder has to beat: an
  untrained conv encoder already sorts Fashion-MNIST's classes well above chance;
- independent critic: trained on the first half of the test images (validation),
  reported on the second half (test);
- AIS: the first ``ais_images`` test images and their reconstructions;
- class metrics (only with an extractor whose logits are the dataset's classes, e.g.
  the domain classifier on Fashion-MNIST): ``class_histogram``, the share of the
  ``n_samples`` samples the classifier puts in each class, and ``class_agreement``, the
  share of test images x whose reconstruction G(E(x)) it puts in x's labelled class.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from zoo import evaluation
from zoo.errors import ZooError
from zoo.metrics import batched, latent_norm_ratios, psnr

METRIC_KEYS = (
    "fid_samples",
    "fid_reconstructions",
    "feature_l2",
    "inception_score",
    "ms_ssim_diversity",
    "precision",
    "recall",
    "density",
    "coverage",
    "psnr_mean",
    "psnr_random_pair",
    "latent_norm_ratio",
    "knn_accuracy",
    "knn_accuracy_untrained",
    "linear_probe_accuracy",
    "class_histogram",
    "class_agreement",
    "n_samples",
    "extractor",
)
SLOW_KEYS = ("wasserstein_critic", "ais_log_likelihood")
# Cheap enough to log during training (--eval-every): no probes, no slow metrics.
CHEAP_KEYS = ("fid_samples", "fid_reconstructions", "feature_l2", "psnr_mean", "psnr_random_pair")


@dataclasses.dataclass(frozen=True)
class EvalSettings:
    """How much data each metric uses; the defaults are the suite's standard setting."""

    n_samples: int = 10_000
    probe_train: int = 10_000
    ms_ssim_pairs: int = 1_000
    slow: bool = False
    # --slow defaults sized to finish in minutes on 2 CPU cores (measured: see README);
    # AIS is a stochastic lower bound that tightens with more steps and chains.
    critic_steps: int = 1_000
    ais_images: int = 16
    ais_sigma: float = 0.1
    ais_chains: int = 8
    ais_steps: int = 200
    ais_leapfrog: int = 5
    seed: int = 0

    def __post_init__(self):
        for name in (
            "n_samples",
            "probe_train",
            "ms_ssim_pairs",
            "critic_steps",
            "ais_images",
            "ais_steps",
            "ais_leapfrog",
        ):
            if int(getattr(self, name)) < 1:
                raise ZooError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.n_samples < 10:
            raise ZooError(f"n_samples must be >= 10 (covariances, k-NN radii), got {self.n_samples}")


class RealData:
    """Real images, their (cached) features and labels, loaded once for many models."""

    def __init__(self, dataset: str, extractor, settings: EvalSettings, cache_dir=None):
        from zoo import data
        from zoo.extractors import real_features

        self.dataset, self.extractor, self.settings = dataset, extractor, settings
        self.untrained_knn: dict = {}  # untrained_knn_accuracy's cache
        n = settings.n_samples
        self.features, self.logits = real_features(dataset, "train", extractor, n, cache_dir)
        self.test_images = data.test_images(dataset)[:n]
        n_test = len(self.test_images)
        self.test_features, self.test_logits = real_features(dataset, "test", extractor, n_test, cache_dir)
        train_labels, test_labels = data.labels(dataset, "train"), data.labels(dataset, "test")
        self.has_labels = train_labels is not None
        if self.has_labels:
            train = data.train_array(dataset)[: settings.probe_train]
            self.probe_images = train.astype(np.float32) / 255.0
            self.probe_labels = np.asarray(train_labels[: len(train)])
            self.test_labels = np.asarray(test_labels[:n_test])


def _encode(model, images):
    return batched(lambda t: model.encoder(t, training=False), images)


def _generate(model, codes):
    return batched(lambda t: model.generator(t, training=False), codes)


def untrained_knn_accuracy(cls, config: dict, seed: int, real: RealData) -> float:
    """1-NN accuracy (``evaluation.knn_accuracy`` on ``real``'s probe and test images) of
    the encoder of ``cls.from_config(config)`` built right after
    ``keras.utils.set_random_seed(seed)``: the weights a recipe's run starts from. Cached
    on ``real`` per (class, config, seed); Python's and NumPy's global random states are
    restored afterwards."""
    import json
    import random

    import keras

    key = (cls.__qualname__, json.dumps(config, sort_keys=True, default=str), int(seed))
    cache = real.untrained_knn
    if key not in cache:
        py_state, np_state = random.getstate(), np.random.get_state()
        try:
            keras.utils.set_random_seed(int(seed))
            fresh = cls.from_config(config)
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
        cache[key] = evaluation.knn_accuracy(
            _encode(fresh, real.probe_images),
            real.probe_labels,
            _encode(fresh, real.test_images),
            real.test_labels,
        )
    return cache[key]


def real_reference(real: RealData) -> dict:
    """The sample metrics of real test images against the same real reference: the
    values a perfect generator would get at this n (FID > 0 from finite samples)."""
    s = real.settings
    precision, recall = evaluation.precision_recall(real.features, real.test_features)
    density, coverage = evaluation.density_coverage(real.features, real.test_features)
    return {
        "fid_test_vs_train": evaluation.frechet_distance(real.features, real.test_features),
        "inception_score": list(evaluation.inception_score(real.test_logits)),
        "ms_ssim_diversity": evaluation.ms_ssim_diversity(real.test_images, s.ms_ssim_pairs, s.seed),
        "precision": precision,
        "recall": recall,
        "density": density,
        "coverage": coverage,
        "n_test": len(real.test_images),
        "extractor": real.extractor.name,
    }


def evaluate_model(model, real: RealData, keys: tuple[str, ...] | None = None) -> tuple[dict, dict]:
    """(metrics, arrays): the suite's numbers for ``model`` (a zoo model with
    ``generator`` and, optionally, ``encoder``; inference mode throughout) and the
    per-example arrays behind the plots (PSNR, latent-norm ratios, log-likelihoods).

    ``keys`` restricts the work to a subset (e.g. ``CHEAP_KEYS``); the others are None.
    """
    s = real.settings
    wanted = set(keys or METRIC_KEYS + (SLOW_KEYS if s.slow else ()))
    out = dict.fromkeys(METRIC_KEYS + (SLOW_KEYS if s.slow else ()))
    out["n_samples"], out["extractor"] = s.n_samples, real.extractor.name
    arrays: dict[str, np.ndarray] = {}
    rng = np.random.default_rng(s.seed)
    z = model.prior_samples(s.n_samples, rng)
    samples = _generate(model, z)
    if not np.all(np.isfinite(samples)):
        raise ZooError("the generator produced NaN or Inf images")
    x = real.test_images
    classes = real.has_labels and real.extractor.label_dataset == real.dataset
    if wanted & {"fid_samples", "inception_score", "precision", "recall", "density", "coverage"} or (
        classes and "class_histogram" in wanted
    ):
        f_samples, logits = real.extractor(samples)
        if classes:
            out["class_histogram"] = [float(v) for v in evaluation.class_histogram(logits)]
        out["fid_samples"] = evaluation.frechet_distance(real.features, f_samples)
        out["inception_score"] = evaluation.inception_score(logits)[0]
        out["precision"], out["recall"] = evaluation.precision_recall(real.features, f_samples)
        out["density"], out["coverage"] = evaluation.density_coverage(real.features, f_samples)
    if "ms_ssim_diversity" in wanted:
        out["ms_ssim_diversity"] = evaluation.ms_ssim_diversity(samples, s.ms_ssim_pairs, s.seed)
    if "psnr_random_pair" in wanted:
        out["psnr_random_pair"] = float(np.mean(psnr(x, samples[: len(x)])))
    encoder = getattr(model, "encoder", None)
    if encoder is not None:
        codes = _encode(model, x)
        recon = _generate(model, codes)
        per_example = psnr(x, recon)
        arrays["psnr"], arrays["latent_norm_ratio"] = per_example, latent_norm_ratios(codes)
        arrays["prior_norm_ratio"] = latent_norm_ratios(z[: len(x)])
        out["psnr_mean"] = float(per_example.mean())
        ratio = arrays["latent_norm_ratio"]
        out["latent_norm_ratio"] = {"mean": float(ratio.mean()), "std": float(ratio.std())}
        if wanted & {"fid_reconstructions", "feature_l2", "class_agreement"}:
            f_recon, recon_logits = real.extractor(recon)
            out["fid_reconstructions"] = evaluation.frechet_distance(real.features, f_recon)
            out["feature_l2"] = evaluation.feature_l2(real.test_features, f_recon)
            if classes:
                out["class_agreement"] = evaluation.class_agreement(recon_logits, real.test_labels)
        if real.has_labels and wanted & {"knn_accuracy", "linear_probe_accuracy"}:
            train_codes = _encode(model, real.probe_images)
            out["knn_accuracy"] = evaluation.knn_accuracy(
                train_codes, real.probe_labels, codes, real.test_labels
            )
            out["linear_probe_accuracy"] = evaluation.linear_probe_accuracy(
                train_codes, real.probe_labels, codes, real.test_labels
            )
            if hasattr(model, "get_config"):  # a zoo model: its config rebuilds its start
                seed = s.seed if getattr(model, "seed", None) is None else model.seed
                out["knn_accuracy_untrained"] = untrained_knn_accuracy(
                    type(model), model.get_config(), seed, real
                )
    if "wasserstein_critic" in wanted:
        from zoo.critic import independent_critic

        half = len(x) // 2
        sampler = np.random.default_rng(s.seed + 1)
        sample_fn = lambda n: _generate(model, model.prior_samples(n, sampler))  # noqa: E731
        t0 = time.perf_counter()
        result = independent_critic(sample_fn, x[:half], x[half:], steps=s.critic_steps, seed=s.seed)
        print(f"  independent critic: {s.critic_steps} steps in {time.perf_counter() - t0:.0f} s", flush=True)
        out["wasserstein_critic"] = result.negative_wasserstein_test
        # The validation-side value shows overfitting (seed 001 App. E); kept beside the arrays.
        arrays["wasserstein_critic_validation"] = np.asarray(result.negative_wasserstein_validation)
    if "ais_log_likelihood" in wanted:
        t0 = time.perf_counter()
        out["ais_log_likelihood"] = _ais(model, x[: s.ais_images], s, arrays)
        print(
            f"  AIS: {s.ais_images} images, {s.ais_steps} steps in {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
    return out, arrays


def _ais(model, x: np.ndarray, s: EvalSettings, arrays: dict) -> dict:
    """log p(x) and, with an encoder, log p(G(E(x))) (seed 004 eq. 3-4, 7) in nats."""
    from zoo.ais import ais_log_likelihood

    def estimate(images):
        return ais_log_likelihood(
            lambda t: model.generator(t, training=False),
            images,
            model.latent_dim,
            sigma=s.ais_sigma,
            chains=s.ais_chains,
            steps=s.ais_steps,
            leapfrog=s.ais_leapfrog,
            seed=s.seed,
        )

    if not model.GAUSSIAN_LATENT:
        print(f"  AIS: skipped; {type(model).__name__}'s samples are not G(z) with z ~ N(0, I)", flush=True)
        return None
    real = estimate(x)
    arrays["log_likelihood"] = real.log_likelihood
    result = {
        "test_images": {"mean": real.mean, "sem": real.sem},
        "reconstructions": None,
        "sigma": s.ais_sigma,
        "n_images": len(x),
        "chains": s.ais_chains,
        "steps": s.ais_steps,
        "leapfrog": s.ais_leapfrog,
    }
    if getattr(model, "encoder", None) is not None:
        recon = estimate(_generate(model, _encode(model, x)))
        arrays["log_likelihood_reconstructions"] = recon.log_likelihood
        result["reconstructions"] = {"mean": recon.mean, "sem": recon.sem}
    return result
