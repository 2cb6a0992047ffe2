"""``python recipes/mode_coverage.py``: the 2-D mode-coverage benchmark (seed 002 §4.1).

Every requested family is trained ``--trials`` times (seeds 0..trials-1) on 100 000
points of the ring of 8 or the grid of 25 Gaussians (``zoo.toy``) with the MLP networks
(``architecture="mlp"``), batch 100, Adam lr 1e-4, β1 0.8 as PacGAN, but for 10 000
steps by default where PacGAN trains 400 epochs (400 000 steps); 2 500 samples of each
trained generator are scored by ``zoo.toy.mode_statistics``. The table follows PacGAN Table 1: modes captured, % high
quality samples and reverse KL, each mean ± standard error over trials.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import time
from pathlib import Path

import numpy as np

from zoo.cli import run_main
from zoo.errors import ZooError
from zoo.files import write_text_atomic

# Family name -> constructor arguments beyond the shared ones (each family's defaults
# otherwise). Families whose networks or data do not fit 2-D points are not listed.
MODELS = {
    "gan": ("gan", {}),
    "bigan": ("bigan", {}),  # BiGAN / ALI
    "ige_gan": ("ige_gan", {"inversion": "x_ae"}),
    "mdgan": ("mdgan", {}),
    "p_mdgan": ("p_mdgan", {}),
    "alpha_gan": ("alpha_gan", {}),
    # σ starts at 1, as the committed results trained (the image default 0.1 is a pixel scale).
    "vae": ("vae", {"log_sigma_init": 0.0}),
    "wgan_gp": ("wgan_gp", {}),
    # Seed 002 §4.1 eq. 4: T(x) = x + t, t ~ N(0, Σ/2), with Σ = σ² I of the mixture.
    "ive_gan": ("ive_gan", lambda mix, data: {"transform": "shift", "shift_stddev": mix.std / math.sqrt(2)}),
    # Minibatches drawn by each point's latest PSNR(x, G(E(x))) (seed 004 §4).
    "ep_mdgan": ("ep_mdgan", lambda mix, data: {"num_examples": len(data)}),
}
DEFAULT_MODELS = "gan,bigan,ige_gan,mdgan"
# Reported by PacGAN (Lin et al. 2018, Table 1), for the README and the printed table.
PACGAN = {
    "ring": {"GAN": (6.3, 0.5, 98.2), "ALI": (6.6, 0.3, 97.6), "PacGAN4": (7.8, 0.1, 95.9)},
    "grid": {"GAN": (17.3, None, 94.8), "ALI": (24.1, None, 95.7)},
}


def build_parser() -> argparse.ArgumentParser:
    from zoo.recipe import positive_float, positive_int

    p = argparse.ArgumentParser(description="2-D mode-coverage benchmark (ring of 8 / grid of 25 Gaussians).")
    p.add_argument("--dataset", choices=("ring", "grid"), default="ring")
    p.add_argument("--models", default=DEFAULT_MODELS, help=f"comma list of {', '.join(MODELS)}")
    p.add_argument("--trials", type=positive_int, default=10)
    p.add_argument(
        "--steps", type=positive_int, default=10_000, help="training steps per trial (PacGAN: 400 000)"
    )
    p.add_argument("--batch-size", type=positive_int, default=100)
    p.add_argument("--latent-dim", type=positive_int, default=2)
    p.add_argument("--width", type=positive_float, default=1.0, help="hidden units = 128 x width")
    p.add_argument("--lr", type=positive_float, default=1e-4, help="Adam learning rate (PacGAN's)")
    p.add_argument("--beta1", type=positive_float, default=0.8, help="Adam β1 (PacGAN's)")
    p.add_argument("--seed", type=int, default=0, help="trial k uses seed + k")
    p.add_argument("--out", default=None, help="default: mode_coverage-<dataset>-<time>")
    return p


def parse_models(text: str) -> list[str]:
    names = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in names if m not in MODELS]
    if not names or unknown:
        raise ZooError(
            f"unknown model(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(MODELS)}"
        )
    if len(set(names)) != len(names):
        raise ZooError(f"a model is listed twice in --models {text}")
    return names


def run_trial(name: str, mix, data: np.ndarray, args, trial: int) -> tuple[dict, np.ndarray, float]:
    """Train one model from scratch; (statistics, 2 500 samples, training seconds)."""
    import keras

    from zoo.data import InMemoryBatches
    from zoo.models import family_class
    from zoo.toy import EVAL_SAMPLES, mode_statistics
    from zoo.training import fused_steps

    seed = args.seed + trial
    keras.utils.set_random_seed(seed)
    family, extra = MODELS[name]
    extra = extra(mix, data) if callable(extra) else extra
    model = family_class(family)(
        resolution=1,
        channels=2,
        latent_dim=args.latent_dim,
        width=args.width,
        seed=seed,
        architecture="mlp",
        **extra,
    )
    model.compile(learning_rate=args.lr, beta_1=args.beta1, beta_2=0.999)  # PacGAN's Adam for every family
    batch_size = args.batch_size * model.batches_per_step  # WGAN-GP: one batch per critic step
    if getattr(model, "sampler", None) is not None:  # EP-MDGAN: score every point, then draw by score
        model.score_all(data)
        batches = model.sampler.batches(data, batch_size, seed)
    else:
        batches = InMemoryBatches(data, batch_size, seed)
    t0 = time.perf_counter()
    model.fit_source(batches, args.steps, fused_steps(args.steps))
    seconds = time.perf_counter() - t0
    z = model.prior_samples(EVAL_SAMPLES, np.random.default_rng(10_000 + seed))
    samples = model.generator(z, training=False).numpy()
    if not np.all(np.isfinite(samples)):
        return (
            {"modes": 0, "high_quality": 0.0, "reverse_kl": float("nan"), "diverged": True},
            samples,
            seconds,
        )
    stats = mode_statistics(samples, mix)
    stats.pop("counts")
    return {**stats, "diverged": False}, samples, seconds


def mean_se(values: list[float]) -> tuple[float, float, int]:
    """Mean and standard error of the finite values, and how many there were."""
    finite = np.asarray([v for v in values if math.isfinite(v)], np.float64)
    if len(finite) == 0:
        return float("nan"), float("nan"), 0
    se = float(finite.std(ddof=1) / math.sqrt(len(finite))) if len(finite) > 1 else float("nan")
    return float(finite.mean()), se, len(finite)


def summarise(rows: list[dict], models: list[str]) -> list[dict]:
    out = []
    for name in models:
        mine = [r for r in rows if r["model"] == name]
        modes, hq, kl = (mean_se([r[k] for r in mine]) for k in ("modes", "high_quality", "reverse_kl"))
        out.append(
            {
                "model": name,
                "trials": len(mine),
                "modes": modes[0],
                "modes_se": modes[1],
                "high_quality_pct": 100 * hq[0],
                "high_quality_pct_se": 100 * hq[1],
                "reverse_kl": kl[0],
                "reverse_kl_se": kl[1],
                "reverse_kl_trials": kl[2],
                "seconds_per_trial": float(np.mean([r["seconds"] for r in mine])),
            }
        )
    return out


def _pm(mean: float, se: float, digits: int) -> str:
    if not math.isfinite(mean):
        return "n/a"
    return f"{mean:.{digits}f} ± {se:.{digits}f}" if math.isfinite(se) else f"{mean:.{digits}f}"


def markdown(summary: list[dict], dataset: str, modes: int) -> str:
    lines = [
        f"| {dataset} | modes (of {modes}) | high-quality samples (%) | reverse KL | trials | s / trial |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for s in summary:
        kl = _pm(s["reverse_kl"], s["reverse_kl_se"], 3)
        if s["reverse_kl_trials"] < s["trials"]:
            kl += f" ({s['reverse_kl_trials']} trials with any high-quality sample)"
        lines.append(
            f"| {s['model']} | {_pm(s['modes'], s['modes_se'], 1)} | "
            f"{_pm(s['high_quality_pct'], s['high_quality_pct_se'], 1)} | {kl} | {s['trials']} | "
            f"{s['seconds_per_trial']:.1f} |"
        )
    for ref, (m, se, hq) in PACGAN[dataset].items():
        lines.append(
            f"| PacGAN paper: {ref} | {m}{f' ± {se}' if se is not None else ''} | {hq} | — | 10 | — |"
        )
    return "\n".join(lines) + "\n"


def _scatter(samples: dict[str, np.ndarray], mix, path: Path) -> None:
    from zoo import plots

    plt = plots.plt
    fig, axes = plt.subplots(1, len(samples), figsize=(3 * len(samples), 3), squeeze=False)
    lim = 1.5 if mix.name == "ring" else 6.0
    for ax, (name, points) in zip(axes[0], samples.items()):
        ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.3, color="black")
        ax.scatter(mix.means[:, 0], mix.means[:, 1], s=12, color="red", marker="x")
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_title(name, fontsize=9)
    plots._save(fig, path)


def main(argv: list[str] | None = None) -> int:
    return run_main(build_parser(), _main, argv)


def _main(args) -> int:
    from zoo.toy import TRAIN_POINTS, mixture

    models = parse_models(args.models)
    mix = mixture(args.dataset)
    out = Path(args.out or f"mode_coverage-{args.dataset}-{time.strftime('%Y%m%d-%H%M%S')}")
    out.mkdir(parents=True, exist_ok=True)
    data = mix.sample(TRAIN_POINTS, seed=args.seed)
    t_start = time.perf_counter()
    rows, last_samples = [], {}
    for name in models:
        for trial in range(args.trials):
            stats, samples, seconds = run_trial(name, mix, data, args, trial)
            rows.append({"model": name, "trial": trial, **stats, "seconds": round(seconds, 2)})
            last_samples[name] = samples
            print(
                f"{args.dataset} {name} trial {trial + 1}/{args.trials}: modes {stats['modes']}, "
                f"high quality {100 * stats['high_quality']:.1f} %, reverse KL {stats['reverse_kl']:.3f} "
                f"({seconds:.1f} s)",
                flush=True,
            )
    summary = summarise(rows, models)
    table = markdown(summary, args.dataset, len(mix.means))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(out / "trials.csv", buffer.getvalue())
    write_text_atomic(out / "table.md", table)
    settings = {k: v for k, v in vars(args).items() if k != "out"}
    total = time.perf_counter() - t_start
    write_text_atomic(
        out / "summary.json",
        json.dumps({"settings": settings, "summary": summary, "seconds": total}, indent=2),
    )
    _scatter(last_samples, mix, out / "samples.png")
    print(table, end="")
    print(f"wrote {out}/table.md, trials.csv, summary.json, samples.png in {total:.0f} s")
    return 0
