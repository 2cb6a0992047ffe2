"""The recipe end to end in-process (one bad flag through the real command line), the
export CLI's main, and their answers to bad input."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tensorflow as tf

from export.__main__ import main as export_main
from zoo.suite import CHEAP_KEYS

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "recipes" / "train_ige_gan.py"


def run(args, tmp_path):
    """The recipe as a command: a fresh interpreter."""
    full_env = {**os.environ, "ZOO_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, str(RECIPE), *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=full_env, timeout=600)


def in_process(args: list[str]) -> int:
    """The recipe's exit code for ``args``, run in this process (no interpreter start-up)."""
    import importlib.util

    from zoo.recipe import run as run_recipe

    spec = importlib.util.spec_from_file_location("train_ige_gan", RECIPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return run_recipe(module.RECIPE, args)


@pytest.mark.slow
def test_tiny_end_to_end_then_resume_then_export(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    out, root = tmp_path / "run", tmp_path / "serving"
    code = in_process(
        [
            "--preset",
            "tiny",
            "--steps",
            "4",
            "--checkpoint-every",
            "2",
            "--inversion",
            "z_ae",
            "--out",
            str(out),
            "--serving-root",
            str(root),
            "--log-every",
            "2",
            "--eval-every",
            "4",
            "--eval-samples",
            "100",
        ]
    )
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr[-2000:]
    assert "step 4/4" in stdout and "d_loss" in stdout
    # --eval-every: the cheap suite metrics at step 4, printed and in TensorBoard.
    assert "eval step 4  fid_samples" in stdout
    tags = {
        value.tag
        for path in (out / "logs" / "eval").glob("events.out.tfevents.*")
        for event in tf.compat.v1.train.summary_iterator(str(path))
        for value in event.summary.value
    }
    assert tags == {f"eval/{k}" for k in CHEAP_KEYS}
    metrics = json.loads((out / "metrics.json").read_text())
    for key in (
        "reconstruction_mse",
        "reconstruction_psnr",
        "random_pair_psnr",
        "latent_recovery_error",
        "steps",
        "wall_time_s",
        "images_per_second",
    ):
        assert key in metrics
    assert metrics["steps"] == 4
    for png in (
        "samples",
        "reconstructions_real",
        "reconstructions_fake",
        "interpolations_real",
        "interpolations_fake",
        "latent_norms",
    ):
        assert (out / f"{png}.png").stat().st_size > 100
    assert set(metrics["latent_norm_ratio"]) == set(metrics["prior_norm_ratio"]) == {"mean", "std"}
    assert (root / "ige_gan_encoder" / "1" / "saved_model.pb").is_file()
    assert sorted(p.name for p in (out / "checkpoints").glob("*.index")) == ["ckpt-2.index", "ckpt-4.index"]

    assert in_process(["--out", str(out), "--resume", "--steps", "6", "--no-export"]) == 0
    assert json.loads((out / "metrics.json").read_text())["steps"] == 6
    assert not (root / "ige_gan_encoder" / "2").exists()

    # Relative paths, as a person types them, from the directory holding both.
    capsys.readouterr()
    assert export_main(["--run", "run", "--out", "serving"]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == 2


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--steps", "0"], "--steps: expected a positive integer"),
        (["--lr", "-1"], "--lr: expected a finite number >= 0"),
        (["--inversion", "x_vae"], "--inversion: invalid choice"),
        (["--dataset", "svhn"], "--dataset: invalid choice"),
        (["--preset", "huge"], "--preset: invalid choice"),
        (["--resume"], "--resume needs --out"),
    ],
)
def test_bad_flags_exit_2(args, needle, tmp_path, monkeypatch, capsys):
    # In-process (argparse exits before any work); one case also as a real CLI below.
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        in_process(args)
    assert exit_.value.code == 2 and needle in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_bad_flag_on_the_command_line_is_exit_2_without_traceback(tmp_path):
    proc = run(["--steps", "0"], tmp_path)
    assert proc.returncode == 2 and "--steps: expected a positive integer" in proc.stderr
    assert "Traceback" not in proc.stderr


def _error_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_missing_dataset_is_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    assert in_process(["--dataset", "mnist", "--preset", "tiny", "--out", str(tmp_path / "run")]) == 1
    (line,) = _error_lines(capsys.readouterr().err)
    assert "dataset mnist" in line and "tensorflow-datasets" in line
    assert not (tmp_path / "run").exists()


def test_corrupt_file_is_one_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 40)
    monkeypatch.setenv("ZOO_FASHION_MNIST_DIR", str(tmp_path))
    assert in_process(["--preset", "tiny", "--out", str(tmp_path / "run")]) == 1
    (line,) = _error_lines(capsys.readouterr().err)
    assert "t10k-images-idx3-ubyte" in line and "truncated or corrupt" in line


def test_resume_refuses_changed_settings_and_missing_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert in_process(["--out", str(tmp_path / "nothing"), "--resume"]) == 1
    assert "nothing to resume" in capsys.readouterr().err
    out = tmp_path / "run"
    assert in_process(["--preset", "tiny", "--steps", "1", "--out", str(out), "--no-export"]) == 0
    before = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert in_process(["--out", str(out), "--resume", "--lr", "0.5"]) == 1
    assert "--lr 0.5 differs" in capsys.readouterr().err
    assert in_process(["--preset", "tiny", "--out", str(out)]) == 1
    assert "already holds checkpoints" in capsys.readouterr().err
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == before  # nothing overwritten


def test_export_main_bad_run_is_one_error_line(tmp_path, capsys):
    assert export_main(["--run", str(tmp_path), "--out", str(tmp_path / "s")]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: ") and "is not a zoo run" in line
    assert not (tmp_path / "s").exists()
