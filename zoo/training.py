"""The run loop around ``model.fit``: checkpoints, resume, NaN guard, progress, TensorBoard.

Checkpoints use ``tf.train.Checkpoint`` + ``CheckpointManager`` (all networks, all
optimisers, step, seed-generator state). TensorFlow writes a checkpoint's data files
under temporary names and renames them when complete, and only then rewrites the
``checkpoints/checkpoint`` index atomically, so a crash mid-write leaves the index
pointing at the last complete checkpoint. A checkpoint is saved only after a segment
finished with finite losses.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import keras
import tensorflow as tf

from zoo.errors import TrainingDiverged, ZooError
from zoo.legacy import with_legacy_defaults
from zoo.trainer import AdversarialModel


@dataclasses.dataclass
class RunResult:
    """What a call to ``train`` did."""

    start_step: int
    steps: int
    train_seconds: float
    images_per_second: float
    checkpoints: list[str]


class DivergenceGuard(keras.callbacks.Callback):
    """Stops training after the first call (a fused block of steps) in which the model
    recorded a non-finite loss or one beyond its ``divergence_bound``
    (``AdversarialModel.diverged_step``), and remembers the step and the value."""

    def __init__(self):
        super().__init__()
        self.bad: tuple[str, int] | None = None

    def on_train_begin(self, logs=None):
        self.model.diverged_step.assign(-1)

    def on_train_batch_end(self, batch, logs=None):
        first = int(self.model.diverged_step.numpy())
        if first < 0:
            return
        value = float(self.model.diverged_value.numpy())
        names = self.model.logged_names
        index = int(self.model.diverged_index.numpy())
        name = names[index] if index < len(names) else "a loss"
        if math.isfinite(value):
            bound = self.model.divergence_bound
            what = f"{name} reached {value:.3g}, beyond the divergence bound {bound:g},"
        else:
            what = f"{name} became {value}"
        self.bad = (what, first)
        self.model.stop_training = True


# Fused blocks are at most this many steps (one Python round trip per block).
MAX_FUSED_STEPS = 100


def fused_steps(*boundaries: int, cap: int = MAX_FUSED_STEPS) -> int:
    """The largest k <= ``cap`` dividing every one of ``boundaries`` (segment start and
    length, logging, evaluation intervals), so every event falls on the end of a block."""
    g = 0
    for b in boundaries:
        g = math.gcd(g, int(b))
    g = g or 1
    return max(d for d in range(1, min(g, cap) + 1) if g % d == 0)


class WindowMeans:
    """Turns the running means Keras logs (averaged since the start of the ``fit`` call)
    into means over the batches since the previous call, so a printed or logged value
    shows the recent loss rather than hiding it in a segment-long average."""

    def __init__(self):
        self._last: dict[str, tuple[int, float]] = {}

    def reset(self) -> None:
        self._last = {}

    def __call__(self, count: int, running: dict[str, float]) -> dict[str, float]:
        """``count`` batches so far in this fit call, ``running`` their means by name."""
        out = {}
        for name, mean in running.items():
            before, before_mean = self._last.get(name, (0, 0.0))
            n = count - before
            out[name] = (mean * count - before_mean * before) / n if n > 0 else mean
            self._last[name] = (count, mean)
        return out


class Progress(keras.callbacks.Callback):
    """A progress bar over the whole run (absolute steps) with the losses and img/s.

    On a terminal it redraws one line; elsewhere (logs, CI) it prints a line every
    ``every`` steps with the losses averaged over those steps.
    """

    def __init__(self, total_steps: int, batch_size: int, every: int = 100):
        super().__init__()
        self.total, self.batch_size, self.every = total_steps, batch_size, max(1, every)
        self.tty = sys.stdout.isatty()
        self.bar = keras.utils.Progbar(total_steps, stateful_metrics=None) if self.tty else None
        self._t0 = self._step0 = None
        self.window = WindowMeans()

    def on_train_begin(self, logs=None):
        self._t0, self._step0 = time.perf_counter(), int(self.model.step.numpy())
        self.window.reset()

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.step.numpy())
        rate = (step - self._step0) * self.batch_size / max(time.perf_counter() - self._t0, 1e-9)
        if self.bar is not None:
            values = [(k, float(v)) for k, v in (logs or {}).items()] + [("img/s", rate)]
            self.bar.update(step, values=values, finalize=step >= self.total)
        elif step % self.every == 0 or step >= self.total:
            recent = self.window(batch + 1, {k: float(v) for k, v in (logs or {}).items()})
            values = list(recent.items()) + [("img/s", rate)]
            text = "  ".join(f"{k} {v:.4g}" for k, v in values)
            print(f"step {step}/{self.total}  {text}", flush=True)


class ScalarLogger(keras.callbacks.Callback):
    """Writes the losses, averaged over the last ``every`` global steps, as TensorBoard
    scalars every ``every`` steps."""

    def __init__(self, log_dir: str | Path, every: int = 50):
        super().__init__()
        self.writer = tf.summary.create_file_writer(str(log_dir))
        self.every = max(1, every)
        self.window = WindowMeans()

    def on_train_begin(self, logs=None):
        self.window.reset()

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.step.numpy())
        if step % self.every == 0:
            recent = self.window(batch + 1, {k: float(v) for k, v in (logs or {}).items()})
            with self.writer.as_default(step=step):
                for name, value in recent.items():
                    tf.summary.scalar(name, value)

    def on_train_end(self, logs=None):
        self.writer.flush()


class EvalLogger(keras.callbacks.Callback):
    """Every ``every`` global steps, ``evaluate(model)`` -> {name: float or None}; the
    numbers go to TensorBoard as ``eval/<name>`` under ``log_dir`` and to stdout."""

    def __init__(self, evaluate: Callable, log_dir: str | Path, every: int):
        super().__init__()
        self.evaluate, self.every = evaluate, max(1, every)
        self.writer = tf.summary.create_file_writer(str(log_dir))

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.step.numpy())
        if step % self.every or self.model.stop_training:  # not on a step the NaN guard stopped
            return
        values = {k: v for k, v in self.evaluate(self.model).items() if v is not None}
        with self.writer.as_default(step=step):
            for name, value in values.items():
                tf.summary.scalar(f"eval/{name}", value)
        self.writer.flush()
        print(f"eval step {step}  " + "  ".join(f"{k} {v:.4g}" for k, v in values.items()), flush=True)


CHECKPOINT_PREFIX = "ckpt"


def checkpoint_paths(directory: str | Path) -> list[tuple[int, str]]:
    """(step, path) of every checkpoint in ``directory``, oldest first: the index file's
    list, or, with the index missing, every ``ckpt-N.index`` there (``[]`` if none)."""
    directory = Path(directory)
    state = tf.train.get_checkpoint_state(str(directory)) if directory.is_dir() else None
    if state is not None and state.all_model_checkpoint_paths:
        paths = list(state.all_model_checkpoint_paths)
    else:
        paths = [str(p.with_suffix("")) for p in directory.glob(f"{CHECKPOINT_PREFIX}-*.index")]
    found = []
    for path in paths:
        number = path.rsplit("-", 1)[-1]
        if number.isdigit():
            found.append((int(number), str(directory / Path(path).name)))
    return sorted(found)


def checkpoint_problem(path: str) -> str | None:
    """Why checkpoint ``path`` cannot be read, or ``None`` when every tensor in it reads
    back (TensorFlow checks each tensor's CRC32C as it reads it)."""
    try:
        reader = tf.train.load_checkpoint(path)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except Exception as err:  # noqa: BLE001 (a cut .data file raises IndexError, bad bytes DataLossError)
        lines = str(err).strip().splitlines()
        return (lines[0] if lines else type(err).__name__)[:200]
    return None


def intact_checkpoints(directory: str | Path, newest_only: bool = True) -> list[tuple[int, str]]:
    """The readable checkpoints of ``directory``, oldest first (only the newest readable
    one with ``newest_only``). Each unreadable one newer than that gets a one-line
    warning on stderr; ``ZooError`` when there are checkpoints but none is readable."""
    found = checkpoint_paths(directory)
    good = []
    for step, path in reversed(found):
        problem = checkpoint_problem(path)
        if problem is not None:
            print(f"warning: checkpoint {path} is unreadable ({problem}); skipping it", file=sys.stderr)
            continue
        good.append((step, path))
        if newest_only:
            break
    if found and not good:
        raise ZooError(f"no readable checkpoint in {directory}: all {len(found)} are damaged")
    return good[::-1]


# Real batches whose statistics replace the moving ones before each checkpoint.
STATISTICS_BATCHES = 16


def refresh_batch_statistics(network: keras.Model, batches) -> int:
    """Set the inference statistics of every batch-norm layer of ``network`` to their
    averages over ``batches`` (an iterable of input tensors) under the current weights:
    each layer's moving mean and variance become the mean of its per-batch means and
    variances ("precise BN", Wu & Johnson 2021 §4.1), in place of the exponential moving
    averages, which trail weights that change every step. Returns the batches used."""
    norms = [layer for layer in _all_layers(network) if isinstance(layer, keras.layers.BatchNormalization)]
    if not norms:
        return 0
    momenta = [layer.momentum for layer in norms]
    n = 0
    try:
        for n, images in enumerate(batches, start=1):
            for layer in norms:  # moving = m * moving + (1 - m) * batch: a running mean
                layer.momentum = (n - 1) / n
            network(images, training=True)
    finally:
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum
    return n


def _all_layers(layer) -> list:
    """``layer`` and every layer nested in it (sub-models included)."""
    return [layer] + [sub for child in getattr(layer, "layers", []) for sub in _all_layers(child)]


def _statistics_batches(batches, make_dataset, count: int):
    """The first ``count`` batches of the run's data stream (images only)."""
    if batches is not None:
        stream = (batches(tf.constant(i, tf.int64)) for i in range(count))
    else:
        stream = iter(make_dataset(0).take(count))
    for batch in stream:
        yield batch[0] if isinstance(batch, tuple | list) else batch


def checkpoint_manager(model: AdversarialModel, run_dir: str | Path) -> tf.train.CheckpointManager:
    """The run's manager over ``run_dir/checkpoints`` (every checkpoint is kept, as the
    seed-000 evaluation protocol scores all of them). A missing index file (the
    ``checkpoint`` file) is rebuilt from the checkpoint files first."""
    directory = Path(run_dir) / "checkpoints"
    found = checkpoint_paths(directory)
    if found and tf.train.get_checkpoint_state(str(directory)) is None:
        paths = [p for _, p in found]
        # TF2 has no public writer of the index. The manager keeps only listed paths that
        # have a timestamp, so each gets its files' modification time.
        tf.compat.v1.train.update_checkpoint_state(
            str(directory),
            paths[-1],
            all_model_checkpoint_paths=paths,
            all_model_checkpoint_timestamps=[Path(p + ".index").stat().st_mtime for p in paths],
        )
        print(
            f"note: rebuilt the checkpoint index of {directory} from {len(found)} checkpoints",
            file=sys.stderr,
        )
    return tf.train.CheckpointManager(
        model.checkpoint(),
        str(directory),
        max_to_keep=None,
        step_counter=model.step,
        checkpoint_name=CHECKPOINT_PREFIX,
    )


def restore_latest(
    model: AdversarialModel,
    run_dir: str | Path,
    networks_only: bool = False,
    checkpoint: tf.train.Checkpoint | None = None,
) -> str:
    """Restore the newest readable checkpoint of a run into ``model`` (a damaged newer
    one is skipped with a warning); returns its path. ``checkpoint``: the object to
    restore through (a manager's, so its save counter continues too)."""
    directory = Path(run_dir) / "checkpoints"
    intact = intact_checkpoints(directory)
    if not intact:
        raise ZooError(f"no checkpoint in {directory}")
    latest = intact[-1][1]
    if networks_only:
        restore_networks(model, latest)
    else:
        (checkpoint or model.checkpoint()).restore(latest).assert_existing_objects_matched()
    return latest


def load_run(run_dir: str | Path) -> tuple[dict, AdversarialModel]:
    """A zoo run's ``config.json`` and an unrestored model built from it (one-line
    ``ZooError`` when the directory is not a run)."""
    import json

    from zoo.models import family_class

    config_path = Path(run_dir) / "config.json"
    if not config_path.is_file():
        raise ZooError(f"{run_dir} is not a zoo run: {config_path} is missing")
    try:
        config = json.loads(config_path.read_text())
        family, model_config = config["family"], config["model"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise ZooError(f"{config_path} is not a valid run config: {err}") from None
    cls = family_class(family)
    return config, cls.from_config(with_legacy_defaults(cls, model_config))


def run_checkpoints(run_dir: str | Path, newest_only: bool = False) -> list[tuple[int, str]]:
    """(step, path) of the readable checkpoints of a run, oldest first (damaged ones are
    skipped with a warning); ``ZooError`` when there is none."""
    directory = Path(run_dir) / "checkpoints"
    found = intact_checkpoints(directory, newest_only)
    if not found:
        raise ZooError(f"no checkpoint in {directory}")
    return found


def restore_networks(model: AdversarialModel, checkpoint: str) -> None:
    """Load the networks (not the optimisers) of one checkpoint into ``model``."""
    tf.train.Checkpoint(**model.networks()).restore(checkpoint).expect_partial()


def train(
    model: AdversarialModel,
    make_dataset: Callable[[int], tf.data.Dataset] | None = None,
    *,
    batches: Callable[[tf.Tensor], object] | None = None,
    steps: int,
    batch_size: int,
    run_dir: str | Path,
    checkpoint_every: int,
    resume: bool = False,
    log_every: int = 100,
    verbose: bool = True,
    callbacks: tuple[keras.callbacks.Callback, ...] = (),
) -> RunResult:
    """Train a compiled model to global step ``steps``, checkpointing every
    ``checkpoint_every`` steps into ``run_dir/checkpoints``.

    Data: ``batches``, an in-graph source called with the global step
    (``zoo.data.InMemoryBatches``, ``ScoreSampler.batches``), or ``make_dataset(skip_batches)``,
    the ``tf.data`` stream starting at a given batch; either way a resumed run sees
    exactly the batches an uninterrupted one would. Steps run in fused blocks of
    ``fused_steps(...)`` steps chosen so that checkpoints, progress lines, TensorBoard
    scalars and callbacks with an ``every`` attribute fall on block ends. Without
    ``resume`` an existing checkpoint directory is an error (nothing is overwritten).
    Raises ``TrainingDiverged`` on a NaN/Inf loss or one beyond the model's
    ``divergence_bound``, keeping the last good checkpoint.
    ``callbacks`` run after the built-in ones (e.g. ``EvalLogger``).
    """
    if steps < 1 or checkpoint_every < 1:
        raise ZooError(f"steps and checkpoint_every must be >= 1, got {steps} and {checkpoint_every}")
    if (make_dataset is None) == (batches is None):
        raise ZooError("train needs exactly one of make_dataset and batches")
    run_dir = Path(run_dir)
    manager = checkpoint_manager(model, run_dir)
    if resume:
        if manager.latest_checkpoint is None:
            raise ZooError(f"--resume: no checkpoint to resume in {run_dir / 'checkpoints'}")
        latest = restore_latest(model, run_dir, checkpoint=manager.checkpoint)
        if latest != manager.latest_checkpoint:  # the newer, damaged ones are retrained
            print(f"resuming from {latest}", file=sys.stderr)
    elif manager.latest_checkpoint is not None:
        raise ZooError(
            f"{run_dir} already holds checkpoints (latest {manager.latest_checkpoint}); "
            "pass --resume to continue it or choose another --out"
        )
    start = int(model.step.numpy())
    guard, extra = DivergenceGuard(), list(callbacks)
    scalars = ScalarLogger(run_dir / "logs", every=min(log_every, 50))
    callbacks = [guard, scalars]
    if verbose:
        callbacks.append(Progress(steps, batch_size, every=log_every))
    callbacks.extend(extra)
    intervals = [log_every, scalars.every] + [
        c.every for c in extra if isinstance(getattr(c, "every", None), int)
    ]
    saved, seconds, step = [], 0.0, start
    while step < steps:
        phase = model.phase_for_step(step)
        end = min(steps, (step // checkpoint_every + 1) * checkpoint_every)
        end = next((s for s in range(step + 1, end) if model.phase_for_step(s) != phase), end)
        model.set_phase(phase)
        k = fused_steps(step, end - step, *intervals)
        t0 = time.perf_counter()
        if batches is not None:
            model.fit_source(batches, end - step, k, callbacks)
        else:
            if model.batch_source is not None or model.steps_per_execution != k:
                model.batch_source, model.steps_per_execution, model.train_function = None, k, None
            model.fit(
                make_dataset(step),
                steps_per_epoch=end - step,
                epochs=1,
                verbose=0,
                callbacks=callbacks,
                shuffle=False,  # the stream is shuffled by its seed
            )
        seconds += time.perf_counter() - t0
        if guard.bad is not None:
            what, bad_step = guard.bad
            kept = manager.latest_checkpoint or "none (no checkpoint was written yet)"
            raise TrainingDiverged(f"{what} at step {bad_step}; last good checkpoint: {kept}")
        step = int(model.step.numpy())
        if step % checkpoint_every == 0 or step >= steps:
            for network in model.batch_statistics_networks():
                refresh_batch_statistics(
                    network, _statistics_batches(batches, make_dataset, STATISTICS_BATCHES)
                )
            saved.append(manager.save(checkpoint_number=step))
    trained = step - start
    return RunResult(start, step, seconds, trained * batch_size / seconds if seconds else 0.0, saved)
