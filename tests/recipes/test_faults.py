"""Faults a user meets, through the recipes' entry point (in-process, and two racing
command-line processes): concurrent runs on one --out,
unwritable paths, inapplicable flags, a strict ZOO_FASHION_MNIST_DIR, a runaway loss,
and recipes that import their own checkout. Each asserts the exit code, the one
``error:`` line and that earlier data did not change."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import compile_eagerly, lock_held_elsewhere, tree_checksums

from zoo.recipe import run as run_recipe
from zoo.tuning import load_recipe

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "recipes" / "train_ige_gan.py"
TINY_RUN = ["--preset", "tiny", "--steps", "2", "--checkpoint-every", "2", "--log-every", "2"]


def in_process(args: list[str]) -> int:
    return run_recipe(load_recipe("ige_gan"), args)


def error_line(capsys) -> str:
    (line,) = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    return line


def test_two_runs_racing_on_one_out_one_wins_and_nothing_is_mixed(tmp_path):
    out = tmp_path / "run"
    # As a user runs them: no TF_CPP_MIN_LOG_LEVEL, no PYTHONPATH (the recipe finds its zoo).
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "PYTHONPATH")}
    env["ZOO_OFFLINE"] = "1"
    procs = {
        seed: subprocess.Popen(
            [sys.executable, str(RECIPE), *TINY_RUN, "--seed", str(seed), "--out", str(out), "--no-export"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env=env,
        )
        for seed in (1, 2)
    }
    results = {seed: (p.wait(timeout=600), *p.communicate()) for seed, p in procs.items()}
    codes = sorted(rc for rc, _, _ in results.values())
    assert codes == [0, 1], {s: err[-800:] for s, (_, _, err) in results.items()}
    (winner,) = [s for s, (rc, _, _) in results.items() if rc == 0]
    (loser,) = [s for s, (rc, _, _) in results.items() if rc == 1]
    err = results[loser][2]
    assert "Traceback" not in err
    # The winner is a default run: no oneDNN/absl start-up notice, no "remapper failed",
    # no Keras warning on stderr, nothing.
    assert results[winner][2] == "", results[winner][2][-2000:]
    assert "step 2/2" in results[winner][1]
    (line,) = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert "in use by another zoo process" in line or "already holds checkpoints" in line
    # The run directory is the winner's alone: its seed, its metrics, one event file.
    assert json.loads((out / "config.json").read_text())["settings"]["seed"] == winner
    assert json.loads((out / "metrics.json").read_text())["steps"] == 2
    assert len(list((out / "logs").glob("events.out.tfevents.*"))) == 1


def test_a_run_in_use_refuses_resume_and_evaluation_and_changes_nothing(tmp_path, capsys, eager_models):
    out = tmp_path / "run"
    assert in_process([*TINY_RUN, "--out", str(out), "--no-export"]) == 0
    before = tree_checksums(out)
    with lock_held_elsewhere(out):
        assert in_process(["--out", str(out), "--resume", "--steps", "4", "--no-export"]) == 1
        assert "in use by another zoo process" in error_line(capsys)
        from zoo.sweep import main as evaluate

        assert evaluate(["--run", str(out), "--out", str(out), "--extractor", "domain"]) == 1
        refused = capsys.readouterr()
        assert "in use by another zoo process" in refused.err.splitlines()[-1]
        assert "real data ready" not in refused.out  # refused before the real data's work
    assert tree_checksums(out) == before


@pytest.mark.parametrize(
    "flag,kind",
    [("--out", "file"), ("--out", "read-only"), ("--serving-root", "file"), ("--serving-root", "read-only")],
)
def test_unusable_paths_fail_in_one_line_before_training(flag, kind, tmp_path, capsys):
    target = tmp_path / "afile"
    target.write_text("keep me")
    path = str(target) if kind == "file" else "/proc/zoo-dir"  # /proc: read-only even for root
    args = [*TINY_RUN, "--out", str(tmp_path / "run"), "--serving-root", str(tmp_path / "serving")]
    args[args.index(flag) + 1] = path
    assert in_process(args) == 1
    line = error_line(capsys)
    assert line.startswith(f"error: {flag} {path}:")
    assert ("not a directory" in line) if kind == "file" else ("cannot write to /proc" in line)
    assert sorted(os.listdir(tmp_path)) == ["afile"] and target.read_text() == "keep me"


def test_encoder_steps_with_the_joint_schedule_is_an_error(tmp_path, capsys):
    assert in_process([*TINY_RUN, "--encoder-steps", "1", "--out", str(tmp_path / "run")]) == 1
    assert "--encoder-steps applies only to --encoder-schedule posthoc" in error_line(capsys)
    args = [*TINY_RUN, "--encoder-schedule", "posthoc", "--encoder-steps", "2", "--out", str(tmp_path / "r")]
    assert in_process(args) == 1
    assert "--encoder-steps 2 must be smaller than --steps 2" in error_line(capsys)
    assert sorted(os.listdir(tmp_path)) == []


def test_lr_ratio_is_stored_in_the_model_config_and_checked(tmp_path, capsys):
    assert in_process([*TINY_RUN, "--lr-ratio", "q=4", "--out", str(tmp_path / "bad")]) == 1
    assert "lr_ratios for unknown players ['q']; players are ['d', 'g', 'e']" in error_line(capsys)
    assert sorted(os.listdir(tmp_path)) == []
    out = tmp_path / "run"
    args = [*TINY_RUN, "--lr-ratio", "d=4", "--lr-ratio", "e=0.5", "--out", str(out), "--no-export"]
    assert in_process(args) == 0
    assert json.loads((out / "config.json").read_text())["model"]["lr_ratios"] == {"d": 4.0, "e": 0.5}
    assert (
        in_process(["--out", str(out), "--resume", "--steps", "4", "--lr-ratio", "d=2", "--no-export"]) == 1
    )
    assert "--resume: --lr-ratio {'d': 2.0} differs from the run's {'d': 4.0, 'e': 0.5}" in error_line(capsys)


def test_joint_fusion_without_a_d2_is_an_error(tmp_path, capsys):
    assert in_process([*TINY_RUN, "--joint-fusion", "late", "--out", str(tmp_path / "run")]) == 1
    assert "--joint-fusion applies only to --inversion x_adv or z_adv (D2), not x_ae" in error_line(capsys)
    assert sorted(os.listdir(tmp_path)) == []


def test_cycle_critic_weight_is_for_z_adv_only(tmp_path, capsys):
    args = [*TINY_RUN, "--cycle-critic-weight", "1", "--out", str(tmp_path / "run")]
    assert in_process(args) == 1
    assert "--cycle-critic-weight applies only to --inversion z_adv, not x_ae" in error_line(capsys)
    assert sorted(os.listdir(tmp_path)) == []
    from zoo.recipe import build_parser

    recipe = load_recipe("ige_gan")
    args = build_parser(recipe).parse_args(["--inversion", "z_adv", "--cycle-critic-weight", "0.5"])
    assert recipe.model_kwargs(args, {"steps": 10})["cycle_critic_weight"] == 0.5
    assert "cycle_critic_norm" not in recipe.model_kwargs(args, {"steps": 10})
    args = build_parser(recipe).parse_args(
        ["--inversion", "z_adv", "--cycle-critic-weight", "0.5", "--cycle-critic-norm", "spectral"]
    )
    assert recipe.model_kwargs(args, {"steps": 10})["cycle_critic_norm"] == "spectral"


@pytest.mark.parametrize(
    "preset,flags,weight",
    [
        ("cpu", [], 5.0),  # the table's default for z_adv
        ("tiny", [], 5.0),
        ("paper", [], None),  # seed 000's game: no D3 (the model's default 0)
        ("cpu", ["--cycle-critic-weight", "0"], 0.0),
        ("paper", ["--cycle-critic-weight", "2"], 2.0),
    ],
)
def test_z_adv_trains_with_the_cycle_critic_except_under_the_paper_preset(preset, flags, weight):
    from zoo.models.ige_gan import IGEGAN
    from zoo.recipe import build_parser

    recipe = load_recipe("ige_gan")
    args = build_parser(recipe).parse_args(["--inversion", "z_adv", *flags])
    kwargs = recipe.model_kwargs(args, {"steps": 10, "preset": preset})
    assert kwargs.get("cycle_critic_weight") == weight
    model = IGEGAN(latent_dim=8, width=1 / 16, **kwargs)
    assert (model.cycle_critic is not None) == bool(weight)
    # Every other inversion is untouched by the default.
    args = build_parser(recipe).parse_args(["--inversion", "x_adv"])
    assert "cycle_critic_weight" not in recipe.model_kwargs(args, {"steps": 10, "preset": preset})


def test_cycle_critic_norm_without_a_cycle_critic_is_an_error(tmp_path, capsys):
    args = [
        *TINY_RUN,
        "--inversion",
        "z_adv",
        "--cycle-critic-weight",
        "0",
        "--cycle-critic-norm",
        "spectral",
        "--out",
        str(tmp_path / "run"),
    ]
    assert in_process(args) == 1
    assert "--cycle-critic-norm needs --cycle-critic-weight > 0" in error_line(capsys)
    assert sorted(os.listdir(tmp_path)) == []


@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_a_set_fashion_mnist_dir_is_used_or_fails_never_replaced(kind, tmp_path, monkeypatch, capsys):
    directory = tmp_path / "fmnist"
    if kind == "empty":
        directory.mkdir()
    monkeypatch.setenv("ZOO_FASHION_MNIST_DIR", str(directory))
    assert in_process([*TINY_RUN, "--out", str(tmp_path / "run")]) == 1
    line = error_line(capsys)
    assert f"$ZOO_FASHION_MNIST_DIR={directory}" in line
    assert (
        ("is not a directory" in line) if kind == "missing" else ("holds no t10k-images-idx3-ubyte" in line)
    )
    assert not (tmp_path / "run").exists()


def test_a_runaway_loss_exits_3_and_metrics_are_not_written(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["--preset", "tiny", "--lr", "1e8", "--steps", "20", "--out", str(out), "--no-export"]
    assert in_process(args) == 3
    line = error_line(capsys)
    assert line.startswith("error: training diverged: ") and "beyond the divergence bound 1e+06" in line
    assert not (out / "metrics.json").exists()


def test_a_recipe_imports_the_zoo_of_its_own_checkout(tmp_path):
    """Another checkout's recipe runs that checkout's zoo, whatever is installed."""
    clone = tmp_path / "clone"
    (clone / "recipes").mkdir(parents=True)
    (clone / "recipes" / "train_vae.py").write_text((ROOT / "recipes" / "train_vae.py").read_text())
    (clone / "zoo" / "models").mkdir(parents=True)
    (clone / "zoo" / "__init__.py").write_text("")
    # What the recipe imports besides zoo.recipe, so that nothing falls through to the
    # installed zoo (an editable install's finder would serve zoo.models from its checkout).
    (clone / "zoo" / "models" / "__init__.py").write_text("")
    (clone / "zoo" / "models" / "vae.py").write_text(
        "DEFAULT_LOG_SIGMA = 0.0\nclass VAE:\n    PRIORS = ('gaussian', 'mixture')\n"
    )
    (clone / "zoo" / "errors.py").write_text("class ZooError(Exception):\n    pass\n")
    (clone / "zoo" / "recipe.py").write_text(
        "Recipe = lambda *a, **k: None\n"
        "positive_int = int\n"
        "def run(recipe):\n"
        "    print('the clone s zoo', __file__)\n"
        "    return 0\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # as a user runs it
    proc = subprocess.run(
        [sys.executable, str(clone / "recipes" / "train_vae.py")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-800:]
    assert proc.stdout.strip() == f"the clone s zoo {clone / 'zoo' / 'recipe.py'}"


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("finished") / "run"
    with pytest.MonkeyPatch.context() as patch:
        compile_eagerly(patch)
        assert in_process([*TINY_RUN, "--inversion", "z_adv", "--out", str(out), "--no-export"]) == 0
    return out


@pytest.mark.parametrize(
    "flag,value,needle",
    [
        ("--dataset", "mnist", "--dataset mnist differs from the run's fashion_mnist"),
        ("--preset", "paper", "--preset paper differs from the run's tiny"),
        ("--batch-size", "9", "--batch-size 9 differs"),
        ("--latent-dim", "9", "--latent-dim 9 differs"),
        ("--width", "0.5", "--width 0.5 differs"),
        ("--lr", "0.5", "--lr 0.5 differs"),
        ("--gp-weight", "3", "--gp-weight 3.0 differs"),
        ("--d-steps", "4", "--d-steps 4 differs"),
        ("--seed", "9", "--seed 9 differs"),
        ("--inversion", "x_ae", "--inversion cannot change the run's model"),
        ("--encoder-schedule", "posthoc", "--encoder-schedule cannot change the run's model"),
    ],
)
def test_resume_refuses_every_changed_model_flag(finished_run, flag, value, needle, capsys):
    before = tree_checksums(finished_run)
    assert in_process(["--out", str(finished_run), "--resume", "--steps", "4", flag, value]) == 1
    assert needle in error_line(capsys)
    assert tree_checksums(finished_run) == before


def test_a_nan_loss_through_the_recipe_exits_3(tmp_path, monkeypatch, capsys):
    import numpy as np

    from zoo.models.gan import GAN

    real_loss = GAN.generator_loss
    monkeypatch.setattr(GAN, "generator_loss", staticmethod(lambda logits: real_loss(logits) * np.nan))
    assert in_process([*TINY_RUN, "--out", str(tmp_path / "run"), "--no-export"]) == 3
    line = error_line(capsys)
    assert line.startswith("error: training diverged: g_loss became nan at step 1;")
    assert "last good checkpoint: none" in line and not (tmp_path / "run" / "metrics.json").exists()


def test_start_up_noise_is_dropped_and_other_lines_are_kept():
    import zoo

    noisy = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1.0 123 port.cc:153] oneDNN custom operations are on. You may see ...\n"
        "E0000 00:00:1.0 123 some_op.cc:1] a real error\n"
    )
    assert zoo.drop_import_noise(noisy) == "E0000 00:00:1.0 123 some_op.cc:1] a real error\n"
