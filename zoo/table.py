"""The zoo table (issue #17): every family trained at one preset, scored by the
evaluation suite, the papers' claims and the zoo's bar checked from the numbers.

``python recipes/zoo_table.py`` drives it. Layout:

- ``RUNS/<entry>-seed<S>/``: the recipe's run directory (checkpoints, grids), trained by
  the family's own recipe in a subprocess (``--no-export``), resumed with ``--resume``
  when interrupted; ``table_time.json`` there sums the wall time of every invocation;
- ``OUT/evals/<entry>-seed<S>.json``: the scored run (suite metrics, latent recovery,
  wall time, the run's config and the commit that trained it) and ``.png`` (8 samples,
  then 4 test images each followed by its reconstruction);
- ``OUT/zoo_table.md`` / ``.csv``, ``OUT/montage.png``: rebuilt from ``OUT/evals`` after
  every run, so the table of a half-finished job is always current.

A finished (entry, seed) is never retrained. One whose stored config differs from what
its recipe plans now (a default changed) is stale: its evaluation and run directory are
moved aside (``evals/stale/``, ``<run>.stale-N``), never deleted, and it is retrained.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from zoo.errors import ZooError
from zoo.files import write_json, write_text_atomic
from zoo.legacy import LEGACY_MODEL_DEFAULTS

ROOT = Path(__file__).resolve().parents[1]


@dataclasses.dataclass(frozen=True)
class Entry:
    """One row of the table: ``recipes/train_<recipe>.py`` run with ``flags``."""

    recipe: str
    flags: tuple[str, ...] = ()


INVERSIONS = ("x_ae", "z_ae", "x_adv", "z_adv")
# IVE-GAN's T at a quarter of seed 002's ranges (shifts up to 1 pixel, rotations up to 5°),
# shifted by whole pixels ("IVE-GAN's T" in the README)
SMALL_IVE_TRANSFORM = ("--transform-scale", "0.25", "--shift-interpolation", "nearest")
# seed 002's T (Keras' sub-pixel shifts) and D' a head on the shared D_enc: IVE-GAN's default
# before the zoo table measured the small T with a separate D'
PAPER_IVE = (
    "--transform-scale",
    "1",
    "--shift-interpolation",
    "bilinear",
    "--sample-discriminator",
    "shared",
)
ENTRIES: dict[str, Entry] = {
    "gan": Entry("gan"),
    "dcgan": Entry("dcgan"),
    "wgan_gp": Entry("wgan_gp"),
    "vae": Entry("vae"),
    **{f"ige_gan_{i}": Entry("ige_gan", ("--inversion", i)) for i in INVERSIONS},
    "bigan": Entry("bigan", ("--variant", "bigan")),
    **{f"bigan_{i}": Entry("bigan", ("--variant", f"bigan_{i}")) for i in INVERSIONS},
    "mdgan": Entry("bigan", ("--variant", "mdgan")),
    "p_mdgan": Entry("bigan", ("--variant", "p_mdgan")),
    "ep_mdgan": Entry("bigan", ("--variant", "ep_mdgan")),
    # keras' projection spectral norm, the default before the table measured Miyato et
    # al.'s (seed 000 A.3.2's) better on these two rows.
    "gan_sn_projection": Entry("gan", ("--spectral-norm", "projection")),
    "bigan_sn_projection": Entry("bigan", ("--variant", "bigan", "--spectral-norm", "projection")),
    # seed 000 A.3.2's joint D (z at every layer) against late fusion: both measured with
    # the projection spectral norm (bigan_sn_projection is their late-fusion row).
    "bigan_every_layer": Entry(
        "bigan", ("--variant", "bigan", "--joint-fusion", "every_layer", "--spectral-norm", "projection")
    ),
    "bigan_x_ae_every_layer": Entry(
        "bigan", ("--variant", "bigan_x_ae", "--joint-fusion", "every_layer", "--spectral-norm", "projection")
    ),
    # Levers issue #17 names, each against its family's default row.
    "bigan_joint_dropout": Entry("bigan", ("--variant", "bigan", "--joint-dropout", "0.2")),  # ALI's D
    "bigan_encoder_bn": Entry("bigan", ("--variant", "bigan", "--encoder-norm", "batch")),  # BiGAN's, ALI's E
    # both at once, as in ALI (BN in E, dropout 0.2 in the joint D; Dumoulin et al. App. A)
    "bigan_ali": Entry("bigan", ("--variant", "bigan", "--encoder-norm", "batch", "--joint-dropout", "0.2")),
    # BigBiGAN's discriminator (Donahue & Simonyan 2019 §2): s_x, s_z and s_xz, each trained
    "bigan_separate_scores": Entry("bigan", ("--variant", "bigan", "--joint-scores", "separate")),
    # parameter-free batch norm before E's output layer (Donahue et al. C.1's E has it on
    # its last hidden layer): against the encoder collapse (benchmarks/encoder_codes.py)
    "bigan_feature_bn": Entry("bigan", ("--variant", "bigan", "--encoder-feature-norm", "batch")),
    # ... with a bilinear pairing term f_zᵀ W f_x in the joint D (Miyato & Koyama 2018)
    "bigan_feature_bn_bilinear": Entry(
        "bigan", ("--variant", "bigan", "--encoder-feature-norm", "batch", "--joint-fusion", "late_bilinear")
    ),
    # seed 000's z_adv game, without the cycle critic the table chose as z_adv's default
    "ige_gan_z_adv_no_d3": Entry("ige_gan", ("--inversion", "z_adv", "--cycle-critic-weight", "0")),
    "ige_gan_z_adv_ttur": Entry(  # a faster D2
        "ige_gan", ("--inversion", "z_adv", "--cycle-critic-weight", "0", "--lr-ratio", "d2=10")
    ),
    # ALICE's latent cycle critic D3 on (z, z') pairs, for z_adv's pairing problem
    "ige_gan_z_adv_alice": Entry("ige_gan", ("--inversion", "z_adv", "--cycle-critic-weight", "1")),
    "bigan_z_adv_alice": Entry("bigan", ("--variant", "bigan_z_adv", "--cycle-critic-weight", "1")),
    # λ_c 5 on BiGAN + Z-adv, whose G (trained with E) keeps more of z than IGE-GAN's
    "bigan_z_adv_alice_5": Entry("bigan", ("--variant", "bigan_z_adv", "--cycle-critic-weight", "5")),
    "ige_gan_z_adv_alice_10": Entry("ige_gan", ("--inversion", "z_adv", "--cycle-critic-weight", "10")),
    # ... spectrally normalised (ALAD's D_zz): D3 cannot score the exact equality z' = z sharply
    "ige_gan_z_adv_alice_sn": Entry(
        "ige_gan", ("--inversion", "z_adv", "--cycle-critic-weight", "1", "--cycle-critic-norm", "spectral")
    ),
    # a projection term f_zᵀ W f_x in D2 (Miyato & Koyama 2018): a direct score of the pairing
    "ige_gan_z_adv_bilinear": Entry(
        "ige_gan", ("--inversion", "z_adv", "--cycle-critic-weight", "0", "--joint-fusion", "late_bilinear")
    ),
    # seed 000 A.2's N(0, I) sampling prior, the default before the mixture prior
    "vae_gaussian_prior": Entry("vae", ("--prior", "gaussian", "--steps", "5000")),
    # the default before that: σ starts at 1
    "vae_sigma_1": Entry("vae", ("--log-sigma-init", "0", "--prior", "gaussian", "--steps", "5000")),
    "alpha_gan": Entry("alpha_gan"),
    # the default before the table measured seed 001 Table 2's rate (5e-4) at 2 000 steps
    "alpha_gan_lr_2e-4": Entry("alpha_gan", ("--lr", "2e-4", "--steps", "5000")),
    # seed 001 Table 2's D and C rate (5e-4) against E and G at the old cpu preset's 2e-4
    "alpha_gan_paper_dc_rate": Entry(
        "alpha_gan", ("--lr", "2e-4", "--steps", "5000", "--lr-ratio", "d=2.5", "--lr-ratio", "c=2.5")
    ),
    # the largest λ of seed 001 H.1's grid {1, 5, 10, 50}, for E's 1-NN (0.744 at λ 10)
    "alpha_gan_lambda_50": Entry("alpha_gan", ("--lambda", "50")),
    # between λ 10 (the default; seed 0: 1-NN 0.753, FID 12.7) and λ 50 (0.768, FID 47.0)
    "alpha_gan_lambda_20": Entry("alpha_gan", ("--lambda", "20")),
    "age": Entry("age"),
    # the default before the table measured λ_x 30 at 2 000 steps: seed 001 H.1's smallest
    # λ_x at the 5 000 steps of the other families' cpu preset
    "age_lambda_100": Entry("age", ("--lambda", "100", "--steps", "5000")),
    "ive_gan": Entry("ive_gan"),
    # the small T with App. B's D' (a head on the shared D_enc)
    "ive_gan_small_transform": Entry("ive_gan", (*SMALL_IVE_TRANSFORM, "--sample-discriminator", "shared")),
    # seed 002's U(-1, 1) prior with a tanh-ended encoder, against the zoo's N(0, I) (paper's T)
    "ive_gan_uniform": Entry("ive_gan", ("--prior", "uniform", *PAPER_IVE)),
    # D' as its own SN-DCGAN discriminator, with the paper's T
    "ive_gan_separate_d": Entry(
        "ive_gan",
        ("--transform-scale", "1", "--shift-interpolation", "bilinear", "--sample-discriminator", "separate"),
    ),
}

# Metrics of a table row: key in the evaluation -> column title.
COLUMNS = {
    "fid_samples": "FID(P_X,P_G)",
    "fid_reconstructions": "FID(P_X,P_G(E(X)))",
    "feature_l2": "feature-L2",
    "psnr_mean": "PSNR dB",
    "psnr_random_pair": "random-pair PSNR dB",
    "class_agreement": "class agreement",
    "knn_accuracy": "1-NN acc. E(x)",
    "knn_accuracy_untrained": "1-NN untrained E",
    "latent_norm_ratio": "‖E(x)‖/√d_z",
    "class_share_min": "min class share",
    "class_share_max": "max class share",
    "recall": "recall",
    "latent_recovery": "latent recovery",
    "train_wall_s": "wall s",
}


# ------------------------------------------------------------------ the claims
@dataclasses.dataclass(frozen=True)
class Claim:
    """A claim of the papers, decided by ``check(means)`` on the per-entry means.

    ``check`` returns (verdict, the numbers it compared as text); ``entries`` must all
    be in the table for a verdict, else it is None ("not measured")."""

    name: str
    source: str
    entries: tuple[str, ...]
    check: Callable[[dict], tuple[bool, str]]


def _m(means: dict, entry: str, key: str) -> float:
    value = means[entry].get(key)
    if value is None:
        raise ZooError(f"the claim needs {key} of {entry}, which is not measured")
    return value


def _claim_x_ae_beats_bigan(means):
    pb, px = _m(means, "bigan", "psnr_mean"), _m(means, "bigan_x_ae", "psnr_mean")
    fb, fx = _m(means, "bigan", "fid_reconstructions"), _m(means, "bigan_x_ae", "fid_reconstructions")
    return px > pb and fx < fb, f"PSNR {px:.2f} vs {pb:.2f} dB; FID(recon) {fx:.2f} vs {fb:.2f}"


def _claim_z_ae_matches_bigan(means):
    keys = ("fid_samples", "fid_reconstructions", "feature_l2")
    pairs = [(_m(means, "ige_gan_z_ae", k), _m(means, "bigan", k)) for k in keys]
    text = "; ".join(f"{k} {a:.2f} vs {b:.2f}" for k, (a, b) in zip(keys, pairs))
    return all(a <= b for a, b in pairs), text


def _claim_x_ae_extremes(means):
    names = [f"ige_gan_{i}" for i in INVERSIONS]
    fid = {n: _m(means, n, "fid_samples") for n in names}
    l2 = {n: _m(means, n, "feature_l2") for n in names}
    rec = {n: _m(means, n, "fid_reconstructions") for n in names}
    best = "ige_gan_x_ae"
    holds = fid[best] == min(fid.values()) and l2[best] == min(l2.values()) and rec[best] == max(rec.values())
    show = lambda d: ", ".join(f"{n[8:]} {v:.2f}" for n, v in d.items())  # noqa: E731
    return holds, f"FID(P_G): {show(fid)}; feature-L2: {show(l2)}; FID(recon): {show(rec)}"


def _claim_p_mdgan_norm(means):
    ratio = _m(means, "p_mdgan", "latent_norm_ratio")
    return abs(ratio - 1.0) <= 0.1, f"‖E(x)‖/√d_z {ratio:.3f}"


def _claim_ep_recall(means):
    ep, md = _m(means, "ep_mdgan", "recall"), _m(means, "mdgan", "recall")
    return ep >= md, f"recall {ep:.3f} vs {md:.3f}"


def _claim_bigan_knn(means):
    b, z = _m(means, "bigan", "knn_accuracy"), _m(means, "ige_gan_z_ae", "knn_accuracy")
    text = f"1-NN {b:.3f} vs {z:.3f}"
    b0, z0 = means["bigan"].get("knn_accuracy_untrained"), means["ige_gan_z_ae"].get("knn_accuracy_untrained")
    if b0 is not None and z0 is not None:  # context only: the verdict is the claim's
        text += f" (their untrained encoders: {b0:.3f} vs {z0:.3f})"
    return abs(b - z) <= 0.05, text


CLAIMS = (
    Claim(
        "BiGAN + X-AE reconstructs better than BiGAN (PSNR and FID(P_X,P_G(E(X))))",
        "seed 000 §5",
        ("bigan", "bigan_x_ae"),
        _claim_x_ae_beats_bigan,
    ),
    Claim(
        "GAN + Z-AE is at least as good as BiGAN on FID(P_G), FID(recon) and feature-L2",
        "seed 000 §5",
        ("ige_gan_z_ae", "bigan"),
        _claim_z_ae_matches_bigan,
    ),
    Claim(
        "Among the GAN + loss models X-AE has the best FID(P_G) and feature-L2, the worst FID(recon)",
        "seed 000 §4.1",
        tuple(f"ige_gan_{i}" for i in INVERSIONS),
        _claim_x_ae_extremes,
    ),
    Claim("P-MDGAN's ‖E(x)‖/√d_z is within 0.1 of 1", "seed 004 Fig. 1", ("p_mdgan",), _claim_p_mdgan_norm),
    Claim("EP-MDGAN's recall ≥ MDGAN's", "seed 004 §5", ("ep_mdgan", "mdgan"), _claim_ep_recall),
    Claim(
        "BiGAN's 1-NN accuracy on E(x) is within 5 points of GAN + Z-AE's",
        "seed 003 Table 1",
        ("bigan", "ige_gan_z_ae"),
        _claim_bigan_knn,
    ),
)
# Entries trained over every seed of --seeds by default: those the claims name, and the
# z_adv models whose latent recovery must hold per seed.
MULTI_SEED = tuple(dict.fromkeys([e for c in CLAIMS for e in c.entries] + ["ige_gan_z_adv", "bigan_z_adv"]))


def decide_claims(means: dict) -> list[dict]:
    """Each claim's verdict (True / False / None when an entry is missing) and numbers."""
    out = []
    for claim in CLAIMS:
        row = {"claim": claim.name, "source": claim.source, "verdict": None, "numbers": ""}
        missing = [e for e in claim.entries if e not in means]
        if missing:
            row["numbers"] = f"not measured: {', '.join(missing)}"
        else:
            try:
                verdict, row["numbers"] = claim.check(means)
                row["verdict"] = bool(verdict)
            except ZooError as err:
                row["numbers"] = str(err)
        out.append(row)
    return out


# ----------------------------------------------------------------- the zoo's bar
MAX_WALL_S = 15 * 60


def _bigan_variant(spec: Entry) -> str | None:
    """The ``--variant`` of a BiGAN-recipe entry (None for other recipes)."""
    if spec.recipe != "bigan" or "--variant" not in spec.flags:
        return None
    return spec.flags[spec.flags.index("--variant") + 1]


# Plain BiGAN, whatever its networks (levers included): 50 % class agreement.
PLAIN_BIGAN = tuple(e for e, spec in ENTRIES.items() if _bigan_variant(spec) == "bigan")
# BiGAN and BiGAN + an adversarial loss: + 2 dB (Donahue's BiGAN after 25 epochs).
LOW_PSNR_MARGIN = tuple(
    e for e, spec in ENTRIES.items() if _bigan_variant(spec) in ("bigan", "bigan_x_adv", "bigan_z_adv")
)
# Every row trained with the Z-adversarial loss (IGE-GAN's or BiGAN's), levers included.
Z_ADV = tuple(e for e, spec in ENTRIES.items() if "z_adv" in spec.flags or "bigan_z_adv" in spec.flags)


def requirements(entry: str, means: dict, per_seed: list[dict], gan_fid: float | None) -> list[str]:
    """The section-2 bar of issue #17 that ``entry`` misses, one text per failure
    (empty: it meets every bar that applies). ``means`` are its mean metrics,
    ``per_seed`` its runs, ``gan_fid`` the GAN's mean FID(P_X, P_G)."""
    fails = []

    def need(ok: bool | None, text: str) -> None:
        if ok is None:
            fails.append(f"{text}: not measured")
        elif not ok:
            fails.append(text)

    walls = [r.get("train_wall_s") for r in per_seed]
    if walls and all(w is not None for w in walls):
        need(max(walls) <= MAX_WALL_S, f"wall time {max(walls):.0f} s > {MAX_WALL_S} s")
    fid = means.get("fid_samples")
    factor = 4.0 if entry in ENTRIES and ENTRIES[entry].recipe == "vae" else 2.0  # VAE rows: 4×
    if entry != "gan":
        if fid is None or gan_fid is None:
            need(None, "FID(P_G) vs the GAN's")
        else:
            need(fid <= factor * gan_fid, f"FID(P_G) {fid:.2f} > {factor:g}× the GAN's {gan_fid:.2f}")
    lo, hi = means.get("class_share_min"), means.get("class_share_max")
    if lo is None or hi is None:
        need(None, "class shares")
    else:
        need(lo >= 0.03 and hi <= 0.25, f"class shares {lo:.1%}–{hi:.1%} outside 3 %–25 %")
    if means.get("psnr_mean") is None:  # no encoder: the sample bar only
        return fails
    margin = 2.0 if entry in LOW_PSNR_MARGIN else 4.0
    psnr, base = means["psnr_mean"], means["psnr_random_pair"]
    need(psnr >= base + margin, f"PSNR {psnr:.2f} dB < random pair {base:.2f} + {margin:g} dB")
    floor = 0.5 if entry in PLAIN_BIGAN else 0.6
    agree = means.get("class_agreement")
    need(None if agree is None else agree >= floor, f"class agreement {agree or 0:.1%} < {floor:.0%}")
    knn = means.get("knn_accuracy")
    need(None if knn is None else knn >= 0.75, f"1-NN {knn or 0:.3f} < 0.75")
    if entry in Z_ADV:
        for r in per_seed:
            value = r.get("latent_recovery")
            need(
                None if value is None else value <= 1.0,
                f"latent recovery {value or 0:.2f} > 1.0 (seed {r['seed']})",
            )
    return fails


# ------------------------------------------------------------------ aggregation
def row_metrics(evaluation: dict) -> dict:
    """The table's scalars of one evaluated run (None where the family has no such metric)."""
    m = evaluation.get("metrics") or {}
    hist = m.get("class_histogram")
    ratio = m.get("latent_norm_ratio")
    return {
        "fid_samples": m.get("fid_samples"),
        "fid_reconstructions": m.get("fid_reconstructions"),
        "feature_l2": m.get("feature_l2"),
        "psnr_mean": m.get("psnr_mean"),
        "psnr_random_pair": m.get("psnr_random_pair"),
        "class_agreement": m.get("class_agreement"),
        "knn_accuracy": m.get("knn_accuracy"),
        "knn_accuracy_untrained": m.get("knn_accuracy_untrained"),
        "latent_norm_ratio": ratio and ratio["mean"],
        "class_share_min": hist and min(hist),
        "class_share_max": hist and max(hist),
        "recall": m.get("recall"),
        "latent_recovery": evaluation.get("latent_recovery"),
        "train_wall_s": evaluation.get("train_wall_s"),
        "seed": evaluation.get("seed"),
    }


def aggregate(evaluations: Sequence[dict]) -> dict[str, dict]:
    """entry -> {"runs": [row_metrics...], "mean": {...}, "std": {...}, "diverged": [...]}."""
    table: dict[str, dict] = {}
    for ev in evaluations:
        slot = table.setdefault(ev["entry"], {"runs": [], "diverged": []})
        if ev.get("diverged"):
            slot["diverged"].append(f"seed {ev['seed']}: {ev['diverged']}")
            continue
        slot["runs"].append(row_metrics(ev))
    for slot in table.values():
        slot["mean"], slot["std"] = {}, {}
        for key in COLUMNS:
            values = [r[key] for r in slot["runs"] if r.get(key) is not None]
            slot["mean"][key] = float(np.mean(values)) if values else None
            slot["std"][key] = float(np.std(values)) if len(values) > 1 else None
    return table


def _cell(mean, std, key: str) -> str:
    if mean is None:
        return "–"
    if key in ("class_agreement", "class_share_min", "class_share_max"):
        text, s = f"{100 * mean:.1f} %", std and f"{100 * std:.1f}"
    elif key == "train_wall_s":
        text, s = f"{mean:.0f}", std and f"{std:.0f}"
    else:
        text, s = f"{mean:.3g}" if abs(mean) >= 10 else f"{mean:.3f}", std and f"{std:.2g}"
    return f"{text} ± {s}" if s is not None else text


def report(evaluations: Sequence[dict], stale: dict[str, list[str]] | None = None) -> tuple[str, str, dict]:
    """(markdown, csv, summary) of the evaluated runs: the table, each entry's misses of
    the section-2 bar, the claims' verdicts. ``stale``: run name -> how its config differs
    from today's defaults (``stale_runs``); those rows are marked until retrained."""
    stale = stale or {}
    table = aggregate(evaluations)
    order = [e for e in ENTRIES if e in table] + sorted(set(table) - set(ENTRIES))
    means = {e: table[e]["mean"] for e in order if table[e]["runs"]}
    gan_fid = means.get("gan", {}).get("fid_samples")
    claims = decide_claims(means)
    misses = {
        e: (
            requirements(e, table[e]["mean"], table[e]["runs"], gan_fid) if table[e]["runs"] else ["diverged"]
        )
        for e in order
    }
    head = ["family", "seeds", *COLUMNS.values(), "meets the bar"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    csv_rows = [["family", "seed", *COLUMNS]]
    for e in order:
        slot = table[e]
        seeds = ",".join(str(r["seed"]) for r in slot["runs"]) or "–"
        cells = [_cell(slot["mean"][k], slot["std"][k], k) for k in COLUMNS]
        verdict = "yes" if not misses[e] else "no: " + "; ".join(misses[e])
        if slot["diverged"]:
            verdict += " (diverged: " + "; ".join(slot["diverged"]) + ")"
        old = [f"{n}: {', '.join(c)}" for n, c in stale.items() if n.rsplit("-seed", 1)[0] == e]
        if old:
            verdict = "**stale**, trained before the defaults changed (" + "; ".join(old) + "); " + verdict
        lines.append("| " + " | ".join([e, seeds, *cells, verdict]) + " |")
        for r in slot["runs"]:
            csv_rows.append([e, r["seed"], *("" if r[k] is None else f"{r[k]:.6g}" for k in COLUMNS)])
    held = sum(1 for c in claims if c["verdict"])
    decided = sum(1 for c in claims if c["verdict"] is not None)
    lines += ["", f"## Claims ({held} of {len(claims)} hold; {decided} decided)", ""]
    lines += [
        "| # | claim | source | verdict | numbers (means over seeds) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for i, c in enumerate(claims, 1):
        verdict = {True: "holds", False: "does not hold", None: "not measured"}[c["verdict"]]
        lines.append(f"| {i} | {c['claim']} | {c['source']} | {verdict} | {c['numbers']} |")
    csv_text = "\n".join(",".join(str(v) for v in row) for row in csv_rows) + "\n"
    if stale:
        lines += ["", f"Stale rows (retrained by the next table run): {', '.join(sorted(stale))}."]
    summary = {"claims": claims, "misses": misses, "claims_held": held, "stale": stale}
    return "\n".join(lines) + "\n", csv_text, summary


# ------------------------------------------------------------------- the runs
def run_name(entry: str, seed: int) -> str:
    return f"{entry}-seed{seed}"


def recipe_argv(
    entry: str, seed: int, run_dir: Path, preset: str, dataset: str, extra: Sequence[str] = ()
) -> list[str]:
    """The flags of a new run of ``entry`` (the recipe's own defaults, no export)."""
    return [
        *ENTRIES[entry].flags,
        "--dataset",
        dataset,
        "--preset",
        preset,
        "--seed",
        str(seed),
        "--out",
        str(run_dir),
        "--no-export",
        *extra,
    ]


def planned_config(entry: str, argv: list[str]) -> dict:
    """The (family, model, settings) the recipe would train now for ``argv``: nothing is written.
    Computed once per process for each (entry, argv, ``$ZOO_FASHION_MNIST_DIR``): it
    builds the model, and a table run re-checks every evaluated run after each run it
    trains. (Edits to recipes or data files within one process are not seen.)"""
    from zoo.data import FASHION_MNIST_ENV

    return copy.deepcopy(_planned_config(entry, tuple(argv), os.environ.get(FASHION_MNIST_ENV)))


@functools.cache
def _planned_config(entry: str, argv: tuple[str, ...], source: str | None) -> dict:
    argv = list(argv)
    from zoo.recipe import build_parser, given_family_flags, prepare
    from zoo.tuning import load_recipe

    recipe = load_recipe(ENTRIES[entry].recipe)
    parser = build_parser(recipe)
    args = parser.parse_args(argv)
    args.given_family_flags = given_family_flags(recipe, argv)
    plan = prepare(recipe, args, parser)
    from zoo.models import family_class

    # The model's full config (its constructor's defaults included), as a run stores it.
    model = family_class(plan.family).from_config(plan.model_config)
    return {"family": plan.family, "model": model.get_config(), "settings": plan.settings}


def unused_keys(entry: str) -> tuple[str, ...]:
    """The model keys ``entry``'s family ignores (its recipe's ``unused_flags``): a change
    of their default does not make its runs stale."""
    from zoo.tuning import load_recipe

    return tuple(load_recipe(ENTRIES[entry].recipe).unused_flags)


def config_changes(stored: dict, planned: dict, ignore: Sequence[str] = ()) -> list[str]:
    """The model keys and settings in which a stored run config differs from what
    ``planned`` would train, as ``key stored -> planned`` texts; none: the same run. Keras'
    auto-generated model name and the keys in ``ignore`` (which the family does not use)
    are not compared; values compare through JSON so tuples and lists compare equal. A
    legacy key missing from a config takes its legacy value where the other config has
    that key."""
    keys = set(stored["model"]) | set(planned["model"])
    legacy = {k: v for k, v in LEGACY_MODEL_DEFAULTS.items() if k in keys}

    def as_json(config):
        model = {**legacy, **config["model"]}
        for key in ("name", *ignore):
            model.pop(key, None)
        return json.loads(json.dumps({"model": model, "settings": config["settings"]}))

    a, b = as_json(stored), as_json(planned)
    return [
        f"{key} {a[part].get(key, '–')} -> {b[part].get(key, '–')}"
        for part in ("model", "settings")
        for key in sorted(set(a[part]) | set(b[part]))
        if a[part].get(key) != b[part].get(key)
    ]


def same_config(stored: dict, planned: dict, ignore: Sequence[str] = ()) -> bool:
    """Whether a stored run config trains what ``planned`` would (``config_changes``)."""
    return not config_changes(stored, planned, ignore)


def stale_runs(evaluations: Sequence[dict]) -> dict[str, list[str]]:
    """Run name -> how its config differs from what its entry trains today, for each
    evaluated run of a known entry that a table run would retrain."""
    out = {}
    for ev in evaluations:
        if ev["entry"] not in ENTRIES or ev.get("diverged"):
            continue
        s = ev["config"]["settings"]
        argv = recipe_argv(ev["entry"], ev["seed"], Path("unused"), s["preset"], s["dataset"])
        changes = config_changes(ev["config"], planned_config(ev["entry"], argv), unused_keys(ev["entry"]))
        if changes:
            out[run_name(ev["entry"], ev["seed"])] = changes
    return out


def _aside(path: Path, stale_dir: Path | None = None) -> Path:
    """Move ``path`` out of the way (never delete): ``<path>.stale-N`` or into ``stale_dir``."""
    for n in range(1, 10_000):
        target = (
            (stale_dir / f"{path.stem}.stale-{n}{path.suffix}")
            if stale_dir
            else path.with_name(f"{path.name}.stale-{n}")
        )
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
            return target
    raise ZooError(f"cannot move {path} aside: 9999 stale copies exist")


def trained(run_dir: Path) -> bool:
    """Whether the run finished its planned steps (its metrics.json says so)."""
    try:
        config = json.loads((run_dir / "config.json").read_text())
        metrics = json.loads((run_dir / "metrics.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return metrics.get("steps") == config["settings"]["steps"]


def train(entry: str, seed: int, run_dir: Path, argv: list[str], log) -> str | None:
    """Train (or resume) one run in a subprocess of its recipe; the wall time of each
    invocation is added to ``run_dir/table_time.json``. Returns None, or the divergence
    message (recipe exit 3). Any other failure raises ``ZooError`` with its last line."""
    script = ROOT / "recipes" / f"train_{ENTRIES[entry].recipe}.py"
    resume = (run_dir / "checkpoints").is_dir() and (run_dir / "config.json").is_file()
    command = [
        sys.executable,
        str(script),
        *(["--resume", "--out", str(run_dir), "--no-export"] if resume else argv),
    ]
    log(f"{run_name(entry, seed)}: {'resuming' if resume else 'training'}: {' '.join(command[1:])}")
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(run_dir.parent / f"{run_dir.name}.log", "a") as out:
        proc = subprocess.run(command, stdout=out, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        out.write(proc.stderr)
    seconds = time.perf_counter() - t0
    if run_dir.is_dir():
        times_path = run_dir / "table_time.json"
        times = json.loads(times_path.read_text()) if times_path.is_file() else []
        times.append({"seconds": round(seconds, 1), "resume": resume, "exit": proc.returncode})
        write_json(times_path, times)
    last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
    if proc.returncode == 3:
        return last.removeprefix("error: ")
    if proc.returncode != 0:
        raise ZooError(f"{run_name(entry, seed)} failed (exit {proc.returncode}): {last}")
    return None


def latent_recovery(model, n: int, seed: int) -> float | None:
    """Mean squared error ||z - E(G(z))||² / d_z over ``n`` prior draws (an encoder that
    ignores its input scores about 2)."""
    from zoo.metrics import batched

    if getattr(model, "encoder", None) is None:
        return None
    z = model.prior_samples(n, np.random.default_rng(seed))
    fakes = batched(lambda t: model.generator(t, training=False), z)
    z_hat = batched(lambda t: model.encoder(t, training=False), fakes)
    return float(np.mean(np.square(z - z_hat)))


def evaluate(entry: str, seed: int, run_dir: Path, real, strip_png: Path) -> dict:
    """Score the newest checkpoint of a trained run; write its strip of images."""
    from zoo.metrics import batched
    from zoo.suite import evaluate_model
    from zoo.training import load_run, restore_networks, run_checkpoints
    from zoo.visualize import save_grid

    config, model = load_run(run_dir)
    step, path = run_checkpoints(run_dir, newest_only=True)[-1]
    restore_networks(model, path)
    metrics, _ = evaluate_model(model, real)
    rng = np.random.default_rng(seed + 7)
    strip = [batched(lambda t: model.generator(t, training=False), model.prior_samples(8, rng))]
    if getattr(model, "encoder", None) is not None:
        x = real.test_images[:4]
        recon = batched(lambda t: model.generator(model.encoder(t, training=False), training=False), x)
        strip.append(np.stack([x, recon], axis=1).reshape(-1, *x.shape[1:]))
    save_grid(np.concatenate(strip), strip_png, columns=16, scale=1)
    times_path = run_dir / "table_time.json"
    times = json.loads(times_path.read_text()) if times_path.is_file() else None
    metrics_path = run_dir / "metrics.json"
    train_metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    return {
        "entry": entry,
        "seed": seed,
        "step": step,
        "metrics": metrics,
        "latent_recovery": latent_recovery(model, real.settings.n_samples, seed),
        "train_wall_s": sum(t["seconds"] for t in times) if times else None,
        "invocations": times,
        "config": {"model": config["model"], "settings": config["settings"]},
        "commit": git_commit(),
        # the machine this process runs on, which trained the run unless it was resumed elsewhere
        "machine": machine(),
        "images_per_second": train_metrics.get("images_per_second"),
    }


def add_untrained_knn(evals_dir: Path, real, log=print) -> int:
    """Give every evaluation in ``evals_dir`` that scored an encoder but predates the
    suite's ``knn_accuracy_untrained`` that baseline (``zoo.suite.untrained_knn_accuracy``
    of its stored model config and seed), recording the commit that computed it under
    ``"backfilled"``. Returns how many were updated."""
    from zoo.legacy import with_legacy_defaults
    from zoo.models import family_class
    from zoo.suite import untrained_knn_accuracy

    done = 0
    for path in sorted(evals_dir.glob("*.json")):
        ev = json.loads(path.read_text())
        if not lacks_untrained_knn(ev):
            continue
        m = ev["metrics"]
        s = ev["config"]["settings"]
        argv = recipe_argv(ev["entry"], ev["seed"], Path("unused"), s["preset"], s["dataset"])
        cls = family_class(planned_config(ev["entry"], argv)["family"])
        config = with_legacy_defaults(cls, ev["config"]["model"])
        seed = config.get("seed") if config.get("seed") is not None else ev["seed"]
        m["knn_accuracy_untrained"] = untrained_knn_accuracy(cls, config, seed, real)
        ev["backfilled"] = {**ev.get("backfilled", {}), "knn_accuracy_untrained": git_commit()}
        write_json(path, ev, sort_keys=False)
        log(f"{path.stem}: 1-NN of its untrained encoder {m['knn_accuracy_untrained']:.3f} (backfilled)")
        done += 1
    return done


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else the platform's machine type."""
    import platform

    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.machine()


def machine() -> str:
    """One line naming the machine a run trained on: CPU model, cores, and whether the
    CPU offers AVX-512 and AMX (TensorFlow's CPU kernels differ by several times across
    these; the table's wall times are only comparable on one machine)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), [])
    has = lambda prefix: "yes" if any(f.startswith(prefix) for f in flags) else "no"  # noqa: E731
    return f"{cpu_model()}, {os.cpu_count()} cores, AVX-512 {has('avx512')}, AMX {has('amx')}"


def git_commit() -> str | None:
    """The checkout's commit (with ``+dirty`` when tracked files other than
    ``recipes/results/`` differ: the table rewrites its own results while it runs), None
    outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)recipes/results"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def montage(evaluations: Sequence[dict], evals_dir: Path, path: Path) -> Path | None:
    """One row per entry (its first seed): 8 samples | 4 (x, G(E(x))) pairs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    first: dict[str, dict] = {}
    for ev in sorted(evaluations, key=lambda e: e["seed"]):
        if not ev.get("diverged"):
            first.setdefault(ev["entry"], ev)
    order = [e for e in ENTRIES if e in first] + sorted(set(first) - set(ENTRIES))
    strips = [(e, evals_dir / f"{run_name(e, first[e]['seed'])}.png") for e in order]
    strips = [(e, p) for e, p in strips if p.is_file()]
    if not strips:
        return None
    fig, axes = plt.subplots(len(strips), 1, figsize=(10, 0.75 * len(strips) + 0.4), squeeze=False)
    for ax, (e, p) in zip(axes[:, 0], strips):
        ax.imshow(np.asarray(Image.open(p)), cmap="gray", vmin=0, vmax=255)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(e, rotation=0, ha="right", va="center", fontsize=8)
    axes[0, 0].set_title("8 samples G(z)  |  4 test images x, each followed by G(E(x))", fontsize=9)
    from zoo.plots import _save

    return _save(fig, path)


def load_evaluations(evals_dir: Path) -> list[dict]:
    out = []
    for p in sorted(evals_dir.glob("*.json")):
        try:
            out.append(json.loads(p.read_text()))
        except json.JSONDecodeError as err:
            raise ZooError(f"{p} is not valid JSON ({err}); move it aside to re-evaluate that run") from None
    return out


def write_report(out: Path) -> dict:
    """Rebuild ``zoo_table.md`` / ``.csv`` / ``claims.json`` / ``montage.png`` from ``out/evals``."""
    evaluations = load_evaluations(out / "evals")
    markdown, csv_text, summary = report(evaluations, stale_runs(evaluations))
    commits = sorted({str(ev.get("commit")) for ev in evaluations})
    machines: dict[str, list[str]] = {}
    for ev in evaluations:
        if ev.get("machine"):
            speed = ev.get("images_per_second")
            machines.setdefault(ev["machine"], []).append(
                run_name(ev["entry"], ev["seed"]) + (f" ({speed:.0f} img/s)" if speed else "")
            )
    where = "".join(f"\n- {m}: {', '.join(sorted(runs))}" for m, runs in sorted(machines.items()))
    header = (
        "# Zoo table\n\nWritten by `python recipes/zoo_table.py` from the evaluations in `evals/` "
        f"(commits that trained and scored them: {', '.join(commits) or '–'}). Mean ± std over the "
        "seeds listed; verdicts computed from these numbers by `zoo.table`.\n\n"
        + (
            "Machines that trained the runs (recorded since the field existed; wall times compare "
            f"only on one machine):{where}\n\n"
            if machines
            else ""
        )
    )
    write_text_atomic(out / "zoo_table.md", header + markdown)
    write_text_atomic(out / "zoo_table.csv", csv_text)
    write_json(out / "claims.json", summary, sort_keys=False)
    montage(evaluations, out / "evals", out / "montage.png")
    return summary


def seeds_for(entry: str, seeds: Sequence[int], all_seeds: bool) -> list[int]:
    return list(seeds) if all_seeds or entry in MULTI_SEED else list(seeds[:1])


def run_table(
    entries: Sequence[str],
    seeds: Sequence[int],
    out: Path,
    runs: Path,
    preset: str = "cpu",
    dataset: str = "fashion_mnist",
    eval_settings=None,
    all_seeds: bool = False,
    extra: Sequence[str] = (),
    cache_dir: str | None = None,
    log=print,
) -> dict:
    """Train, score and tabulate every (entry, seed) not finished yet; returns the summary."""
    from zoo.extractors import choose_extractor
    from zoo.suite import EvalSettings, RealData

    unknown = [e for e in entries if e not in ENTRIES]
    if unknown:
        raise ZooError(f"unknown families {unknown}; known: {', '.join(ENTRIES)}")
    evals = out / "evals"
    evals.mkdir(parents=True, exist_ok=True)
    real = None
    for entry in entries:
        for seed in seeds_for(entry, seeds, all_seeds):
            name = run_name(entry, seed)
            run_dir, eval_path = runs / name, evals / f"{name}.json"
            argv = recipe_argv(entry, seed, run_dir, preset, dataset, extra)
            planned, ignore = planned_config(entry, argv), unused_keys(entry)
            if eval_path.is_file():
                stored = json.loads(eval_path.read_text())
                if same_config(stored["config"], planned, ignore):
                    continue
                log(f"{name}: its defaults changed since it was trained; retraining (old copy kept)")
                _aside(eval_path, evals / "stale")
                if run_dir.exists():
                    _aside(run_dir)
            elif (run_dir / "config.json").is_file():
                stored = json.loads((run_dir / "config.json").read_text())
                if not same_config(stored, planned, ignore):
                    log(f"{name}: {run_dir} was started with other settings; moved aside, retraining")
                    _aside(run_dir)
            diverged = None if trained(run_dir) else train(entry, seed, run_dir, argv, log)
            if diverged is not None:
                stored = json.loads((run_dir / "config.json").read_text())
                result = {"entry": entry, "seed": seed, "diverged": diverged, "commit": git_commit()}
                result["config"] = {"model": stored["model"], "settings": stored["settings"]}
                log(f"{name}: diverged: {diverged}")
            else:
                if real is None:
                    settings = eval_settings or EvalSettings()
                    real = RealData(dataset, choose_extractor(dataset), settings, cache_dir)
                t0 = time.perf_counter()
                result = evaluate(entry, seed, run_dir, real, evals / f"{name}.png")
                m = result["metrics"]
                log(
                    f"{name}: scored in {time.perf_counter() - t0:.0f} s: FID(P_G) {m['fid_samples']:.2f}"
                    + (f", PSNR {m['psnr_mean']:.2f} dB" if m["psnr_mean"] is not None else "")
                )
            write_json(eval_path, result, sort_keys=False)
            write_report(out)
    if real is None and any(lacks_untrained_knn(ev) for ev in load_evaluations(evals)):
        real = RealData(dataset, choose_extractor(dataset), eval_settings or EvalSettings(), cache_dir)
    if real is not None:
        add_untrained_knn(evals, real, log)
    summary = write_report(out)
    return summary


def lacks_untrained_knn(evaluation: dict) -> bool:
    """Whether an evaluation of a table entry scored an encoder but not its untrained start."""
    m = evaluation.get("metrics") or {}
    return (
        evaluation.get("entry") in ENTRIES
        and m.get("knn_accuracy") is not None
        and "knn_accuracy_untrained" not in m
    )
