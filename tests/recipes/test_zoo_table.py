"""recipes/zoo_table.py end to end on two tiny families: trains, scores, tabulates,
keeps finished runs, resumes an interrupted one and retrains a stale one."""

import importlib.util
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from zoo.cli import run_main

ROOT = Path(__file__).resolve().parents[2]


def zoo_table(argv: list[str], capsys) -> types.SimpleNamespace:
    """recipes/zoo_table.py run in this process (its training runs are subprocesses of
    their recipes either way): exit code, stdout, stderr."""
    spec = importlib.util.spec_from_file_location("zoo_table", ROOT / "recipes" / "zoo_table.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    code = run_main(script.build_parser(), script.main, argv)
    out, err = capsys.readouterr()
    return types.SimpleNamespace(returncode=code, stdout=out, stderr=err)


def table(tmp_path, capsys, *flags):
    argv = [
        "--families",
        "gan,ige_gan_z_ae",
        "--seeds",
        "0",
        "--preset",
        "tiny",
        "--eval-samples",
        "64",
        "--out",
        str(tmp_path / "out"),
        "--runs",
        str(tmp_path / "runs"),
        *flags,
    ]
    return zoo_table(argv, capsys)


@pytest.mark.slow
def test_tiny_table_trains_scores_keeps_resumes_and_retrains_the_stale(tmp_path, capsys):
    first = table(tmp_path, capsys)
    assert first.returncode == 0, first.stderr[-2000:]
    out, runs = tmp_path / "out", tmp_path / "runs"
    evaluation = json.loads((out / "evals" / "ige_gan_z_ae-seed0.json").read_text())
    m = evaluation["metrics"]
    assert evaluation["step"] == 20 and len(m["class_histogram"]) == 10
    assert 0.0 <= m["class_agreement"] <= 1.0 and m["psnr_mean"] > 0 and evaluation["latent_recovery"] > 0
    assert evaluation["config"]["settings"]["preset"] == "tiny"
    markdown = (out / "zoo_table.md").read_text()
    assert "| gan | 0 |" in markdown and "| ige_gan_z_ae | 0 |" in markdown
    assert "## Claims (0 of 6 hold; 0 decided)" in markdown  # no claim's entries are all here
    assert (out / "montage.png").stat().st_size > 0 and (out / "zoo_table.csv").is_file()
    misses = json.loads((out / "claims.json").read_text())["misses"]
    assert not any("the GAN's" in m for m in misses["gan"])  # the GAN is the FID reference itself
    for miss in misses["ige_gan_z_ae"]:  # each shown in the table's last column
        assert miss in markdown

    assert 0.0 <= m["knn_accuracy_untrained"] <= 1.0 and "1-NN untrained E" in markdown
    # the machine that trained each run and its training speed, named above the table
    from zoo.table import machine

    assert evaluation["machine"] == machine() and evaluation["images_per_second"] > 0
    speed = evaluation["images_per_second"]
    assert f"- {machine()}: gan-seed0 (" in markdown and f"ige_gan_z_ae-seed0 ({speed:.0f} img/s)" in markdown

    # Finished runs are neither retrained nor re-scored; an evaluation from before the
    # untrained-encoder baseline existed gets it, the same number, without retraining.
    before = (out / "evals" / "gan-seed0.json").read_text()
    path = out / "evals" / "ige_gan_z_ae-seed0.json"
    old = json.loads(path.read_text())
    del old["metrics"]["knn_accuracy_untrained"]
    path.write_text(json.dumps(old))
    again = table(tmp_path, capsys)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "training" not in again.stdout and "resuming" not in again.stdout
    assert (out / "evals" / "gan-seed0.json").read_text() == before
    assert "ige_gan_z_ae-seed0: 1-NN of its untrained encoder" in again.stdout
    backfilled = json.loads(path.read_text())
    assert backfilled["metrics"]["knn_accuracy_untrained"] == pytest.approx(m["knn_accuracy_untrained"])
    assert "knn_accuracy_untrained" in backfilled["backfilled"]

    # In one more table run: gan, interrupted after its step-10 checkpoint, is resumed, not
    # restarted; ige_gan_z_ae, trained with other settings than the recipe plans now, is
    # stale: moved aside (kept) and retrained.
    run = runs / "gan-seed0"
    (out / "evals" / "gan-seed0.json").unlink()
    (run / "metrics.json").unlink()
    for f in (run / "checkpoints").glob("ckpt-2*"):
        f.unlink()
    path = out / "evals" / "ige_gan_z_ae-seed0.json"
    stale = json.loads(path.read_text())
    stale["config"]["model"]["latent_dim"] = 9
    path.write_text(json.dumps(stale))
    retrained = table(tmp_path, capsys)
    assert retrained.returncode == 0, retrained.stderr[-2000:]
    assert "gan-seed0: resuming" in retrained.stdout
    times = json.loads((run / "table_time.json").read_text())
    assert [t["resume"] for t in times] == [False, True]
    assert json.loads((out / "evals" / "gan-seed0.json").read_text())["step"] == 20
    assert "ige_gan_z_ae-seed0: its defaults changed" in retrained.stdout
    assert json.loads((out / "evals" / "stale" / "ige_gan_z_ae-seed0.stale-1.json").read_text()) == stale
    assert (runs / "ige_gan_z_ae-seed0.stale-1" / "checkpoints").is_dir()
    assert json.loads(path.read_text())["config"]["model"]["latent_dim"] == 16


def test_bad_flags_are_one_line_errors(tmp_path, capsys):
    from zoo.table import ENTRIES

    # The script as a program once (its exit code, its own sys.path line), then in-process.
    command = [
        sys.executable,
        str(ROOT / "recipes" / "zoo_table.py"),
        "--families",
        "gan,nope",
        "--out",
        str(tmp_path),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: --families: unknown ['nope']; known: {', '.join(ENTRIES)}"
    ]
    empty = zoo_table(["--report-only", "--out", str(tmp_path / "x")], capsys)
    assert empty.returncode == 1 and "nothing to tabulate" in empty.stderr
