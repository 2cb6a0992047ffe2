"""The papers' evaluation figures as PNG (matplotlib, no display needed).

- ``scatter_runs``: one metric against another over runs and checkpoints, one colour per
  run (seed 000 Fig. 2-3: FID(P_X, P_G(E(X))) and FID(P_X, P_G) against Inception-L2);
- ``metric_curves``: metrics against the training step, one line per run (Fig. 4-5);
- ``histograms``: latent-norm ratios ||E(x)|| / sqrt(d_z) against the prior's (seed 004 Fig. 1);
- ``psnr_loglik``: PSNR against log-likelihood per image (seed 004 Fig. 3);
- ``tuning_curves``: a metric against the step per search trial, one colour per λ (Fig. 5).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, path)
    return path


def scatter_runs(rows: list[dict], x: str, y: str, path: str | Path) -> Path | None:
    """Points (row[x], row[y]) coloured by row["run"]; None when no row has both values."""
    rows = [r for r in rows if r.get(x) is not None and r.get(y) is not None]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(5, 4))
    for run in dict.fromkeys(r["run"] for r in rows):
        mine = [r for r in rows if r["run"] == run]
        ax.scatter([r[x] for r in mine], [r[y] for r in mine], label=run, s=18)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def metric_curves(rows: list[dict], metrics: list[str], path: str | Path) -> Path | None:
    """One panel per metric (those with any value), value against row["step"] per run."""
    metrics = [m for m in metrics if any(r.get(m) is not None for r in rows)]
    if not metrics:
        return None
    cols = min(3, len(metrics))
    nrows = -(-len(metrics) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4 * cols, 3 * nrows), squeeze=False)
    for ax, metric in zip(axes.ravel(), metrics):
        for run in dict.fromkeys(r["run"] for r in rows):
            mine = sorted(
                (r["step"], r[metric]) for r in rows if r["run"] == run and r.get(metric) is not None
            )
            if mine:
                ax.plot(*zip(*mine), marker="o", ms=3, label=run)
        ax.set_title(metric, fontsize=9)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(metrics) :]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path)


def histograms(series: dict[str, np.ndarray], path: str | Path, xlabel: str = "||z|| / sqrt(d_z)") -> Path:
    """Overlaid density histograms on shared bins."""
    values = [np.asarray(v, np.float64).ravel() for v in series.values()]
    bins = np.linspace(min(v.min() for v in values), max(v.max() for v in values) + 1e-9, 50)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for name, v in zip(series, values):
        ax.hist(v, bins=bins, density=True, alpha=0.5, label=name)
    ax.set_xlabel(xlabel)
    ax.legend(fontsize=7)
    return _save(fig, path)


def psnr_loglik(points: dict[str, tuple[np.ndarray, np.ndarray]], path: str | Path) -> Path:
    """PSNR (x axis) against log-likelihood in nats (y axis), one colour per series."""
    fig, ax = plt.subplots(figsize=(5, 4))
    for name, (p, ll) in points.items():
        ax.scatter(p, ll, s=10, label=name)
    ax.set_xlabel("PSNR(x, G(E(x))) [dB]")
    ax.set_ylabel("log p [nats]")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def tuning_curves(trials: list[dict], metric: str, colour_by: str, path: str | Path) -> Path | None:
    """``metric`` against the step, one line per trial and one colour per value of the
    hyper-parameter ``colour_by`` (seed 000 Fig. 5: one colour per λ). Each trial is
    ``{"label", "values": {hp: value}, "curve": [{"step", metric, ...}]}``."""
    lines = [
        (t, sorted((p["step"], p[metric]) for p in t["curve"] if p.get(metric) is not None)) for t in trials
    ]
    lines = [(t, pts) for t, pts in lines if pts]
    if not lines:
        return None
    levels = list(dict.fromkeys(str(t["values"].get(colour_by)) for t, _ in lines))
    with contextlib.suppress(ValueError):  # numeric levels in increasing order
        levels.sort(key=float)
    colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, max(1, len(levels))))
    fig, ax = plt.subplots(figsize=(6, 4))
    for level in levels:
        mine = [pts for t, pts in lines if str(t["values"].get(colour_by)) == level]
        for i, pts in enumerate(mine):
            label = f"{colour_by} = {level}" if i == 0 else None
            ax.plot(*zip(*pts), marker="o", ms=3, color=colours[levels.index(level)], label=label, alpha=0.85)
    ax.set_xlabel("step")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, path)
