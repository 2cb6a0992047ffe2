"""The shipped in-domain extractor: its weights are the trained ones (accuracy on held-out
images), it returns 128-d features and 10 logits, and it rejects bad images."""

import numpy as np
import pytest

from zoo import data
from zoo.errors import ZooError
from zoo.extractors import domain_card, load_domain_extractor


def test_shipped_extractor_classifies_held_out_images():
    extractor = load_domain_extractor()
    images = data.test_images("fashion_mnist")  # the whole held-out split, 10 000 images
    features, logits = extractor(images)
    assert features.shape == (10_000, 128) and logits.shape == (10_000, 10)
    accuracy = float(np.mean(logits.argmax(1) == data.fashion_mnist_labels("test")))
    assert accuracy >= 0.90, accuracy
    # The card states what was measured here, not a figure of its own.
    assert domain_card()["test_accuracy"] == pytest.approx(accuracy, abs=0.002)


def test_extractor_rejects_bad_images(tmp_path):
    extractor = load_domain_extractor()
    with pytest.raises(ZooError, match="takes images"):
        extractor(np.zeros((2, 32, 32, 3), np.float32))
    with pytest.raises(ZooError, match="NaN"):
        extractor(np.full((2, 28, 28, 1), np.nan, np.float32))
    with pytest.raises(ZooError, match="no classifier weights"):
        load_domain_extractor(tmp_path / "missing.weights.h5")


def test_inception_plumbing_with_random_weights_and_a_local_weights_file(tmp_path):
    """Random weights only (nothing may be downloaded in tests): 2048-d pool-3 features
    and 1000 logits for any image size; greyscale equals the same image repeated to RGB;
    a weights file given by path is loaded and names the extractor by its hash."""
    from zoo.extractors import load_inception_extractor

    extractor = load_inception_extractor("random")
    grey = np.random.default_rng(0).uniform(size=(3, 28, 28, 1)).astype(np.float32)
    features, logits = extractor(grey)
    assert features.shape == (3, 2048) and logits.shape == (3, 1000)
    rgb_features, _ = extractor(np.repeat(grey, 3, axis=-1))
    np.testing.assert_allclose(features, rgb_features, rtol=1e-5, atol=1e-6)
    assert extractor(np.ones((1, 32, 32, 3), np.float32))[0].shape == (1, 2048)
    path = tmp_path / "inception.weights.h5"
    extractor.model.get_layer(index=-1).save_weights(path)  # InceptionV3's own layers
    reloaded = load_inception_extractor(path)
    assert reloaded.name.startswith("inception-") and reloaded.name != "inception-random"
    np.testing.assert_allclose(reloaded(grey)[0], features, rtol=1e-5, atol=1e-5)
    with pytest.raises(ZooError, match="takes images"):
        extractor(np.zeros((1, 28, 28, 2), np.float32))
    with pytest.raises(ZooError, match="no InceptionV3 weights"):
        load_inception_extractor(tmp_path / "missing.h5")


class _Counting:
    """Wraps an extractor and counts how many images it was asked to embed."""

    def __init__(self, inner):
        self.inner, self.name, self.seen = inner, inner.name, 0

    def __call__(self, images):
        self.seen += len(images)
        return self.inner(images)


def test_real_statistics_are_cached_per_dataset_split_extractor_and_n(tmp_path):
    from zoo.extractors import real_features

    extractor = _Counting(load_domain_extractor())
    first = real_features("fashion_mnist", "test", extractor, 300, tmp_path)
    assert extractor.seen == 300 and (tmp_path / "fashion_mnist-test-domain-300.npz").is_file()
    again = real_features("fashion_mnist", "test", extractor, 300, tmp_path)
    assert extractor.seen == 300  # read back, not recomputed
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    real_features("fashion_mnist", "train", extractor, 200, tmp_path)
    assert extractor.seen == 500  # another split or n is another entry
    assert not list(tmp_path.glob("*.tmp*"))


def test_local_inception_weights_are_found_where_documented(tmp_path, monkeypatch):
    from zoo.extractors import KERAS_INCEPTION_FILE, local_inception_weights

    monkeypatch.delenv("ZOO_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    assert local_inception_weights() is None  # then recipes/evaluate.py uses the domain extractor
    cached = tmp_path / "keras" / "models" / KERAS_INCEPTION_FILE
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"weights")
    assert local_inception_weights() == str(cached)
    own = tmp_path / "mine.weights.h5"
    own.write_bytes(b"weights")
    monkeypatch.setenv("ZOO_INCEPTION_WEIGHTS", str(own))
    assert local_inception_weights() == str(own)
    monkeypatch.setenv("ZOO_INCEPTION_WEIGHTS", str(tmp_path / "missing.h5"))
    with pytest.raises(ZooError, match="not a file"):
        local_inception_weights()
