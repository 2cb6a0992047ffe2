"""Export: TF Serving layout, signatures, fresh-process reload, versions, atomicity."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import TINY, saved_model_signature, tree_checksums

from export import serving
from zoo import data, training
from zoo.errors import ZooError
from zoo.models import FAMILIES, IGEGAN


def tiny_run(run, steps: int, **kw):
    """A run directory as the recipes leave it: tiny IGE-GAN checkpoints every 2 steps."""
    model = IGEGAN(inversion="x_ae", **{**TINY, **kw})
    model.compile(learning_rate=1e-3, run_eagerly=True)  # export reads checkpoints, not graphs
    training.train(
        model,
        lambda s: data.train_dataset("fashion_mnist", 8, 0, s),
        steps=steps,
        batch_size=8,
        run_dir=run,
        checkpoint_every=2,
        verbose=False,
    )
    (run / "config.json").write_text(json.dumps({"family": "ige_gan", "model": model.get_config()}))
    return run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return tiny_run(tmp_path_factory.mktemp("run"), 2, gp_weight=1.0)


LOAD = r"""
import sys, json, numpy as np, tensorflow as tf
enc = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
gen = tf.saved_model.load(sys.argv[2]).signatures["serving_default"]
out = []
for x_path, z_path in zip(sys.argv[3::2], sys.argv[4::2]):
    x, z = np.load(x_path), np.load(z_path)
    out.append({"z": enc(images=tf.constant(x))["z"].numpy().tolist(),
                "images": gen(z=tf.constant(z))["images"].numpy().tolist()})
print(json.dumps({"outputs": out, "zoo_imported": "zoo" in sys.modules}))
"""


@pytest.fixture(scope="module")
def exported(run_dir, tmp_path_factory):
    """One export of ``run_dir`` that the read-only tests below share: (root, summary)."""
    root = tmp_path_factory.mktemp("exported") / "serving"
    return root, serving.export_run(run_dir, root)


def test_export_layout_reload_and_match(run_dir, exported, tmp_path):
    root, summary = exported
    enc, gen = root / "ige_gan_encoder" / "1", root / "ige_gan_generator" / "1"
    assert (enc / "saved_model.pb").is_file() and (gen / "saved_model.pb").is_file()
    assert all(m["max_abs_diff"] <= 1e-5 for m in summary["models"].values())
    assert not [p for p in (root / "ige_gan_encoder").iterdir() if p.name.startswith(".tmp")]

    # Reload in a fresh process that never imports the zoo; dynamic batch sizes 1 and 7.
    model = IGEGAN.from_config(json.loads((run_dir / "config.json").read_text())["model"])
    training.restore_latest(model, run_dir, networks_only=True)
    rng = np.random.default_rng(1)
    batches, files = {}, []
    for batch in (1, 7):
        batches[batch] = (
            rng.uniform(size=(batch, 28, 28, 1)).astype(np.float32),
            rng.standard_normal((batch, 8)).astype(np.float32),
        )
        for name, array in zip("xz", batches[batch]):
            np.save(tmp_path / f"{name}{batch}.npy", array)
            files.append(str(tmp_path / f"{name}{batch}.npy"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, "-c", LOAD, str(enc), str(gen), *files],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=True,
    )
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["zoo_imported"] is False and len(out["outputs"]) == 2
    for (x, z), served in zip(batches.values(), out["outputs"]):
        np.testing.assert_allclose(served["z"], model.encoder(x, training=False).numpy(), atol=1e-5)
        np.testing.assert_allclose(served["images"], model.generator(z, training=False).numpy(), atol=1e-5)


def test_signatures_via_saved_model_cli(exported):
    root, _ = exported
    show = saved_model_signature(root / "ige_gan_encoder" / "1")
    assert "inputs['images']" in show and "shape: (-1, 28, 28, 1)" in show and "outputs['z']" in show
    assert show.count("DT_FLOAT") == 2 and "shape: (-1, 8)" in show
    show = saved_model_signature(root / "ige_gan_generator" / "1")
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


class FreshNoise(keras.layers.Layer):
    """Adds new uniform noise on every call: a SavedModel of it cannot reproduce the
    Keras outputs it is checked against."""

    def call(self, x):
        return x + tf.random.uniform(tf.shape(x))


def test_a_reloaded_network_that_really_differs_fails_and_publishes_nothing(run_dir, tmp_path, monkeypatch):
    serving.export_run(run_dir, tmp_path)  # version 1, served and left alone below
    before = tree_checksums(tmp_path)
    real_signatures = IGEGAN.serving_signatures

    def noisy_generator(self, rng):
        out = real_signatures(self, rng)
        network, inputs, key = out["generator"]
        out["generator"] = (keras.Sequential([network, FreshNoise()]), inputs, key)
        return out

    monkeypatch.setattr(IGEGAN, "serving_signatures", noisy_generator)
    with pytest.raises(
        ZooError, match=r"ige_gan_generator/.tmp-2-.* differs from the Keras network by 0\.\d+ > 1e-05"
    ):
        serving.export_run(run_dir, tmp_path)
    # The verified encoder of version 2 is not published without its generator either.
    assert tree_checksums(tmp_path) == before
    assert sorted(p.name for p in (tmp_path / "ige_gan_encoder").iterdir()) == ["1"]


def test_not_a_run_directory(tmp_path):
    with pytest.raises(ZooError, match="is not a zoo run"):
        serving.export_run(tmp_path, tmp_path / "out")


def test_concurrent_exports_into_one_root_get_distinct_versions(run_dir, tmp_path):
    root = tmp_path / "serving"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    cmd = [sys.executable, "-m", "export", "--run", str(run_dir), "--out", str(root)]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in "ab"
    ]
    results = [(p.wait(timeout=600), *p.communicate()) for p in procs]
    assert [rc for rc, _, _ in results] == [0, 0], [err[-500:] for _, _, err in results]
    assert sorted(json.loads(out)["version"] for _, out, _ in results) == [1, 2]
    for name in ("ige_gan_encoder", "ige_gan_generator"):
        assert sorted(p.name for p in (root / name).iterdir()) == ["1", "2"]  # no .tmp left either


def test_an_interrupted_export_is_cleaned_up_by_the_next(run_dir, tmp_path, capsys):
    import shutil

    serving.export_run(run_dir, tmp_path)
    enc, gen = tmp_path / "ige_gan_encoder", tmp_path / "ige_gan_generator"
    # A kill between the two renames: encoder version 2 live, generator version 2 not;
    # a kill while saving: a .tmp directory; a kill while writing models.config.
    shutil.copytree(enc / "1", enc / "2")
    (gen / ".tmp-2-killed").mkdir()
    (tmp_path / ".models.config.tmp").write_text("half")
    summary = serving.export_run(run_dir, tmp_path)
    notes = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("note: removed")]
    assert len(notes) == 2 and any("ige_gan_encoder/2" in n for n in notes)
    assert summary["version"] == 2
    assert sorted(p.name for p in enc.iterdir()) == sorted(p.name for p in gen.iterdir()) == ["1", "2"]
    assert not (tmp_path / ".models.config.tmp").exists()


def test_an_unreplaceable_models_config_fails_before_any_version_goes_live(run_dir, tmp_path):
    serving.export_run(run_dir, tmp_path)
    (tmp_path / "models.config").unlink()
    (tmp_path / "models.config").mkdir()
    before = tree_checksums(tmp_path)
    with pytest.raises(ZooError, match=r"models.config exists and is not a file"):
        serving.export_run(run_dir, tmp_path)
    assert tree_checksums(tmp_path) == before


@pytest.mark.parametrize("kind", ["file", "read-only"])
def test_export_cli_unwritable_out_is_one_line(run_dir, tmp_path, kind, capsys):
    from export.__main__ import main

    out = tmp_path / "afile" if kind == "file" else "/proc/zoo-serving"  # /proc: read-only even for root
    if kind == "file":
        out.write_text("keep me")
    assert main(["--run", str(run_dir), "--out", str(out)]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: serving root") and ("not a directory" in line or "cannot write" in line)
    if kind == "file":
        assert out.read_text() == "keep me"


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_serves_what_it_promises(family):
    """What each family's SavedModel serves, checked on the signature function export
    saves (``_serving_module``), without writing it to disk."""
    keras.utils.set_random_seed(0)
    model = FAMILIES[family](**TINY)
    specs = model.serving_signatures(np.random.default_rng(0))
    generator_only = family in ("gan", "dcgan", "wgan_gp")
    assert set(specs) == ({"generator"} if generator_only else {"encoder", "generator"})
    served = {}
    for role, (network, inputs, key) in specs.items():
        module = serving._serving_module(network, inputs, key)
        out = module.serve(*[tf.constant(v) for v in inputs.values()])
        assert list(out) == [key] and out[key].dtype == tf.float32
        served[role] = (inputs, out[key].numpy())
    inputs, images = served["generator"]
    expected = ["z_noise", "z"] if family == "ive_gan" else ["z"]  # IVE-GAN: G(z', z)
    assert list(inputs) == expected and images.shape == (5, 28, 28, 1)
    assert 0.0 <= images.min() and images.max() <= 1.0  # the one pixel range
    if generator_only:
        return
    (x,), z = served["encoder"][0].values(), served["encoder"][1]
    assert z.shape == (5, TINY["latent_dim"])
    if family == "age":  # codes on the unit sphere, as AGE's prior
        np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, rtol=1e-5)
    if family == "vae":  # the posterior mean mu(x), the first d_z outputs of the posterior
        np.testing.assert_allclose(z, model.posterior(x, training=False).numpy()[:, :8], rtol=1e-5, atol=1e-6)


def test_export_skips_a_truncated_newest_checkpoint(tmp_path, capsys):
    run = tiny_run(tmp_path / "run", 4)
    (newest,) = (run / "checkpoints").glob("ckpt-4.data-*")
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])
    from export.__main__ import main

    assert main(["--run", str(run), "--out", str(tmp_path / "serving")]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["checkpoint"].endswith("ckpt-2")
    assert "warning: checkpoint" in err and "ckpt-4 is unreadable" in err
