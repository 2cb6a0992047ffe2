"""Data: [0, 1] float32 NHWC batches, determinism, exact skip, and loud errors."""

import numpy as np
import pytest
from conftest import write_idx

from zoo import data
from zoo.errors import DataError


def take(ds, n):
    return [b.numpy() for b, _ in zip(ds, range(n))]


def test_fashion_mnist_batches_are_float_unit_range():
    batch = take(data.train_dataset("fashion_mnist", 32, seed=0), 1)[0]
    assert batch.shape == (32, 28, 28, 1) and batch.dtype == np.float32
    assert batch.min() >= 0.0 and batch.max() <= 1.0 and batch.max() > 0.5


def test_same_seed_same_stream_other_seed_other_stream():
    a = take(data.train_dataset("fashion_mnist", 8, seed=3), 3)
    b = take(data.train_dataset("fashion_mnist", 8, seed=3), 3)
    c = take(data.train_dataset("fashion_mnist", 8, seed=4), 3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_skip_continues_the_same_stream():
    full = take(data.train_dataset("fashion_mnist", 8, seed=5), 5)
    resumed = take(data.train_dataset("fashion_mnist", 8, seed=5, skip_batches=3), 2)
    assert np.array_equal(full[3], resumed[0]) and np.array_equal(full[4], resumed[1])


def test_held_out_split_is_the_test_set():
    x = data.test_images("fashion_mnist", 100)
    assert x.shape == (100, 28, 28, 1) and x.dtype == np.float32
    train = take(data.train_dataset("fashion_mnist", 100, seed=0), 1)[0]
    assert not any(np.array_equal(x[0], t) for t in train)


def test_env_override_directory(tmp_path, monkeypatch):
    images = np.arange(3 * 28 * 28, dtype=np.uint32).reshape(3, 28, 28) % 256
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images, gz=False)
    monkeypatch.setenv("ZOO_FASHION_MNIST_DIR", str(tmp_path))
    x = data.test_images("fashion_mnist")
    assert x.shape == (3, 28, 28, 1)
    assert np.allclose(x[..., 0] * 255.0, images)


def test_truncated_file_names_the_file(tmp_path, monkeypatch):
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((4, 28, 28)), truncate=100)
    monkeypatch.setenv("ZOO_FASHION_MNIST_DIR", str(tmp_path))
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz is truncated"):
        data.test_images("fashion_mnist")


def test_corrupt_gzip_and_bad_magic(tmp_path, monkeypatch):
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"not a gzip file at all")
    monkeypatch.setenv("ZOO_FASHION_MNIST_DIR", str(tmp_path))
    with pytest.raises(DataError, match="cannot read"):
        data.test_images("fashion_mnist")
    (tmp_path / "t10k-images-idx3-ubyte.gz").unlink()
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x01" + b"\x00" * 20)
    with pytest.raises(DataError, match="not an IDX3 image file"):
        data.test_images("fashion_mnist")


def test_missing_everywhere_lists_every_place(tmp_path, monkeypatch):
    monkeypatch.delenv("ZOO_FASHION_MNIST_DIR", raising=False)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", str(tmp_path / "no-debian"))
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    with pytest.raises(DataError) as err:
        data.test_images("fashion_mnist")
    message = str(err.value)
    assert "\n" not in message
    for place in (
        "$ZOO_FASHION_MNIST_DIR (unset)",
        "no-debian",
        "tensorflow-datasets",
        "apt-get install dataset-fashion-mnist",
    ):
        assert place in message


def test_a_set_directory_is_the_only_place_searched(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    monkeypatch.setenv("ZOO_FASHION_MNIST_DIR", str(tmp_path / "missing"))
    with pytest.raises(DataError, match=r"^\$ZOO_FASHION_MNIST_DIR=.*missing is not a directory"):
        data.test_images("fashion_mnist")
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("ZOO_FASHION_MNIST_DIR", str(tmp_path / "empty"))
    with pytest.raises(DataError, match=r"empty holds no t10k-images-idx3-ubyte\[.gz\]$"):
        data.test_images("fashion_mnist")  # the system copy exists, and is not used
    with pytest.raises(DataError, match="labels not found"):
        data.fashion_mnist_labels("test")


def test_unknown_dataset():
    with pytest.raises(
        DataError, match="unknown dataset 'svhn'; known: fashion_mnist, mnist, cifar10, celeb_a"
    ):
        data.train_dataset("svhn", 8, seed=0)


def test_tfds_dataset_offline_is_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError) as err:
        data.test_images("cifar10", 10)
    assert "cifar10" in str(err.value) and "ZOO_OFFLINE" in str(err.value) and "\n" not in str(err.value)


def test_a_file_is_decoded_once_and_reread_when_it_changes(tmp_path, monkeypatch):
    reads = []
    real = data.read_idx_images
    monkeypatch.setattr(data, "read_idx_images", lambda path: reads.append(path) or real(path))
    monkeypatch.setenv("ZOO_FASHION_MNIST_DIR", str(tmp_path))
    path = tmp_path / "t10k-images-idx3-ubyte"
    write_idx(path, np.full((3, 28, 28), 7), gz=False)
    first, again = data.test_images("fashion_mnist"), data.test_images("fashion_mnist")
    assert len(reads) == 1 and np.array_equal(first, again) and np.allclose(first * 255, 7)
    write_idx(path, np.full((5, 28, 28), 9), gz=False)  # same path, new content
    changed = data.test_images("fashion_mnist")
    assert len(reads) == 2 and changed.shape[0] == 5 and np.allclose(changed * 255, 9)
    write_idx(path, np.zeros((5, 28, 28)), gz=False, truncate=100)  # a damaged rewrite
    with pytest.raises(DataError, match="truncated or corrupt"):
        data.test_images("fashion_mnist")


def test_train_array_follows_a_changed_fashion_mnist_dir(small_fashion_mnist, monkeypatch):
    from conftest import SMALL_TRAIN

    assert len(data.train_array("fashion_mnist")) == SMALL_TRAIN
    monkeypatch.delenv("ZOO_FASHION_MNIST_DIR")
    assert len(data.train_array("fashion_mnist")) == 60_000  # not the cached small split
