"""Feature extractors for the sample-quality metrics (issue #4).

An extractor is a callable ``images [N, H, W, C] in [0, 1] -> (features [N, D], logits
[N, K])`` with a ``name`` that says which network and which weights made the numbers.

``inception`` is InceptionV3's pool-3 layer (2048-d) and its 1008/1000 ImageNet logits
(seed 000 eq. 3), from ImageNet weights or a local weights file; images are resized to
299 x 299 bilinearly, greyscale is repeated to three channels, and pixels are mapped to
[-1, 1] as InceptionV3 expects. ``domain`` is a small convnet trained on the Fashion-MNIST train split
(``python recipes/train_feature_classifier.py``); its penultimate layer gives the
features and its last layer the logits of an in-domain Inception score (seed 001 §6
argues in-domain classifiers rank models more reliably). Its trained weights ship with
the package (``zoo/weights/``) with their measured test accuracy, so numbers computed
with it are reproducible offline.
"""

from __future__ import annotations

import hashlib
import json
import os
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


def _weights_tag(path: Path) -> str:
    """First 10 hex digits of the weights file's SHA-256: different weights, different name."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:10]


class Extractor:
    """(features, logits) of images in [0, 1] from a Keras model with two outputs.

    ``name`` identifies network and weights (it keys the cached real statistics);
    ``batch_size`` bounds memory. ``label_dataset`` names the dataset whose class labels
    the logits predict (None: other classes, e.g. ImageNet's), which the class metrics
    of ``zoo.suite`` need. Images of the wrong shape, or with NaN/Inf, raise a
    one-line ``ZooError``.
    """

    label_dataset: str | None = None

    def __init__(self, model: keras.Model, name: str, image_shape: tuple[int, ...], batch_size: int = 1000):
        self.model, self.name, self.image_shape, self.batch_size = model, name, tuple(image_shape), batch_size

    def check(self, images) -> np.ndarray:
        images = np.asarray(images, np.float32)
        if images.ndim != 4 or not self.accepts(images.shape[1:]):
            raise ZooError(
                f"the {self.name} extractor takes images {self.image_shape}, got {images.shape[1:]}"
            )
        if not np.all(np.isfinite(images)):
            raise ZooError("images contain NaN or Inf")
        return images

    def accepts(self, shape) -> bool:
        return tuple(shape) == self.image_shape

    def __call__(self, images) -> tuple[np.ndarray, np.ndarray]:
        images = self.check(images)
        features, logits = [], []
        for i in range(0, len(images), self.batch_size):
            f, lg = self.model(images[i : i + self.batch_size], training=False)
            features.append(np.asarray(f))
            logits.append(np.asarray(lg))
        return np.concatenate(features), np.concatenate(logits)


class DomainExtractor(Extractor):
    """(features [N, 128], logits [N, 10]) of images in [0, 1] from the in-domain classifier."""

    label_dataset = "fashion_mnist"

    def __init__(self, classifier: keras.Model, name: str = "domain"):
        self.classifier = classifier
        model = keras.Model(
            classifier.input, [classifier.get_layer(FEATURES_LAYER).output, classifier.output]
        )
        super().__init__(model, name, tuple(classifier.input.shape[1:]))


class InceptionExtractor(Extractor):
    """InceptionV3 pool-3 features [N, 2048] and ImageNet logits [N, 1000] of images in
    [0, 1] of any size with 1 or 3 channels (resized to 299 x 299 bilinearly; greyscale
    repeated to RGB; pixels scaled to [-1, 1])."""

    def __init__(self, inception: keras.Model, name: str, batch_size: int = 50):
        images = keras.Input((None, None, None), name="images")
        x = keras.layers.Lambda(_inception_input, name="to_inception")(images)
        trunk = keras.Model(inception.input, [inception.get_layer("avg_pool").output, inception.output])
        model = keras.Model(images, trunk(x))
        super().__init__(model, name, (None, None, "1 or 3"), batch_size)

    def accepts(self, shape) -> bool:
        return len(shape) == 3 and shape[2] in (1, 3) and min(shape[:2]) >= 1


def _inception_input(images):
    import tensorflow as tf

    images = tf.cond(
        tf.equal(tf.shape(images)[-1], 1), lambda: tf.image.grayscale_to_rgb(images[..., :1]), lambda: images
    )
    images = tf.image.resize(images, (299, 299), method="bilinear")
    return images * 2.0 - 1.0


def load_inception_extractor(weights: str | Path = "imagenet", batch_size: int = 50) -> InceptionExtractor:
    """InceptionV3 with ``weights``: ``"imagenet"`` (Keras downloads them once into
    ~/.keras), a local ``.h5``/``.weights.h5`` file of the full classifier, or ``"random"``
    (untrained; only to test the plumbing). Its logits are pre-softmax."""
    from keras.applications import InceptionV3

    if str(weights) == "random":
        net, name = InceptionV3(weights=None, classifier_activation=None), "inception-random"
    elif str(weights) == "imagenet":
        try:
            net = InceptionV3(weights="imagenet", classifier_activation=None)
        except Exception as err:  # no network: say so in one line
            raise ZooError(
                f"could not get the ImageNet InceptionV3 weights ({type(err).__name__}); "
                "pass a local weights file with --inception-weights PATH or use --extractor domain"
            ) from None
        name = "inception-imagenet"
    else:
        path = Path(weights)
        if not path.is_file():
            raise ZooError(f"no InceptionV3 weights at {path}")
        net = InceptionV3(weights=None, classifier_activation=None)
        try:
            net.load_weights(path)
        except Exception as err:
            raise ZooError(
                f"{path} is not an InceptionV3 weights file ({str(err).splitlines()[0][:120]})"
            ) from None
        name = f"inception-{_weights_tag(path)}"
    return InceptionExtractor(net, name, batch_size)


def load_domain_extractor(path: str | Path = DOMAIN_WEIGHTS) -> DomainExtractor:
    """The in-domain Fashion-MNIST extractor with weights from ``path`` (the shipped ones
    by default)."""
    path = Path(path)
    if not path.is_file():
        raise ZooError(f"no classifier weights at {path}; run python recipes/train_feature_classifier.py")
    classifier = build_domain_classifier()
    classifier.load_weights(path)
    name = "domain" if path.resolve() == DOMAIN_WEIGHTS else f"domain-{_weights_tag(path)}"
    return DomainExtractor(classifier, name)


KERAS_INCEPTION_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"


def local_inception_weights() -> str | None:
    """A local InceptionV3 weights file, if one is at hand: ``$ZOO_INCEPTION_WEIGHTS``, or
    the ImageNet file Keras keeps after a first download (``~/.keras/models``)."""
    env = os.environ.get("ZOO_INCEPTION_WEIGHTS")
    if env:
        if not Path(env).is_file():
            raise ZooError(f"$ZOO_INCEPTION_WEIGHTS points to {env}, which is not a file")
        return env
    keras_home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    cached = keras_home / "models" / KERAS_INCEPTION_FILE
    return str(cached) if cached.is_file() else None


def load_extractor(kind: str, weights: str | Path | None = None) -> Extractor:
    """``load_extractor("domain")`` or ``load_extractor("inception", weights)``; ``weights``
    defaults to the shipped classifier / the ImageNet InceptionV3."""
    if kind == "domain":
        return load_domain_extractor(weights or DOMAIN_WEIGHTS)
    if kind == "inception":
        return load_inception_extractor(weights or "imagenet")
    raise ZooError(f"unknown extractor {kind!r}; expected domain or inception")


def choose_extractor(dataset: str, kind: str | None = None, weights: str | None = None) -> Extractor:
    """The extractor the recipes use by default: InceptionV3 when its weights are at hand
    (``weights``, ``$ZOO_INCEPTION_WEIGHTS`` or Keras' cache), else the domain one, which
    only Fashion-MNIST may use."""
    weights = weights or local_inception_weights()
    kind = kind or ("inception" if weights else "domain")
    if kind == "domain" and dataset != "fashion_mnist":
        raise ZooError(
            f"the domain extractor is trained on Fashion-MNIST, not {dataset}; use --extractor inception"
        )
    return load_extractor(kind, weights if kind == "inception" else None)


def cache_dir() -> Path:
    """Where real-data statistics are cached: $ZOO_CACHE_DIR, else ~/.cache/encoder-gan-zoo."""
    return Path(os.environ.get("ZOO_CACHE_DIR") or Path.home() / ".cache" / "encoder-gan-zoo")


def cached_features(key: str, compute, directory: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``compute()`` -> (features, logits), stored once as ``<directory>/<key>.npz`` and read
    back afterwards. Written to a temporary name and renamed, so a crash leaves no
    half-written file under the final name."""
    directory = Path(directory) if directory is not None else cache_dir()
    path = directory / f"{key}.npz"
    if path.is_file():
        with np.load(path) as stored:
            return stored["features"], stored["logits"]
    features, logits = compute()
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{key}.{os.getpid()}.tmp.npz"
    np.savez(tmp, features=features, logits=logits)
    os.replace(tmp, path)
    return features, logits


def real_features(
    dataset: str, split: str, extractor: Extractor, n: int, directory: str | Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Features and logits of the first ``n`` real images of a dataset split, cached on
    disk per (dataset, split, extractor name, n)."""
    from zoo import data

    def compute():
        if split == "train":
            images = data.train_array(dataset)
            if len(images) < n:
                raise ZooError(f"{dataset} train split has {len(images)} images, {n} requested")
            return extractor(images[:n].astype(np.float32) / 255.0)
        return extractor(data.test_images(dataset, n))

    return cached_features(f"{dataset}-{split}-{extractor.name}-{n}", compute, directory)


def domain_card() -> dict:
    """What was measured when the shipped weights were trained (test accuracy, epochs...)."""
    return json.loads(DOMAIN_CARD.read_text())
