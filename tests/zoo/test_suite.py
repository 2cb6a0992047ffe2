"""zoo.suite wired to oracle models whose right answers are known: an encoder and
generator that reconstruct exactly while every sample is one and the same image."""

import keras
import numpy as np
import pytest

from zoo import data
from zoo.extractors import load_domain_extractor
from zoo.suite import CHEAP_KEYS, EvalSettings, RealData, evaluate_model, real_reference

PIXELS = 28 * 28


class Oracle:
    """E = flatten, G = reshape, so G(E(x)) = x exactly; the prior puts all its mass on
    one training image, so every sample is that image (no diversity, no recall)."""

    GAUSSIAN_LATENT = False
    latent_dim = PIXELS

    def __init__(self):
        self.encoder = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten()])
        self.generator = keras.Sequential([keras.Input((PIXELS,)), keras.layers.Reshape((28, 28, 1))])
        self.image = data.train_array("fashion_mnist")[0].astype(np.float32).reshape(PIXELS) / 255.0

    def prior_samples(self, n, rng):
        return np.repeat(self.image[None], n, axis=0)


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    settings = EvalSettings(n_samples=500, probe_train=200, ms_ssim_pairs=50)
    return RealData("fashion_mnist", load_domain_extractor(), settings, tmp_path_factory.mktemp("cache"))


def test_exact_reconstructions_and_collapsed_samples_score_as_they_must(real):
    metrics, arrays = evaluate_model(
        Oracle(),
        real,
        CHEAP_KEYS + ("ms_ssim_diversity", "precision", "recall", "class_histogram", "class_agreement"),
    )
    reference = real_reference(real)
    # Reconstructions are the test images themselves: what real data scores.
    assert metrics["psnr_mean"] == pytest.approx(120.0)  # MSE 0, floored at 1e-12
    assert metrics["feature_l2"] == pytest.approx(0.0, abs=1e-6)
    assert metrics["fid_reconstructions"] == pytest.approx(reference["fid_test_vs_train"], rel=1e-4)
    np.testing.assert_allclose(
        arrays["latent_norm_ratio"] * np.sqrt(PIXELS),
        np.linalg.norm(real.test_images.reshape(len(real.test_images), -1), axis=1),
        rtol=1e-5,
    )
    # Samples are one image: no diversity, no recall, and far from the data.
    assert metrics["ms_ssim_diversity"] == pytest.approx(0.0, abs=1e-6)
    # Recall counts real points inside the samples' k-NN balls, of radius 0 here: only
    # the one real point that is the sample itself (training image 0) is inside.
    assert metrics["recall"] == pytest.approx(1 / 500)
    assert metrics["fid_samples"] > 10 * metrics["fid_reconstructions"]
    # Class metrics: G(E(x)) = x, so agreement is the classifier's own accuracy on these
    # test images; every sample is training image 0, so one class holds all of them.
    _, test_logits = real.extractor(real.test_images)
    accuracy = float(np.mean(np.argmax(test_logits, axis=1) == real.test_labels))
    assert metrics["class_agreement"] == pytest.approx(accuracy) and accuracy > 0.85
    _, image_logits = real.extractor(Oracle().image.reshape(1, 28, 28, 1))
    expected = np.zeros(10)
    expected[int(np.argmax(image_logits))] = 1.0
    np.testing.assert_array_equal(metrics["class_histogram"], expected)


@pytest.mark.parametrize("family, kwargs", [("age", {}), ("ive_gan", {}), ("vae", {"prior": "mixture"})])
def test_ais_is_skipped_where_samples_are_not_g_of_a_gaussian_z(family, kwargs, real, capsys):
    from conftest import TINY

    from zoo.models import FAMILIES

    metrics, arrays = evaluate_model(FAMILIES[family](**TINY, **kwargs), real, ("ais_log_likelihood",))
    assert metrics["ais_log_likelihood"] is None and "log_likelihood" not in arrays
    assert "AIS: skipped" in capsys.readouterr().out


def test_ais_on_a_tiny_model_scores_images_and_reconstructions(real):
    from dataclasses import replace

    from conftest import TINY

    from zoo.models import IGEGAN

    keras.utils.set_random_seed(0)
    model = IGEGAN(**TINY)
    settings = replace(real.settings, ais_images=3, ais_chains=4, ais_steps=20, ais_leapfrog=2)
    real.settings, saved = settings, real.settings
    try:
        metrics, arrays = evaluate_model(model, real, ("ais_log_likelihood",))
    finally:
        real.settings = saved
    ais = metrics["ais_log_likelihood"]
    assert ais["n_images"] == 3 and (ais["chains"], ais["steps"]) == (4, 20)
    assert arrays["log_likelihood"].shape == arrays["log_likelihood_reconstructions"].shape == (3,)
    assert np.all(np.isfinite(arrays["log_likelihood"]))
    assert ais["test_images"]["mean"] == pytest.approx(float(np.mean(arrays["log_likelihood"])))
    # G(E(x)) lies on the generator's manifold, x does not: its likelihood is far higher.
    assert np.all(arrays["log_likelihood_reconstructions"] > arrays["log_likelihood"])


def test_untrained_knn_scores_the_encoder_the_run_started_from_not_the_trained_one(real):
    from conftest import TINY

    from zoo import evaluation
    from zoo.metrics import batched
    from zoo.models import FAMILIES

    keras.utils.set_random_seed(5)  # as a recipe seeds before it builds
    model = FAMILIES["ige_gan"](**{**TINY, "seed": 5})

    def knn(m):
        codes = lambda images: batched(lambda t: m.encoder(t, training=False), images)  # noqa: E731
        return evaluation.knn_accuracy(
            codes(real.probe_images), real.probe_labels, codes(real.test_images), real.test_labels
        )

    initial = knn(model)
    # What training does to the encoder: other weights. The baseline must not follow them.
    rng = np.random.default_rng(0)
    for v in model.encoder.weights:
        v.assign(v.numpy() + rng.normal(0, 0.5, v.shape).astype(v.dtype))
    trained = knn(model)
    assert trained != initial
    state = np.random.get_state()[1].copy()
    metrics, _ = evaluate_model(model, real, ("knn_accuracy",))
    assert metrics["knn_accuracy"] == pytest.approx(trained)
    assert metrics["knn_accuracy_untrained"] == pytest.approx(initial)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # global NumPy state kept
    # Another seed starts elsewhere.
    model.seed = 6
    other, _ = evaluate_model(model, real, ("knn_accuracy",))
    assert other["knn_accuracy_untrained"] != pytest.approx(initial)
