"""SavedModel export with verification in one fresh process and atomic placement."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from zoo.errors import ZooError
from zoo.files import check_writable_dir, directory_lock, write_text_atomic

TOLERANCE = 1e-5
# How long an export waits for another export into the same serving root to finish.
EXPORT_LOCK_WAIT_S = 600.0
# Runs in a fresh interpreter that imports TensorFlow only, never the zoo: one process
# reloads every network of an export (argv: path, inputs, out_key, outputs per network).
_VERIFY = r"""
import sys
import numpy as np
import tensorflow as tf
args = sys.argv[1:]
for path, inputs, out_key, outputs in zip(*[iter(args)] * 4):
    try:
        fn = tf.saved_model.load(path).signatures["serving_default"]
        feed = np.load(inputs)
        y = fn(**{k: tf.constant(feed[k]) for k in feed.files})[out_key].numpy()
    except Exception as e:
        sys.exit(f"failed to load {path}: {type(e).__name__}: {e}".splitlines()[0])
    np.save(outputs, y)
assert "zoo" not in sys.modules, "the verifier must not import the zoo"
"""


def _call(network, inputs: dict):
    """``network`` on named inputs: one tensor, or a list in the signature's order."""
    values = list(inputs.values())
    return network(values[0] if len(values) == 1 else values, training=False)


def _serving_module(network, inputs: dict[str, np.ndarray], out_key: str):
    import tensorflow as tf

    specs = [tf.TensorSpec((None, *v.shape[1:]), tf.float32, name=k) for k, v in inputs.items()]
    names = list(inputs)

    class Serving(tf.Module):
        def __init__(self):
            super().__init__()
            self.network = network

        @tf.function(input_signature=specs)
        def serve(self, *args):
            # training=False: spectral normalisation and every other layer mutate nothing.
            return {out_key: tf.cast(_call(self.network, dict(zip(names, args))), tf.float32)}

    return Serving()


def _verify(items: list[tuple[Path, dict[str, np.ndarray], np.ndarray, str]]) -> list[float]:
    """Reload each staged SavedModel ``(path, inputs, expected, out_key)`` in one fresh
    process and return, per item, the largest |difference| from the Keras outputs
    ``expected``; a failed load, a wrong shape or a difference over ``TOLERANCE`` is a
    ``ZooError`` naming the path."""
    with tempfile.TemporaryDirectory() as tmp:
        argv, outputs = [], []
        for i, (path, inputs, _, out_key) in enumerate(items):
            feed, out = Path(tmp) / f"in{i}.npz", Path(tmp) / f"out{i}.npy"
            np.savez(feed, **inputs)
            argv += [str(path), str(feed), out_key, str(out)]
            outputs.append(out)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["TF_CPP_MIN_LOG_LEVEL"] = "3"
        proc = subprocess.run(
            [sys.executable, "-c", _VERIFY, *argv], cwd=tmp, env=env, capture_output=True, text=True
        )
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise ZooError(f"export verification: {last}")
        got = [np.load(out) for out in outputs]
    diffs = []
    for (path, _, expected, _), y in zip(items, got):
        if y.shape != expected.shape:
            raise ZooError(f"export verification: {path} returned shape {y.shape}, expected {expected.shape}")
        diff = float(np.max(np.abs(y - expected))) if y.size else 0.0
        if not diff <= TOLERANCE:
            raise ZooError(
                f"export verification: {path} differs from the Keras network by {diff:.3g} > {TOLERANCE}"
            )
        diffs.append(diff)
    return diffs


def next_version(*model_dirs: Path) -> int:
    """1 + the largest integer version directory in any of ``model_dirs`` (1 if none)."""
    versions = [int(p.name) for d in model_dirs if d.is_dir() for p in d.iterdir() if p.name.isdigit()]
    return max(versions, default=0) + 1


def stage_networks(networks: list[tuple], version: int) -> list[dict]:
    """Save each ``(network, model_dir, inputs, out_key)`` into a temporary directory
    inside ``model_dir`` with a ``serving_default`` signature taking the named float32
    ``inputs`` (in the network's input order; sample values, batch dimension dynamic)
    and returning ``{out_key: ...}``; reload them all in one fresh process and compare
    with the Keras outputs on the samples (max |diff| <= 1e-5). Returns, per network,
    ``{"tmp", "path", "version", "max_abs_diff"}``; the caller renames each ``tmp`` to
    its ``path``, or removes it. On any failure nothing staged is left behind."""
    import tensorflow as tf

    staged, items = [], []
    try:
        for network, model_dir, inputs, out_key in networks:
            model_dir = Path(model_dir).resolve()
            model_dir.mkdir(parents=True, exist_ok=True)
            final = model_dir / str(version)
            if final.exists():
                raise ZooError(f"{final} already exists; refusing to overwrite an exported version")
            # A non-numeric name: TF Serving never loads it, even while it is being written.
            tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=model_dir))
            staged.append({"tmp": str(tmp), "path": str(final), "version": version})
            module = _serving_module(network, inputs, out_key)
            tf.saved_model.save(module, str(tmp), signatures={"serving_default": module.serve})
            expected = _call(network, {k: tf.constant(v) for k, v in inputs.items()})
            items.append((tmp, inputs, np.asarray(expected, np.float32), out_key))
        for item, diff in zip(staged, _verify(items)):
            item["max_abs_diff"] = diff
    except BaseException:
        for item in staged:
            shutil.rmtree(item["tmp"], ignore_errors=True)
        raise
    return staged


def export_network(
    network, model_dir: Path, version: int, inputs: dict[str, np.ndarray], out_key: str
) -> dict:
    """Stage and verify one network (``stage_networks``), then rename it into place."""
    (staged,) = stage_networks([(network, model_dir, inputs, out_key)], version)
    os.rename(staged.pop("tmp"), staged["path"])
    return staged


def _remove_debris(serving_root: Path, model_dirs: list[Path]) -> list[str]:
    """Under the serving root's lock: delete the ``.tmp-*`` directories a killed export
    left in ``model_dirs``, and any version that exists in some of ``model_dirs`` but
    not all (a pair an interrupted export published only half of). Returns what went."""
    removed = []
    for d in model_dirs:
        for p in d.glob(".tmp-*") if d.is_dir() else ():
            shutil.rmtree(p, ignore_errors=True)
            removed.append(str(p))
    per_dir = [{p.name for p in d.iterdir() if p.name.isdigit()} if d.is_dir() else set() for d in model_dirs]
    complete = set.intersection(*per_dir) if per_dir else set()
    for d, versions in zip(model_dirs, per_dir):
        for v in sorted(versions - complete, key=int):
            # Out of TF Serving's sight first (a non-numeric name), then deleted.
            hidden = d / f".tmp-incomplete-{v}"
            os.rename(d / v, hidden)
            shutil.rmtree(hidden, ignore_errors=True)
            removed.append(str(d / v))
    for stale in (".models.config.tmp", "models.config.tmp"):  # this version's name, the old one
        if (serving_root / stale).is_file():
            (serving_root / stale).unlink()
    return removed


_CONFIG_BLOCK = re.compile(r"config\s*\{(.*?)\}", re.S)
_FIELD = re.compile(r'(\w+)\s*:\s*"([^"]*)"')


def write_models_config(serving_root: Path, names: list[str], base_prefix: str = "/models") -> Path:
    """Write ``serving_root/models.config`` (a TF Serving model_config_list) that keeps the
    entries already there and adds ``names``; written to a temp file, then renamed."""
    path = serving_root / "models.config"
    entries: dict[str, str] = {}
    if path.exists():
        for block in _CONFIG_BLOCK.findall(path.read_text()):
            fields = dict(_FIELD.findall(block))
            if "name" in fields:
                entries[fields["name"]] = fields.get("base_path", f"{base_prefix}/{fields['name']}")
    for name in names:
        entries[name] = f"{base_prefix.rstrip('/')}/{name}"
    body = "".join(
        f'  config {{\n    name: "{n}"\n    base_path: "{p}"\n    model_platform: "tensorflow"\n  }}\n'
        for n, p in sorted(entries.items())
    )
    return write_text_atomic(path, f"model_config_list {{\n{body}}}\n")


def export_run(run_dir: str | os.PathLike, serving_root: str | os.PathLike, name: str | None = None) -> dict:
    """Export the networks of a zoo run's newest readable checkpoint that TF Serving
    should serve (``model.serving_signatures``: the encoder, if any, and the generator)
    as ``<serving_root>/<name>_<role>/<version>``, one version number for all of them.

    Holds the serving root's lock throughout, so concurrent exports take turns and get
    distinct versions. Every network is staged and verified before any is renamed into
    place, so a failed export publishes nothing; a kill between the renames leaves half
    a pair, which the next export into that root removes (with its ``.tmp-*`` debris).
    Returns a summary with the version, paths and verification differences.
    """
    from zoo.training import load_run, restore_latest

    # Absolute paths: the verifier runs in another working directory.
    run_dir, serving_root = Path(run_dir).resolve(), Path(serving_root).resolve()
    check_writable_dir(serving_root, "serving root")
    config, model = load_run(run_dir)
    name = name or config.get("name") or config["family"]
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ZooError(f"model name {name!r} may contain only letters, digits, '_', '.', '-'")
    checkpoint = restore_latest(model, run_dir, networks_only=True)
    config_path = serving_root / "models.config"
    if config_path.exists() and not config_path.is_file():
        raise ZooError(f"{config_path} exists and is not a file; move it away to export into {serving_root}")
    rng = np.random.default_rng(0)
    targets = {f"{name}_{role}": spec for role, spec in model.serving_signatures(rng).items()}
    with directory_lock(serving_root, wait_s=EXPORT_LOCK_WAIT_S):
        dirs = [serving_root / t for t in targets]
        for path in _remove_debris(serving_root, dirs):
            print(f"note: removed {path}, left by an interrupted export", file=sys.stderr)
        version = next_version(*dirs)
        summary = {"checkpoint": checkpoint, "version": version, "models": {}}
        networks = [(net, serving_root / t, inputs, key) for t, (net, inputs, key) in targets.items()]
        staged = stage_networks(networks, version)  # every network saved and verified
        try:
            for target, item in zip(targets, staged):  # publish the set together
                os.rename(item["tmp"], item["path"])
                summary["models"][target] = {k: v for k, v in item.items() if k != "tmp"}
        except BaseException:
            for item in staged:
                shutil.rmtree(item["tmp"], ignore_errors=True)
            raise
        summary["models_config"] = str(write_models_config(serving_root, list(targets)))
    return summary
