"""Datasets as float32 NHWC images in [0, 1] through ``tf.data``.

``fashion_mnist`` works offline from the IDX files of the Debian package
``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``); set
``ZOO_FASHION_MNIST_DIR`` to read them from another directory. ``mnist``, ``cifar10`` and
``celeb_a`` (and ``fashion_mnist`` when its IDX files are absent) come from
tensorflow-datasets, which downloads them when online. ``ZOO_OFFLINE=1`` forbids any
download (the tests set it).

Training data come two ways: ``train_batches`` draws shuffled batches inside the
training graph from the split held in memory (datasets up to 1 GiB as uint8), and
``train_dataset`` streams them through ``tf.data`` (any size).
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import os
import struct
from pathlib import Path

import numpy as np
import tensorflow as tf

from zoo.errors import DataError

DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_ENV = "ZOO_FASHION_MNIST_DIR"
IDX_FILES = {"train": "train-images-idx3-ubyte", "test": "t10k-images-idx3-ubyte"}
IDX_LABEL_FILES = {"train": "train-labels-idx1-ubyte", "test": "t10k-labels-idx1-ubyte"}
CELEBA_CROP = 140  # centre crop (pixels) before area downsampling to 64x64


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """Static facts about a dataset as the zoo serves it."""

    name: str
    resolution: int
    channels: int
    tfds_name: str
    test_split: str
    train_size: int  # images in the train split (what an "epoch" of a paper means here)


DATASETS = {
    "fashion_mnist": DatasetInfo("fashion_mnist", 28, 1, "fashion_mnist", "test", 60_000),
    "mnist": DatasetInfo("mnist", 28, 1, "mnist", "test", 60_000),
    "cifar10": DatasetInfo("cifar10", 32, 3, "cifar10", "test", 50_000),
    "celeb_a": DatasetInfo("celeb_a", 64, 3, "celeb_a", "test", 162_770),
}
SPLITS = ("train", "test")


def dataset_info(name: str) -> DatasetInfo:
    """The ``DatasetInfo`` of a dataset name; ``DataError`` for an unknown one."""
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}") from None


def read_idx_images(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX3 image file (optionally gzipped) into uint8 [N, H, W, 1].

    Raises ``DataError`` naming the file when it is truncated or not an IDX3 file.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:  # gzip raises these for corrupt/truncated data
        raise DataError(f"cannot read {path}: {err}") from None
    if len(raw) < 16:
        raise DataError(f"{path} is truncated: {len(raw)} bytes, no IDX header")
    magic, n, rows, cols = struct.unpack(">IIII", raw[:16])
    if magic != 0x00000803:
        raise DataError(f"{path} is not an IDX3 image file (magic {magic:#010x}, expected 0x00000803)")
    expected = 16 + n * rows * cols
    if len(raw) != expected:
        raise DataError(f"{path} is truncated or corrupt: {len(raw)} bytes, expected {expected}")
    return np.frombuffer(raw, np.uint8, offset=16).reshape(n, rows, cols, 1)


def _read_idx_cached(path: Path) -> np.ndarray:
    """``read_idx_images`` once per file version (path, size, mtime) in this process: a
    run reads its split several times (checks, training stream, held-out images), and
    decompressing the 26 MB training file costs about 0.4 s each time."""
    stat = path.stat()
    return _read_idx_version(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _read_idx_version(path: str, size: int, mtime_ns: int) -> np.ndarray:
    return read_idx_images(path)  # read-only: np.frombuffer of bytes


def fashion_mnist_labels(split: str) -> np.ndarray:
    """Class labels (uint8 [N]) of a Fashion-MNIST split from the IDX1 label files next to
    the images (``ZOO_FASHION_MNIST_DIR`` or the Debian package)."""
    searched = []
    for _, directory in _fashion_mnist_dirs():
        if directory is None:
            continue
        path = _find_idx(directory, split, IDX_LABEL_FILES)
        if path is None:
            searched.append(str(directory))
            continue
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            raw = f.read()
        if len(raw) < 8 or struct.unpack(">I", raw[:4])[0] != 0x00000801:
            raise DataError(f"{path} is not an IDX1 label file")
        return np.frombuffer(raw, np.uint8, offset=8)
    raise DataError(f"Fashion-MNIST {split} labels not found; searched {'; '.join(searched)}")


def _find_idx(directory: Path, split: str, files: dict = IDX_FILES) -> Path | None:
    for name in (files[split] + ".gz", files[split]):
        if (directory / name).is_file():
            return directory / name
    return None


def _fashion_mnist_dirs() -> list[tuple[str, Path | None]]:
    """Where to look for the IDX files: ``$ZOO_FASHION_MNIST_DIR`` alone when it is set
    (the user's choice is used or fails, never silently replaced), else the Debian package."""
    env = os.environ.get(FASHION_MNIST_ENV)
    if env:
        if not Path(env).is_dir():
            raise DataError(
                f"${FASHION_MNIST_ENV}={env} is not a directory (unset it to use the system copy)"
            )
        return [(f"${FASHION_MNIST_ENV}", Path(env))]
    return [(f"${FASHION_MNIST_ENV}", None), (DEBIAN_FASHION_MNIST, Path(DEBIAN_FASHION_MNIST))]


def _offline() -> bool:
    return os.environ.get("ZOO_OFFLINE", "") not in ("", "0")


def _load_tfds(info: DatasetInfo, split: str) -> tf.data.Dataset:
    import tensorflow_datasets as tfds

    return tfds.load(info.tfds_name, split=split, download=not _offline(), as_supervised=False)


def _tfds_images(info: DatasetInfo, ds: tf.data.Dataset) -> tf.data.Dataset:
    def image(example):
        img = example["image"]
        if info.name == "celeb_a":  # seed 000 Table 1: centre-cropped, area downsampled
            h, w = tf.shape(img)[0], tf.shape(img)[1]
            top, left = (h - CELEBA_CROP) // 2, (w - CELEBA_CROP) // 2
            img = tf.image.crop_to_bounding_box(img, top, left, CELEBA_CROP, CELEBA_CROP)
            img = tf.image.resize(img, (64, 64), method="area")
            img = tf.cast(tf.clip_by_value(tf.round(img), 0, 255), tf.uint8)
        return img

    return ds.map(image, num_parallel_calls=tf.data.AUTOTUNE)


def load_images(name: str, split: str) -> tuple[tf.data.Dataset, int | None]:
    """Unbatched uint8 [H, W, C] images of one split, and their count when known.

    Fashion-MNIST is read from IDX files when found (in memory); everything else goes
    through tensorflow-datasets. Raises ``DataError`` naming every place searched.
    """
    info = dataset_info(name)
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r} for {name}; expected one of {', '.join(SPLITS)}")
    searched = []
    if name == "fashion_mnist":
        for label, directory in _fashion_mnist_dirs():
            if directory is None:
                searched.append(f"{label} (unset)")
                continue
            path = _find_idx(directory, split)
            if path is None and label.startswith("$"):
                raise DataError(f"{label}={directory} holds no {IDX_FILES[split]}[.gz]")
            if path is None:
                searched.append(f"{directory} (no {IDX_FILES[split]}[.gz])")
                continue
            images = _read_idx_cached(path)
            if images.shape[1:] != (28, 28, 1):
                raise DataError(f"{path}: images are {images.shape[1:3]}, expected 28x28")
            return tf.data.Dataset.from_tensor_slices(images), len(images)
    try:
        ds = _load_tfds(info, split)
    except Exception as err:  # tfds raises many types; the user needs one line
        why = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        mode = "download disabled by ZOO_OFFLINE" if _offline() else "download failed"
        searched.append(f"tensorflow-datasets '{info.tfds_name}' ({mode}: {why[:160]})")
        hint = " Install it with: apt-get install dataset-fashion-mnist." if name == "fashion_mnist" else ""
        raise DataError(
            f"dataset {name} ({split}) not found; searched: {'; '.join(searched)}.{hint}"
        ) from None
    return _tfds_images(info, ds), None


def to_unit_float(x: tf.Tensor) -> tf.Tensor:
    """uint8 pixels as float32 in [0, 1]; anything else (2-D points, floats) as float32."""
    return tf.cast(x, tf.float32) / 255.0 if x.dtype == tf.uint8 else tf.cast(x, tf.float32)


def train_dataset(
    name: str,
    batch_size: int,
    seed: int,
    skip_batches: int = 0,
    shuffle_buffer: int = 60_000,
) -> tf.data.Dataset:
    """Infinite, shuffled float32 batches [B, H, W, C] in [0, 1] of the train split.

    Deterministic for a given ``seed``: the i-th batch is the same in every run, and
    ``skip_batches=k`` starts at batch k of that same stream (how ``--resume`` continues
    the data order exactly).
    """
    if batch_size < 1:
        raise DataError(f"batch size must be >= 1, got {batch_size}")
    images, count = load_images(name, "train")
    if count is not None and count < batch_size:
        raise DataError(f"{name} has {count} training images, fewer than the batch size {batch_size}")
    buffer = min(shuffle_buffer, count) if count else shuffle_buffer
    ds = images.shuffle(buffer, seed=seed, reshuffle_each_iteration=True).repeat()
    ds = ds.batch(batch_size, drop_remainder=True).map(to_unit_float, num_parallel_calls=tf.data.AUTOTUNE)
    if skip_batches:
        ds = ds.skip(skip_batches)
    options = tf.data.Options()
    options.deterministic = True
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)


class InMemoryBatches:
    """Shuffled batches of an in-memory array drawn inside the training graph.

    ``batches(step)`` is batch ``step`` of a stream of epochs: epoch e = step // (N // B)
    visits ``array`` in the order of a permutation drawn from the stateless seed (seed, e),
    and batch j of it is the permutation's j-th run of B indices (the N mod B left over
    are skipped in that epoch). The batch is a pure function of (seed, step), so a resumed
    run continues the data order exactly. uint8 arrays become float32 in [0, 1] in-graph;
    float arrays (2-D points) are served as they are. The epoch's permutation is cached
    in a variable and redrawn when the epoch changes.
    """

    def __init__(self, array: np.ndarray, batch_size: int, seed: int):
        array = np.asarray(array)
        if batch_size < 1:
            raise DataError(f"batch size must be >= 1, got {batch_size}")
        if len(array) < batch_size:
            raise DataError(f"{len(array)} training examples, fewer than the batch size {batch_size}")
        self.n, self.batch_size, self.seed = len(array), int(batch_size), int(seed)
        self.batches_per_epoch = self.n // self.batch_size
        self.array = tf.Variable(array, trainable=False, name="train_array")
        self._perm = tf.Variable(tf.zeros([self.n], tf.int32), trainable=False, name="epoch_permutation")
        self._epoch = tf.Variable(tf.constant(-1, tf.int64), trainable=False, name="permutation_epoch")

    def permutation(self, epoch) -> tf.Tensor:
        """The order of epoch ``epoch``: a permutation of 0..N-1 from the seed (seed, epoch)."""
        key = tf.random.stateless_uniform([self.n], tf.stack([tf.constant(self.seed, tf.int64), epoch]))
        return tf.cast(tf.argsort(key, stable=True), tf.int32)

    def __call__(self, step) -> tf.Tensor:
        step = tf.cast(step, tf.int64)
        epoch, j = step // self.batches_per_epoch, step % self.batches_per_epoch

        def redraw():
            self._perm.assign(self.permutation(epoch))
            self._epoch.assign(epoch)
            return tf.constant(True)

        tf.cond(tf.not_equal(epoch, self._epoch), redraw, lambda: tf.constant(False))
        start = tf.cast(j * self.batch_size, tf.int32)
        idx = tf.slice(self._perm.read_value(), [start], [self.batch_size])
        return to_unit_float(tf.gather(self.array, idx))


# In-graph data for datasets up to this size in memory (Fashion-MNIST: 47 MB).
IN_MEMORY_LIMIT_BYTES = 1 << 30


def train_batches(name: str, batch_size: int, seed: int) -> InMemoryBatches:
    """The train split of ``name`` as in-graph batches (``InMemoryBatches``); raises
    ``DataError`` for a dataset larger than ``IN_MEMORY_LIMIT_BYTES`` (use
    ``train_dataset``, the ``tf.data`` stream, for those)."""
    if not fits_in_memory(name):
        raise DataError(f"{name} is too large for in-graph batches (> {IN_MEMORY_LIMIT_BYTES >> 20} MiB)")
    return InMemoryBatches(train_array(name), batch_size, seed)


def fits_in_memory(name: str) -> bool:
    """Whether the train split of ``name`` is at most ``IN_MEMORY_LIMIT_BYTES`` as uint8."""
    info = dataset_info(name)
    return info.train_size * info.resolution**2 * info.channels <= IN_MEMORY_LIMIT_BYTES


def train_array(name: str) -> np.ndarray:
    """The whole train split as a read-only uint8 [N, H, W, C] array in memory (seed
    004's non-uniform samplers index examples by position). Cached: one copy per process
    and source (a changed ``$ZOO_FASHION_MNIST_DIR`` is read anew)."""
    source = os.environ.get(FASHION_MNIST_ENV) if name == "fashion_mnist" else None
    return _train_array(name, source)


@functools.lru_cache(maxsize=1)
def _train_array(name: str, source: str | None) -> np.ndarray:
    images, _ = load_images(name, "train")
    array = np.concatenate([b.numpy() for b in images.batch(4096)], axis=0)
    array.flags.writeable = False
    return array


def test_images(name: str, count: int | None = None) -> np.ndarray:
    """The first ``count`` held-out test images as float32 [N, H, W, C] in [0, 1]."""
    images, available = load_images(name, "test")
    if count is not None:
        if available is not None and count > available:
            raise DataError(f"{name} test split has {available} images, {count} requested")
        images = images.take(count)
    array = np.concatenate([b.numpy() for b in images.batch(1024)], axis=0)
    return array.astype(np.float32) / 255.0


def labels(name: str, split: str) -> np.ndarray | None:
    """Class labels of a split in the order ``load_images`` yields its images, or None
    for a dataset without class labels (CelebA): Fashion-MNIST from its IDX files,
    the others from tensorflow-datasets."""
    info = dataset_info(name)
    if name == "fashion_mnist":
        return fashion_mnist_labels(split)
    if name == "celeb_a":
        return None
    try:
        ds = _load_tfds(info, split).map(lambda example: example["label"])
    except Exception as err:
        raise DataError(
            f"labels of {name} ({split}) not available: {str(err).splitlines()[0][:160]}"
        ) from None
    return np.concatenate([b.numpy() for b in ds.batch(4096)])
