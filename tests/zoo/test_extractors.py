"""The shipped in-domain extractor: its weights are the trained ones (accuracy on held-out
images), it returns 128-d features and 10 logits, and it rejects bad images."""

import numpy as np
import pytest

from zoo import data
from zoo.errors import ZooError
from zoo.extractors import domain_card, load_domain_extractor


def test_shipped_extractor_classifies_held_out_images():
    extractor = load_domain_extractor()
    images = data.test_images("fashion_mnist", 1000)
    features, logits = extractor(images)
    assert features.shape == (1000, 128) and logits.shape == (1000, 10)
    accuracy = float(np.mean(logits.argmax(1) == data.fashion_mnist_labels("test")[:1000]))
    assert accuracy >= 0.88, accuracy  # the card's full-test-split figure is >= 0.90
    assert domain_card()["test_accuracy"] >= 0.90


def test_extractor_rejects_bad_images(tmp_path):
    extractor = load_domain_extractor()
    with pytest.raises(ZooError, match="takes images"):
        extractor(np.zeros((2, 32, 32, 3), np.float32))
    with pytest.raises(ZooError, match="NaN"):
        extractor(np.full((2, 28, 28, 1), np.nan, np.float32))
    with pytest.raises(ZooError, match="no classifier weights"):
        load_domain_extractor(tmp_path / "missing.weights.h5")
