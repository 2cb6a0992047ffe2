"""Export: TF Serving layout, signatures, fresh-process reload, versions, atomicity."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import TINY, saved_model_signature

from export import serving
from zoo import data, training
from zoo.errors import ZooError
from zoo.models import IGEGAN


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    model = IGEGAN(inversion="x_ae", gp_weight=1.0, **TINY)
    model.compile(learning_rate=1e-3)
    training.train(
        model,
        lambda s: data.train_dataset("fashion_mnist", 8, 0, s),
        steps=2,
        batch_size=8,
        run_dir=run,
        checkpoint_every=2,
        verbose=False,
    )
    (run / "config.json").write_text(json.dumps({"family": "ige_gan", "model": model.get_config()}))
    return run


LOAD = r"""
import sys, json, numpy as np, tensorflow as tf
enc = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
gen = tf.saved_model.load(sys.argv[2]).signatures["serving_default"]
x = np.load(sys.argv[3]); z = np.load(sys.argv[4])
out = {"z": enc(images=tf.constant(x))["z"].numpy().tolist(),
       "images": gen(z=tf.constant(z))["images"].numpy().tolist(),
       "zoo_imported": "zoo" in sys.modules}
print(json.dumps(out))
"""


def test_export_layout_reload_and_match(run_dir, tmp_path):
    root = tmp_path / "serving"
    summary = serving.export_run(run_dir, root)
    enc, gen = root / "ige_gan_encoder" / "1", root / "ige_gan_generator" / "1"
    assert (enc / "saved_model.pb").is_file() and (gen / "saved_model.pb").is_file()
    assert all(m["max_abs_diff"] <= 1e-5 for m in summary["models"].values())
    assert not [p for p in (root / "ige_gan_encoder").iterdir() if p.name.startswith(".tmp")]

    # Reload in a fresh process that never imports the zoo; dynamic batch sizes 1 and 7.
    model = IGEGAN.from_config(json.loads((run_dir / "config.json").read_text())["model"])
    training.restore_latest(model, run_dir, networks_only=True)
    rng = np.random.default_rng(1)
    for batch in (1, 7):
        x = rng.uniform(size=(batch, 28, 28, 1)).astype(np.float32)
        z = rng.standard_normal((batch, 8)).astype(np.float32)
        np.save(tmp_path / "x.npy", x)
        np.save(tmp_path / "z.npy", z)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                LOAD,
                str(enc),
                str(gen),
                str(tmp_path / "x.npy"),
                str(tmp_path / "z.npy"),
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            check=True,
        )
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        assert out["zoo_imported"] is False
        np.testing.assert_allclose(out["z"], model.encoder(x, training=False).numpy(), atol=1e-5)
        np.testing.assert_allclose(out["images"], model.generator(z, training=False).numpy(), atol=1e-5)


def test_signatures_via_saved_model_cli(run_dir, tmp_path):
    serving.export_run(run_dir, tmp_path)
    show = saved_model_signature(tmp_path / "ige_gan_encoder" / "1")
    assert "inputs['images']" in show and "shape: (-1, 28, 28, 1)" in show and "outputs['z']" in show
    assert show.count("DT_FLOAT") == 2 and "shape: (-1, 8)" in show
    show = saved_model_signature(tmp_path / "ige_gan_generator" / "1")
    assert "inputs['z']" in show and "shape: (-1, 8)" in show and "outputs['images']" in show


def test_versions_increase_and_models_config_keeps_other_models(run_dir, tmp_path):
    serving.write_models_config(tmp_path, ["other_encoder"])  # a model already served there
    first = serving.export_run(run_dir, tmp_path)
    second = serving.export_run(run_dir, tmp_path)
    assert (first["version"], second["version"]) == (1, 2)
    assert sorted(p.name for p in (tmp_path / "ige_gan_encoder").iterdir()) == ["1", "2"]
    assert sorted(p.name for p in (tmp_path / "ige_gan_generator").iterdir()) == ["1", "2"]
    config = (tmp_path / "models.config").read_text()
    for name in ("ige_gan_encoder", "ige_gan_generator", "other_encoder"):
        assert f'name: "{name}"' in config and f'base_path: "/models/{name}"' in config
    assert config.startswith("model_config_list {") and config.count("config {") == 3


def test_failed_verification_leaves_nothing(run_dir, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise ZooError("verification failed on purpose")

    monkeypatch.setattr(serving, "_verify", broken)
    with pytest.raises(ZooError, match="on purpose"):
        serving.export_run(run_dir, tmp_path)
    assert list((tmp_path / "ige_gan_encoder").iterdir()) == []
    assert not (tmp_path / "models.config").exists()


def test_not_a_run_directory(tmp_path):
    with pytest.raises(ZooError, match="is not a zoo run"):
        serving.export_run(tmp_path, tmp_path / "out")
