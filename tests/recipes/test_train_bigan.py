"""The BiGAN recipe end to end: a variant trains, resumes under its own family, and exports
under its variant's name; bad variant flags are argparse errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "recipes" / "train_bigan.py"


def run(args, tmp_path):
    env = {**os.environ, "ZOO_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, str(RECIPE), *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)


def test_p_mdgan_tiny_end_to_end_resume_and_export(tmp_path):
    out, root = tmp_path / "run", tmp_path / "serving"
    common = ["--out", str(out), "--serving-root", str(root), "--log-every", "2"]
    proc = run(
        ["--preset", "tiny", "--variant", "p_mdgan", "--lambda-cyc", "3", "--steps", "2", *common], tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    config = json.loads((out / "config.json").read_text())
    assert (config["family"], config["name"]) == ("p_mdgan", "p_mdgan")
    assert config["model"]["cycle_weight"] == 3.0 and config["model"]["norm_hold_steps"] == 0
    assert "norm_weight" in proc.stdout and "cycle_loss" in proc.stdout
    # Resume without repeating --variant: the run's own family and settings are used.
    proc = run(["--resume", "--steps", "4", *common], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] == 4 and metrics["family"] == "p_mdgan"
    assert {p.name for p in root.iterdir()} == {"p_mdgan_encoder", "p_mdgan_generator", "models.config"}
    assert sorted(p.name for p in (root / "p_mdgan_encoder").iterdir()) == ["1", "2"]


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--variant", "ep_mdgan"], "invalid choice"),
        (["--lambda", "-1"], "--lambda"),
        (["--lambda-cyc", "nan"], "--lambda-cyc"),
    ],
)
def test_bad_variant_flags_exit_2(args, needle, tmp_path):
    proc = run(["--preset", "tiny", *args], tmp_path)
    assert proc.returncode == 2 and needle in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "runs").exists()
