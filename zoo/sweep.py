"""``python recipes/evaluate.py``: the evaluation suite over runs and checkpoints.

For each ``--run DIR`` (any zoo run: its family and model are read from its
``config.json``) the chosen checkpoints are restored (networks only) and scored by
``zoo.suite.evaluate_model``. Output, all under ``--out`` (default ``RUN/evaluation``
for one run, ``evaluation-<time>`` for several):

- ``metrics.json``: exactly ``zoo.suite.METRIC_KEYS`` (+ ``SLOW_KEYS`` with ``--slow``)
  for the newest checkpoint of a single run; with several runs, ``metrics.json`` maps
  each run to its own;
- ``reference.json``: the same sample metrics for real test images (the target values);
- ``checkpoints.csv``: one row per (run, checkpoint) with every metric (seed 000 §4.1);
- ``best.md``: the best three rows per metric (lowest FIDs/feature-L2, highest scores,
  MS-SSIM diversity and latent-norm ratio nearest their real/prior reference);
- figures: ``fid_reconstructions_vs_feature_l2.png``, ``fid_samples_vs_feature_l2.png``
  (seed 000 Fig. 2-3), ``metrics_vs_step.png`` (Fig. 4-5), ``latent_norms.png`` (seed 004
  Fig. 1), and with ``--slow`` ``psnr_vs_loglik.png`` (seed 004 Fig. 3).
"""

from __future__ import annotations

import argparse
import csv
import io
import time
from pathlib import Path

import numpy as np

from zoo.cli import run_main
from zoo.errors import ZooError
from zoo.files import check_writable_dir, directory_lock, write_json, write_text_atomic

# Direction per metric for "best three": +1 higher is better, -1 lower is better,
# "ref" nearest the reference value (real data's diversity; the prior's norm ratio 1).
DIRECTIONS = {
    "fid_samples": -1,
    "fid_reconstructions": -1,
    "feature_l2": -1,
    "inception_score": 1,
    "ms_ssim_diversity": "ref",
    "precision": 1,
    "recall": 1,
    "density": 1,
    "coverage": 1,
    "psnr_mean": 1,
    "latent_norm_ratio": "ref",
    "knn_accuracy": 1,
    "linear_probe_accuracy": 1,
    "class_agreement": 1,
    "class_share_min": 1,
    "wasserstein_critic": 1,
    "ais_log_likelihood": 1,
}
CURVES = [
    "fid_samples",
    "fid_reconstructions",
    "feature_l2",
    "inception_score",
    "psnr_mean",
    "precision",
    "recall",
]


def build_parser() -> argparse.ArgumentParser:
    from zoo.recipe import positive_int
    from zoo.suite import EvalSettings

    d = EvalSettings()  # the suite's defaults are the flags' defaults
    p = argparse.ArgumentParser(description="Evaluate zoo runs with the evaluation suite (issue #4).")
    p.add_argument("--run", action="append", required=True, help="a run directory; repeat to compare runs")
    p.add_argument("--checkpoints", choices=("latest", "all"), default="latest")
    p.add_argument(
        "--extractor",
        choices=("domain", "inception"),
        default=None,
        help="default: inception when its weights are at hand (--inception-weights, $ZOO_INCEPTION_WEIGHTS "
        "or Keras' download cache), else domain (Fashion-MNIST only)",
    )
    p.add_argument(
        "--inception-weights",
        default=None,
        help="a local InceptionV3 weights file, or 'imagenet' to download",
    )
    p.add_argument("--slow", action="store_true", help="also the independent critic and AIS log-likelihood")
    p.add_argument(
        "--n-samples", type=positive_int, default=d.n_samples, help="samples and real images per metric"
    )
    p.add_argument(
        "--probe-train", type=positive_int, default=d.probe_train, help="labelled train images of the probes"
    )
    p.add_argument("--critic-steps", type=positive_int, default=d.critic_steps)
    p.add_argument("--ais-images", type=positive_int, default=d.ais_images)
    p.add_argument("--ais-sigma", type=float, default=d.ais_sigma, help="σ of p(x|z) = N(G(z), σ²I)")
    p.add_argument("--ais-chains", type=positive_int, default=d.ais_chains)
    p.add_argument("--ais-steps", type=positive_int, default=d.ais_steps, help="annealing temperatures")
    p.add_argument("--ais-leapfrog", type=positive_int, default=d.ais_leapfrog, help="HMC leapfrog steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="output directory (see the module docstring)")
    p.add_argument(
        "--cache-dir", default=None, help="real-data statistics cache (default ~/.cache/encoder-gan-zoo)"
    )
    return p


def flatten(metrics: dict) -> dict:
    """One scalar per column: latent_norm_ratio -> its mean (+ _std); the AIS dict ->
    the mean log-likelihood of test images (+ _reconstructions); the class histogram ->
    its smallest and largest share (``class_share_min`` / ``_max``)."""
    row = {}
    for key, value in metrics.items():
        if key == "class_histogram":
            row["class_share_min"] = value and min(value)
            row["class_share_max"] = value and max(value)
        elif key == "latent_norm_ratio":
            row[key] = value and value["mean"]
            row[key + "_std"] = value and value["std"]
        elif key == "ais_log_likelihood":
            row[key] = value and value["test_images"]["mean"]
            recon = value and value["reconstructions"]
            row[key + "_reconstructions"] = recon and recon["mean"]
        else:
            row[key] = value
    return row


def best_three(rows: list[dict], reference: dict) -> dict[str, list[dict]]:
    """The three best rows per metric (rows without the metric are skipped)."""
    targets = {"ms_ssim_diversity": reference.get("ms_ssim_diversity"), "latent_norm_ratio": 1.0}
    best = {}
    for metric, direction in DIRECTIONS.items():
        scored = [r for r in rows if r.get(metric) is not None]
        if not scored:
            continue
        if direction == "ref":
            key = lambda r, m=metric: abs(r[m] - targets[m])  # noqa: E731
        else:
            key = lambda r, m=metric, d=direction: -d * r[m]  # noqa: E731
        best[metric] = sorted(scored, key=key)[:3]
    return best


def csv_text(rows: list[dict]) -> str:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows([{k: ("" if r.get(k) is None else r[k]) for k in columns} for r in rows])
    return buffer.getvalue()


def best_markdown(best: dict[str, list[dict]]) -> str:
    lines = ["| metric | 1st | 2nd | 3rd |", "| --- | --- | --- | --- |"]
    for metric, rows in best.items():
        cells = [f"{r['run']} @{r['step']}: {r[metric]:.4g}" for r in rows]
        lines.append(f"| {metric} | " + " | ".join(cells + [""] * (3 - len(cells))) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    return run_main(build_parser(), _main, argv)


def _main(args) -> int:
    from zoo.extractors import choose_extractor
    from zoo.suite import EvalSettings, RealData, real_reference
    from zoo.training import load_run, run_checkpoints

    runs = [Path(r) for r in args.run]
    if len(set(r.resolve() for r in runs)) != len(runs):
        raise ZooError("a run is given twice")
    loaded = []  # (name, config, model, [(step, path)])
    for run_dir in runs:
        config, model = load_run(run_dir)
        checkpoints = run_checkpoints(run_dir, newest_only=args.checkpoints != "all")
        loaded.append((run_dir.name, config, model, checkpoints))
    datasets = {c["settings"]["dataset"] for _, c, _, _ in loaded}
    if len(datasets) > 1:
        raise ZooError(
            f"runs on different datasets cannot share one evaluation: {', '.join(sorted(datasets))}"
        )
    dataset = datasets.pop()
    if not args.ais_sigma > 0:
        raise ZooError(f"--ais-sigma must be > 0, got {args.ais_sigma}")
    settings = EvalSettings(
        n_samples=args.n_samples,
        probe_train=args.probe_train,
        slow=args.slow,
        critic_steps=args.critic_steps,
        ais_images=args.ais_images,
        ais_sigma=args.ais_sigma,
        ais_chains=args.ais_chains,
        ais_steps=args.ais_steps,
        ais_leapfrog=args.ais_leapfrog,
        seed=args.seed,
    )
    out = (
        Path(args.out)
        if args.out
        else (
            runs[0] / "evaluation" if len(runs) == 1 else Path(f"evaluation-{time.strftime('%Y%m%d-%H%M%S')}")
        )
    )
    check_writable_dir(out, "--out")
    extractor = choose_extractor(dataset, args.extractor, args.inception_weights)

    def real_data() -> tuple:
        t0 = time.perf_counter()
        real = RealData(dataset, extractor, settings, args.cache_dir)
        reference = real_reference(real)
        print(
            f"real data ready ({dataset}, {extractor.name}, n={settings.n_samples}) "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        return real, reference

    if out.exists():  # perhaps in use (a run evaluated into its own directory): refused first
        with directory_lock(out):
            return _evaluate_runs(out, loaded, *real_data())
    real, reference = real_data()  # nothing is created until the real data is ready
    with directory_lock(out):
        return _evaluate_runs(out, loaded, real, reference)


def _evaluate_runs(out: Path, loaded: list, real, reference: dict) -> int:
    """Score every chosen checkpoint and write the outputs into ``out`` (locked)."""
    from zoo import plots
    from zoo.suite import evaluate_model
    from zoo.training import restore_networks

    rows, latest, norms, loglik = [], {}, {}, {}
    for name, _, model, checkpoints in loaded:
        for step, path in checkpoints:
            t1 = time.perf_counter()
            restore_networks(model, path)
            metrics, arrays = evaluate_model(model, real)
            rows.append({"run": name, "step": step, **flatten(metrics)})
            shown = {
                k: rows[-1][k] for k in ("fid_samples", "fid_reconstructions", "feature_l2", "psnr_mean")
            }
            text = "  ".join(f"{k} {v:.4g}" for k, v in shown.items() if v is not None)
            print(f"{name} step {step}: {text}  ({time.perf_counter() - t1:.1f} s)", flush=True)
        latest[name] = metrics
        if "latent_norm_ratio" in arrays:
            norms[f"{name}: ||E(x)||/sqrt(d)"] = arrays["latent_norm_ratio"]
        if "log_likelihood_reconstructions" in arrays:
            count = len(arrays["log_likelihood"])
            loglik[f"{name}: x"] = (arrays["psnr"][:count], arrays["log_likelihood"])
            loglik[f"{name}: G(E(x))"] = (arrays["psnr"][:count], arrays["log_likelihood_reconstructions"])
    write_json(out / "metrics.json", latest[loaded[0][0]] if len(loaded) == 1 else latest, sort_keys=False)
    write_json(out / "reference.json", reference, sort_keys=False)
    write_text_atomic(out / "checkpoints.csv", csv_text(rows))
    best = best_three(rows, reference)
    write_text_atomic(out / "best.md", best_markdown(best))
    figures = [
        plots.scatter_runs(
            rows, "feature_l2", "fid_reconstructions", out / "fid_reconstructions_vs_feature_l2.png"
        ),
        plots.scatter_runs(rows, "feature_l2", "fid_samples", out / "fid_samples_vs_feature_l2.png"),
        plots.metric_curves(rows, CURVES + ["wasserstein_critic"], out / "metrics_vs_step.png"),
    ]
    if norms:
        prior = np.linalg.norm(loaded[0][2].prior_samples(10_000, np.random.default_rng(0)), axis=1)
        norms["prior: ||z||/sqrt(d)"] = prior / np.sqrt(loaded[0][2].latent_dim)
        figures.append(plots.histograms(norms, out / "latent_norms.png"))
    if loglik:
        figures.append(plots.psnr_loglik(loglik, out / "psnr_vs_loglik.png"))
    print(best_markdown(best), end="")
    print(
        f"wrote {out}/metrics.json, reference.json, checkpoints.csv, best.md and "
        f"{', '.join(Path(f).name for f in figures if f is not None)}"
    )
    return 0
