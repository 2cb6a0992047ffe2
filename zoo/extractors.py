"""Feature extractors for the sample-quality metrics (issue #4).

``domain`` is a small convnet trained on the Fashion-MNIST train split
(``python recipes/train_feature_classifier.py``); its penultimate layer gives the
features and its last layer the logits of an in-domain Inception score (seed 001 §6
argues in-domain classifiers rank models more reliably). Its trained weights ship with
the package (``zoo/weights/``) with their measured test accuracy, so numbers computed
with it are reproducible offline.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np

from zoo.errors import ZooError

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DOMAIN_WEIGHTS = WEIGHTS_DIR / "fashion_mnist_classifier.weights.h5"
DOMAIN_CARD = WEIGHTS_DIR / "fashion_mnist_classifier.json"
FEATURES_LAYER = "features"


def build_domain_classifier(resolution: int = 28, channels: int = 1, classes: int = 10) -> keras.Model:
    """Conv(32) - pool - Conv(64) - pool - Conv(64, valid) - Dense(128, ``features``) -
    Dense(classes), ReLU, no normalisation layers (about 0.2M parameters). Inputs in [0, 1]."""
    layers = keras.layers
    x = keras.Input((resolution, resolution, channels), name="images")
    h = layers.MaxPool2D()(layers.Conv2D(32, 3, padding="same", activation="relu")(x))
    h = layers.MaxPool2D()(layers.Conv2D(64, 3, padding="same", activation="relu")(h))
    h = layers.Flatten()(layers.Conv2D(64, 3, activation="relu")(h))
    features = layers.Dense(128, activation="relu", name=FEATURES_LAYER)(h)
    logits = layers.Dense(classes, name="logits")(features)
    return keras.Model(x, logits, name="domain_classifier")


class DomainExtractor:
    """(features [N, 128], logits [N, 10]) of images in [0, 1] from the in-domain classifier."""

    def __init__(self, classifier: keras.Model):
        self.classifier = classifier
        self.model = keras.Model(
            classifier.input, [classifier.get_layer(FEATURES_LAYER).output, classifier.output]
        )

    def __call__(self, images: np.ndarray, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
        images = np.asarray(images, np.float32)
        if images.ndim != 4 or images.shape[1:] != tuple(self.model.input.shape[1:]):
            raise ZooError(
                f"the extractor takes images {tuple(self.model.input.shape[1:])}, got {images.shape[1:]}"
            )
        if not np.all(np.isfinite(images)):
            raise ZooError("images contain NaN or Inf")
        features, logits = [], []
        for i in range(0, len(images), batch_size):
            f, lg = self.model(images[i : i + batch_size], training=False)
            features.append(np.asarray(f))
            logits.append(np.asarray(lg))
        return np.concatenate(features), np.concatenate(logits)


def load_domain_extractor(path: str | Path = DOMAIN_WEIGHTS) -> DomainExtractor:
    """The in-domain Fashion-MNIST extractor with weights from ``path`` (the shipped ones
    by default)."""
    path = Path(path)
    if not path.is_file():
        raise ZooError(f"no classifier weights at {path}; run python recipes/train_feature_classifier.py")
    classifier = build_domain_classifier()
    classifier.load_weights(path)
    return DomainExtractor(classifier)


def domain_card() -> dict:
    """What was measured when the shipped weights were trained (test accuracy, epochs...)."""
    return json.loads(DOMAIN_CARD.read_text())
