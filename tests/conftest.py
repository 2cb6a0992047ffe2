"""Shared test setup: no downloads, quiet TensorFlow, tiny model configurations."""

import contextlib
import gzip
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ["ZOO_OFFLINE"] = "1"
# Cached real-data statistics go to a per-session temporary directory, not ~/.cache.
os.environ.setdefault("ZOO_CACHE_DIR", tempfile.mkdtemp(prefix="zoo-cache-"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

import zoo  # noqa: E402, F401
from zoo.cli import configure_tensorflow  # noqa: E402

# What every command-line program sets (zoo.cli.run_main), set once for the whole worker,
# so a test does not depend on whether an in-process recipe ran before it.
configure_tensorflow()

if os.environ.get("PYTEST_XDIST_WORKER"):
    # One worker per core (pytest -n auto): each worker's TensorFlow gets one thread of
    # each pool, so two workers do not fight over the two cores.
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def pytest_collection_modifyitems(config, items):
    """The ``slow`` tests first, the rest in file order (a stable sort). Under xdist's
    worksteal an idle worker takes the queued tests of a busy one, so a long test that
    started last would leave one core idle until it ends; started first, it overlaps
    with the short tests the other worker runs and steals."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


TINY = dict(resolution=28, channels=1, latent_dim=8, width=1 / 16, seed=1)


@pytest.fixture(scope="session")
def _first_training_batch() -> np.ndarray:
    from zoo import data

    batch = next(iter(data.train_dataset("fashion_mnist", 16, seed=0))).numpy()
    batch.flags.writeable = False
    return batch


def write_idx(path, images, gz=True, truncate=0, labels=None) -> None:
    """Write 28x28 ``images`` as an IDX3 file (gzipped, or cut ``truncate`` bytes short),
    and ``labels``, if given, as the IDX1 file ``labels`` names: (path, array)."""
    header = np.array([0x803, len(images), 28, 28], ">u4").tobytes()
    raw = header + np.asarray(images).astype(np.uint8).tobytes()
    raw = raw[: len(raw) - truncate] if truncate else raw
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(raw)
    if labels is not None:
        label_path, values = labels
        header = np.array([0x801, len(values)], ">u4").tobytes()
        Path(label_path).write_bytes(header + np.asarray(values).astype(np.uint8).tobytes())


SMALL_TRAIN, SMALL_TEST = 2048, 1024


@pytest.fixture(scope="session")
def _small_fashion_mnist_dir(tmp_path_factory) -> Path:
    from zoo import data

    directory = tmp_path_factory.mktemp("fashion_mnist_small")
    for split, count in (("train", SMALL_TRAIN), ("test", SMALL_TEST)):
        images = data.load_images("fashion_mnist", split)[0].take(count).batch(count).get_single_element()
        labels = (directory / data.IDX_LABEL_FILES[split], data.fashion_mnist_labels(split)[:count])
        write_idx(directory / data.IDX_FILES[split], images.numpy(), gz=False, labels=labels)
    return directory


@pytest.fixture
def small_fashion_mnist(_small_fashion_mnist_dir, monkeypatch) -> Path:
    """``$ZOO_FASHION_MNIST_DIR`` set, for one test, to the first 2 048 training and 1 024
    test images of Fashion-MNIST (IDX files with labels): for recipe runs whose cost grows
    with the training split (EP-MDGAN scores every example before it trains: ~8 s of a
    tiny run on all 60 000)."""
    monkeypatch.setenv("ZOO_FASHION_MNIST_DIR", str(_small_fashion_mnist_dir))
    return _small_fashion_mnist_dir


@pytest.fixture
def tiny_images(_first_training_batch):
    """A fixed batch of 16 real Fashion-MNIST training images in [0, 1] (the first batch
    of the seed-0 stream, read once per worker; each test gets its own copy)."""
    return _first_training_batch.copy()


def all_weights(model):
    """Every network weight and optimiser variable of a zoo model, as numpy arrays."""
    out = [w.numpy() for net in model.networks().values() for w in net.weights]
    return out + [v.numpy() for o in model.optimizers.values() for v in o.variables]


def network_weights(model):
    """Every network weight of a zoo model (no optimiser state), as numpy arrays."""
    return [w.numpy() for net in model.networks().values() for w in net.weights]


def max_difference(a, b, of=all_weights) -> float:
    """The largest absolute difference between the ``of`` arrays of two models."""
    return max(float(np.abs(x - y).max()) for x, y in zip(of(a), of(b)))


def reinitialize(model, seed: int) -> None:
    """Put a compiled zoo model back in the state ``keras.utils.set_random_seed(seed)``
    and a fresh build and compile would give it, keeping its traced train function: one
    trace (seconds) serves several initialisations. Reset: network weights (spectral-norm
    vectors included), every optimiser variable but the learning rate (kept), step,
    divergence record, seed state, ``training_state()``. Not reset: layers' own seed
    generators (dropout) and a loss scale, so it is for float32 models without dropout
    (the learning tests' IGE-GAN)."""
    keras.utils.set_random_seed(seed)
    fresh = type(model).from_config(model.get_config())
    for name, net in model.networks().items():
        net.set_weights(fresh.networks()[name].get_weights())
    for optimizer in model.optimizers.values():
        for v in optimizer.variables:
            if not v.path.endswith("/learning_rate"):
                v.assign(tf.zeros_like(v))
    pairs = [
        (getattr(model, k), getattr(fresh, k))
        for k in ("step", "diverged_step", "diverged_value", "diverged_index")
    ]
    pairs += [(model.training_state()[k], v) for k, v in fresh.training_state().items()]
    for mine, new in pairs:
        mine.assign(new)
    model.seed_generator.state.assign(fresh.seed_generator.state)


def repeat_batch(x: np.ndarray) -> tf.data.Dataset:
    """An infinite dataset that yields the same batch every step."""
    return tf.data.Dataset.from_tensors(tf.constant(x)).repeat()


def saved_model_signature(path) -> str:
    """``saved_model_cli show`` of a SavedModel's serving_default signature."""
    cmd = [
        "saved_model_cli",
        "show",
        "--dir",
        str(path),
        "--tag_set",
        "serve",
        "--signature_def",
        "serving_default",
    ]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


ROOT = Path(__file__).resolve().parents[1]
# Takes the lock of argv[1], says so, and holds it until its stdin closes. zoo.files and
# zoo.errors need only the standard library, so the holder imports them under an empty
# ``zoo`` package: no TensorFlow start-up (seconds) per lock.
_HOLD = r"""
import sys, types
package = types.ModuleType("zoo")
package.__path__ = [sys.argv[2]]
sys.modules["zoo"] = package
from zoo.errors import ZooError
from zoo.files import directory_lock
try:
    with directory_lock(sys.argv[1]):
        print("locked", flush=True)
        sys.stdin.read()
except ZooError:
    print("refused", flush=True)
"""


class LockRefused(Exception):
    """The lock-holding process was refused the lock (another holder has it)."""


@contextlib.contextmanager
def lock_held_elsewhere(directory):
    """Another process holds ``directory``'s zoo lock for the ``with`` body."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(directory), str(ROOT / "zoo")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        answer = proc.stdout.readline().strip()
        if answer == "refused":
            raise LockRefused(str(directory))
        assert answer == "locked", proc.stderr.read()[-2000:]  # the holder crashed
        yield proc
    finally:
        proc.stdin.close()
        proc.wait(timeout=120)


def compile_eagerly(monkeypatch) -> None:
    """Every zoo model compiled while ``monkeypatch`` is active runs eagerly: for tests of
    files, flags and orchestration around a few training steps, which run faster than
    tracing them (the traced paths keep their own tests: test_resume, test_fused, the
    learning tests)."""
    from zoo.trainer import AdversarialModel

    compile_ = AdversarialModel.compile

    def eager(self, *args, **kwargs):
        compile_(self, *args, **{**kwargs, "run_eagerly": True})

    monkeypatch.setattr(AdversarialModel, "compile", eager)


@pytest.fixture
def eager_models(monkeypatch):
    """``compile_eagerly`` for one test."""
    compile_eagerly(monkeypatch)


def tree_checksums(root) -> dict:
    """Every path under ``root`` (lock files aside), files with their SHA-256: "nothing
    changed" made checkable."""
    from zoo.files import LOCK_NAME

    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(Path(root).rglob("*"))
        if p.name != LOCK_NAME
    }


def one_update_each(model, x, z, settle: int = 30) -> dict:
    """For each active player alone: its objective on the fixed batch (x, z) and fixed
    noise before and after one optimiser step of that player, and the largest change of
    its weights: {player: (before, after, moved)}. Spectral norm's training calls
    renormalise D; ``settle`` calls first bring its kernels to their fixed point, so the
    comparison shows the update, not the renormalisation."""
    seed = model.seed_generator.state.numpy().copy()

    def value(p):
        model.seed_generator.state.assign(seed)
        return float(p.objective(x, z)["loss"])

    out = {}
    for p in model.active_players():
        for _ in range(settle):
            value(p)
        before = value(p)
        start = [w.numpy().copy() for w in p.network.trainable_weights]
        model.seed_generator.state.assign(seed)
        model._update(p, x, z)
        moved = max(float(np.abs(a - w.numpy()).max()) for a, w in zip(start, p.network.trainable_weights))
        out[p.name] = (before, value(p), moved)
    return out
