"""SavedModel export with verification in a fresh process and atomic placement."""

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

TOLERANCE = 1e-5
# Runs in a fresh interpreter that imports TensorFlow only, never the zoo.
_VERIFY = r"""
import sys
import numpy as np
import tensorflow as tf
path, inputs, in_key, out_key, outputs = sys.argv[1:]
fn = tf.saved_model.load(path).signatures["serving_default"]
y = fn(**{in_key: tf.constant(np.load(inputs))})[out_key].numpy()
assert "zoo" not in sys.modules, "the verifier must not import the zoo"
np.save(outputs, y)
"""


def _serving_module(network, in_key: str, out_key: str, in_shape: tuple):
    import tensorflow as tf

    class Serving(tf.Module):
        def __init__(self):
            super().__init__()
            self.network = network

        @tf.function(input_signature=[tf.TensorSpec((None, *in_shape), tf.float32, name=in_key)])
        def serve(self, inputs):
            # training=False: spectral normalisation and every other layer mutate nothing.
            return {out_key: tf.cast(self.network(inputs, training=False), tf.float32)}

    return Serving()


def _verify(path: Path, sample: np.ndarray, expected: np.ndarray, in_key: str, out_key: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        inputs, outputs = Path(tmp) / "in.npy", Path(tmp) / "out.npy"
        np.save(inputs, sample)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["TF_CPP_MIN_LOG_LEVEL"] = "3"
        proc = subprocess.run(
            [sys.executable, "-c", _VERIFY, str(path), str(inputs), in_key, out_key, str(outputs)],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise ZooError(f"export verification failed to load {path}: {last}")
        got = np.load(outputs)
    if got.shape != expected.shape:
        raise ZooError(f"export verification: {path} returned shape {got.shape}, expected {expected.shape}")
    diff = float(np.max(np.abs(got - expected))) if got.size else 0.0
    if not diff <= TOLERANCE:
        raise ZooError(
            f"export verification: {path} differs from the Keras network by {diff:.3g} > {TOLERANCE}"
        )
    return diff


def next_version(*model_dirs: Path) -> int:
    """1 + the largest integer version directory in any of ``model_dirs`` (1 if none)."""
    versions = [int(p.name) for d in model_dirs if d.is_dir() for p in d.iterdir() if p.name.isdigit()]
    return max(versions, default=0) + 1


def export_network(
    network, model_dir: Path, version: int, in_key: str, out_key: str, sample: np.ndarray
) -> dict:
    """Save ``network`` as ``model_dir/<version>``: written to a temporary directory beside
    it, reloaded in a fresh process, compared with the Keras outputs on ``sample``
    (max |diff| <= 1e-5), and only then renamed into place."""
    import tensorflow as tf

    model_dir = Path(model_dir).resolve()
    model_dir.mkdir(parents=True, exist_ok=True)
    final = model_dir / str(version)
    if final.exists():
        raise ZooError(f"{final} already exists; refusing to overwrite an exported version")
    # A non-numeric name: TF Serving never loads it, even while it is being written.
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=model_dir))
    try:
        module = _serving_module(network, in_key, out_key, tuple(sample.shape[1:]))
        tf.saved_model.save(module, str(tmp), signatures={"serving_default": module.serve})
        expected = np.asarray(network(tf.constant(sample), training=False), np.float32)
        diff = _verify(tmp, sample, expected, in_key, out_key)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"path": str(final), "version": version, "max_abs_diff": diff}


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
    tmp = path.with_suffix(".config.tmp")
    tmp.write_text(f"model_config_list {{\n{body}}}\n")
    os.replace(tmp, path)
    return path


def export_run(run_dir: str | os.PathLike, serving_root: str | os.PathLike, name: str | None = None) -> dict:
    """Export the encoder and generator of a zoo run (its newest checkpoint).

    Returns a summary with the version, paths and verification differences.
    """
    from zoo.training import load_run, restore_latest

    # Absolute paths: the verifier runs in another working directory.
    run_dir, serving_root = Path(run_dir).resolve(), Path(serving_root).resolve()
    config, model = load_run(run_dir)
    checkpoint = restore_latest(model, run_dir, networks_only=True)
    name = name or config.get("name") or config["family"]
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ZooError(f"model name {name!r} may contain only letters, digits, '_', '.', '-'")
    enc_dir, gen_dir = serving_root / f"{name}_encoder", serving_root / f"{name}_generator"
    version = next_version(enc_dir, gen_dir)
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(5, model.resolution, model.resolution, model.channels)).astype(np.float32)
    codes = rng.standard_normal((5, model.latent_dim)).astype(np.float32)
    summary = {"checkpoint": checkpoint, "version": version, "models": {}}
    targets = []
    if getattr(model, "encoder", None) is not None:
        summary["models"][enc_dir.name] = export_network(
            model.encoder, enc_dir, version, "images", "z", images
        )
        targets.append(enc_dir.name)
    summary["models"][gen_dir.name] = export_network(model.generator, gen_dir, version, "z", "images", codes)
    targets.append(gen_dir.name)
    summary["models_config"] = str(write_models_config(serving_root, targets))
    return summary
