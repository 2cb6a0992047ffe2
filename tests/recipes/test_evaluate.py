"""recipes/evaluate.py (zoo.sweep) on two saved runs, in-process: metrics.json has exactly
the documented keys (encoder keys null for a GAN), every checkpoint gets a CSV row, the
best three per metric and the figures are written, and bad input is a one-line error."""

import json

import numpy as np
import pytest
from conftest import TINY

from zoo.models import GAN, IGEGAN
from zoo.suite import METRIC_KEYS, SLOW_KEYS
from zoo.sweep import main
from zoo.training import checkpoint_manager

SMALL = ["--extractor", "domain", "--n-samples", "160", "--probe-train", "100", "--cache-dir"]


def _save_run(run_dir, model, family, dataset="fashion_mnist", steps=(1, 2)):
    """A run directory as the recipes write it, with untrained checkpoints at ``steps``."""
    model.compile()
    run_dir.mkdir()
    config = {"family": family, "name": family, "model": model.get_config()}
    config["settings"] = {"dataset": dataset}
    (run_dir / "config.json").write_text(json.dumps(config))
    manager = checkpoint_manager(model, run_dir)
    for step in steps:
        model.step.assign(step)
        manager.save(checkpoint_number=step)
    return run_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return _save_run(root / "ige", IGEGAN(**TINY), "ige_gan"), _save_run(
        root / "gan", GAN(**TINY), "gan", steps=(2,)
    )


def test_single_run_latest_writes_exactly_the_documented_keys(runs, tmp_path, capsys):
    ige, _ = runs
    out = tmp_path / "eval"
    slow = ["--slow", "--critic-steps", "2", "--ais-images", "2", "--ais-steps", "3", "--ais-chains", "2"]
    assert main(["--run", str(ige), "--out", str(out), *SMALL, str(tmp_path / "cache"), *slow]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert list(metrics) == list(METRIC_KEYS + SLOW_KEYS)
    assert metrics["n_samples"] == 160 and metrics["extractor"] == "domain"
    for key in ("fid_samples", "fid_reconstructions", "feature_l2", "psnr_mean", "knn_accuracy"):
        assert np.isfinite(metrics[key]), key
    assert 0 <= metrics["knn_accuracy_untrained"] <= 1
    assert set(metrics["latent_norm_ratio"]) == {"mean", "std"}
    assert metrics["ais_log_likelihood"]["n_images"] == 2
    assert metrics["ais_log_likelihood"]["reconstructions"] is not None
    rows = (out / "checkpoints.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[1].startswith("ige,2,")  # latest only: step 2
    for figure in ("fid_reconstructions_vs_feature_l2", "metrics_vs_step", "latent_norms", "psnr_vs_loglik"):
        assert (out / f"{figure}.png").stat().st_size > 1000, figure
    reference = json.loads((out / "reference.json").read_text())
    assert 0 < reference["fid_test_vs_train"] < metrics["fid_samples"]


def test_all_checkpoints_of_two_runs_with_and_without_an_encoder(runs, tmp_path):
    ige, gan = runs
    out = tmp_path / "both"
    args = ["--run", str(ige), "--run", str(gan), "--checkpoints", "all", "--out", str(out)]
    assert main([*args, *SMALL, str(tmp_path / "cache")]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"ige", "gan"}
    assert list(metrics["gan"]) == list(METRIC_KEYS)  # no --slow: no slow keys
    for key in ("fid_reconstructions", "feature_l2", "psnr_mean", "latent_norm_ratio", "knn_accuracy"):
        assert metrics["gan"][key] is None, key
    assert metrics["gan"]["knn_accuracy_untrained"] is None  # not applicable without an encoder: null
    assert metrics["gan"]["fid_samples"] > 0
    rows = (out / "checkpoints.csv").read_text().splitlines()
    assert [r.split(",")[:2] for r in rows[1:]] == [["ige", "1"], ["ige", "2"], ["gan", "2"]]
    best = (out / "best.md").read_text()
    # The best FID(P_X, P_G) row is truly the smallest of the CSV's.
    header = rows[0].split(",")
    fids = {
        (r.split(",")[0], r.split(",")[1]): float(r.split(",")[header.index("fid_samples")]) for r in rows[1:]
    }
    (run, step), value = min(fids.items(), key=lambda kv: kv[1])
    assert f"| fid_samples | {run} @{step}: {value:.4g}" in best


def test_bad_input_is_one_line_and_exit_1(runs, tmp_path, capsys):
    ige, _ = runs
    assert main(["--run", str(tmp_path / "nothing")]) == 1
    assert "is not a zoo run" in capsys.readouterr().err
    assert main(["--run", str(ige), "--run", str(ige)]) == 1
    assert "given twice" in capsys.readouterr().err
    cifar = _save_run(
        tmp_path / "cifar", IGEGAN(**{**TINY, "resolution": 32, "channels": 3}), "ige_gan", "cifar10", (1,)
    )
    assert main(["--run", str(cifar), "--extractor", "domain"]) == 1
    err = capsys.readouterr().err
    assert "domain extractor is trained on Fashion-MNIST" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as exit_info:
        main(["--run", str(ige), "--n-samples", "0"])
    assert exit_info.value.code == 2


def test_a_truncated_newest_checkpoint_is_skipped_and_a_run_without_intact_ones_is_one_line(tmp_path, capsys):
    run = _save_run(tmp_path / "ige", IGEGAN(**TINY), "ige_gan", steps=(1, 2))
    (newest,) = (run / "checkpoints").glob("ckpt-2.data-*")
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])
    out = tmp_path / "eval"
    assert main(["--run", str(run), "--out", str(out), *SMALL, str(tmp_path / "cache")]) == 0
    err = capsys.readouterr().err
    assert "warning: checkpoint" in err and "ckpt-2 is unreadable" in err
    rows = (out / "checkpoints.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[1].startswith("ige,1,")  # the newest intact one
    (oldest,) = (run / "checkpoints").glob("ckpt-1.data-*")
    oldest.write_bytes(b"\0" * oldest.stat().st_size)
    assert main(["--run", str(run), "--out", str(tmp_path / "eval2"), *SMALL, str(tmp_path / "cache")]) == 1
    (line,) = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert "no readable checkpoint" in line and "all 2 are damaged" in line
    assert not (tmp_path / "eval2").exists()  # no empty output directory left behind
