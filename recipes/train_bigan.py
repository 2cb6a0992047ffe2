"""Train BiGAN / ALI or one of its extensions (seed 000 §3.2, seed 004) and export it.

python recipes/train_bigan.py                                  # BiGAN, cpu preset, Fashion-MNIST
python recipes/train_bigan.py --variant bigan_x_ae --lambda 0.3
python recipes/train_bigan.py --variant ep_mdgan --lambda-perc 0.8 --lambda-dist 4
python recipes/train_bigan.py --variant p_mdgan_mleq --scores loglik.npy

Variants: ``bigan``; ``bigan_{x_ae,z_ae,x_adv,z_adv}`` = BiGAN + that inversion loss on
E with weight ``--lambda`` (seed 000 A.2); ``mdgan`` = BiGAN + ``--lambda-cyc`` x MSE(x,
G(E(x))) (seed 004 eq. 2); ``p_mdgan`` = MDGAN + the latent-norm regulariser with
λ_norm tuned during training (seed 004 eq. 5-6): held at 0.01 for the first quarter of
the steps (200 of the paper's 800 epochs), then adapted every steps/160 steps (its every
5 epochs); see ``zoo.models.bigan.PMDGAN`` for the exact rule. ``p_mdgan_mleq`` =
P-MDGAN on minibatches drawn by a fixed score per training example (``--scores``, a .npy
of one float per train image, higher = better, e.g. the AIS log-likelihood of G(E(x)));
``ep_mdgan`` = the same with each example's PSNR(x, G(E(x))), refreshed every step.
``--lambda-perc`` / ``--lambda-dist`` shape that sampling (seed 004 §4).

λ_cyc, λ_perc and λ_dist default to seed 004 Table 1: its CIFAR-10 column for colour
datasets, its F-MNIST column for greyscale ones. With ``--preset paper`` the seed-004
variants (``*mdgan*``) train with seed 004 App. B's settings: 800 epochs of batch 128,
d_z 256, Adam 2e-4 (beta 0.5, 0.999) decayed by 0.99 per epoch from epoch 400, five D
updates per E/G update, no gradient penalty; the BiGAN variants use seed 000's.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's zoo, not another clone's

import numpy as np

from zoo.errors import ZooError
from zoo.models.inversion import CYCLE_CRITIC_NORMS, INVERSIONS
from zoo.networks import ENCODER_FEATURE_NORMS, ENCODER_NORMS, FUSIONS
from zoo.recipe import Recipe, nonnegative_float, run

VARIANTS = ("bigan", *(f"bigan_{i}" for i in INVERSIONS), "mdgan", "p_mdgan", "p_mdgan_mleq", "ep_mdgan")
CYCLE = ("mdgan", "p_mdgan", "p_mdgan_mleq", "ep_mdgan")  # variants with λ_cyc
SAMPLED = ("p_mdgan_mleq", "ep_mdgan")  # variants with non-uniform minibatches
# Seed 004 Table 1: (λ_cyc, λ_perc, λ_dist), CIFAR-10 column and F-MNIST column.
TABLE_1 = {
    "mdgan": {"cifar10": (8.0, None, None), "fashion_mnist": (9.0, None, None)},
    "p_mdgan": {"cifar10": (7.0, None, None), "fashion_mnist": (9.0, None, None)},
    "p_mdgan_mleq": {"cifar10": (5.0, 0.5, 8.0), "fashion_mnist": (5.0, 0.8, 8.0)},
    "ep_mdgan": {"cifar10": (3.0, 0.5, 12.0), "fashion_mnist": (3.0, 0.8, 4.0)},
}


def unit_float(text: str) -> float:
    value = nonnegative_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variant", choices=VARIANTS, default="bigan", help="default: bigan")
    parser.add_argument(
        "--lambda",
        dest="inversion_weight",
        type=nonnegative_float,
        help="bigan_* variants: weight of the inversion loss in E's objective (default 1)",
    )
    parser.add_argument(
        "--lambda-cyc",
        dest="cycle_weight",
        type=nonnegative_float,
        help="*mdgan variants: weight of the cycle loss (default: seed 004 Table 1)",
    )
    parser.add_argument(
        "--lambda-perc",
        dest="lambda_perc",
        type=unit_float,
        help="p_mdgan_mleq / ep_mdgan: share of each batch drawn by score (default: Table 1)",
    )
    parser.add_argument(
        "--lambda-dist",
        dest="lambda_dist",
        type=nonnegative_float,
        help="p_mdgan_mleq / ep_mdgan: power of the rank in the sampling weights (default: Table 1)",
    )
    parser.add_argument("--scores", help="p_mdgan_mleq: .npy with one score per training image")
    parser.add_argument(
        "--joint-fusion",
        choices=FUSIONS,
        default=None,
        help="where the joint discriminator fuses z with x: every_layer (seed 000 A.3.2), late "
        "(seed 004 Table 3; zoo.networks._late_fusion_joint_discriminator) or late_bilinear "
        "(late + a projection term); default: late, every_layer for the bigan* variants under --preset paper",
    )
    parser.add_argument(
        "--joint-scores",
        choices=("summed", "separate"),
        default=None,
        help="the late-fusion joint D's output: one logit (summed, the default) or BigBiGAN's "
        "s_x, s_z, s_xz, each trained by D's loss (separate; not with x_adv / z_adv)",
    )
    parser.add_argument(
        "--joint-dropout",
        type=unit_float,
        default=None,
        help="dropout rate after every hidden activation of the joint discriminator (ALI: 0.2); default 0",
    )
    parser.add_argument(
        "--cycle-critic-weight",
        type=nonnegative_float,
        default=None,
        help="bigan_z_adv: weight of ALICE's latent cycle critic D3 on (z, E(G(z))) in E's loss; default 0 (none)",
    )
    parser.add_argument(
        "--encoder-norm",
        choices=ENCODER_NORMS,
        default=None,
        help="normalisation in E's hidden layers: layer (seed 000, the default) or batch (BiGAN's and ALI's code)",
    )
    parser.add_argument(
        "--encoder-feature-norm",
        choices=ENCODER_FEATURE_NORMS,
        default=None,
        help="before E's output layer: none (seed 000, the default) or batch (parameter-free batch norm, "
        "as Donahue et al.'s MNIST encoder; its inference statistics recomputed at each checkpoint)",
    )
    parser.add_argument(
        "--cycle-critic-norm",
        choices=CYCLE_CRITIC_NORMS,
        default=None,
        help="with --cycle-critic-weight: none (ALICE's D3, the default) or spectral (ALAD's D_zz)",
    )


def model_family(args: argparse.Namespace) -> str:
    return "bigan" if args.variant.startswith("bigan") else args.variant


def _check_applicable(args: argparse.Namespace) -> None:
    """A flag the chosen variant does not use is an error, not silently ignored."""
    rules = (
        ("--lambda", args.inversion_weight, args.variant.startswith("bigan_"), "the bigan_* variants"),
        ("--lambda-cyc", args.cycle_weight, args.variant in CYCLE, ", ".join(CYCLE)),
        ("--lambda-perc", args.lambda_perc, args.variant in SAMPLED, ", ".join(SAMPLED)),
        ("--lambda-dist", args.lambda_dist, args.variant in SAMPLED, ", ".join(SAMPLED)),
        ("--scores", args.scores, args.variant == "p_mdgan_mleq", "p_mdgan_mleq"),
        ("--cycle-critic-weight", args.cycle_critic_weight, args.variant == "bigan_z_adv", "bigan_z_adv"),
        ("--cycle-critic-norm", args.cycle_critic_norm, args.variant == "bigan_z_adv", "bigan_z_adv"),
    )
    for flag, value, applies, where in rules:
        if value is not None and not applies:
            raise ZooError(f"{flag} does not apply to --variant {args.variant}; it is for {where}")
    if args.variant == "p_mdgan_mleq" and args.scores is None:
        raise ZooError("--variant p_mdgan_mleq needs --scores FILE.npy (one score per training image)")


def load_scores(path: str, count: int) -> np.ndarray:
    """The ``--scores`` file as float32 [count]; ``ZooError`` naming what is wrong."""
    try:
        scores = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ZooError(f"--scores: cannot read {path}: {err}") from None
    if scores.shape != (count,):
        raise ZooError(
            f"--scores: {path} holds shape {scores.shape}; expected ({count},), one per training image"
        )
    if not np.issubdtype(scores.dtype, np.number) or not np.all(np.isfinite(scores)):
        raise ZooError(f"--scores: {path} must hold finite numbers")
    return scores.astype(np.float32)


def model_kwargs(args: argparse.Namespace, settings: dict) -> dict:
    from zoo import data

    _check_applicable(args)
    fusion = {} if args.joint_fusion is None else {"joint_fusion": args.joint_fusion}
    if args.joint_fusion is None and settings["preset"] == "paper" and args.variant.startswith("bigan"):
        fusion = {"joint_fusion": "every_layer"}  # seed 000 A.3.2
    if args.encoder_norm is not None:
        fusion["encoder_norm"] = args.encoder_norm
    if args.encoder_feature_norm is not None:
        fusion["encoder_feature_norm"] = args.encoder_feature_norm
    if args.joint_scores == "separate" and fusion.get("joint_fusion", "late") != "late":
        raise ZooError(f"--joint-scores separate needs --joint-fusion late, not {fusion['joint_fusion']}")
    if args.joint_scores == "separate" and args.variant in ("bigan_x_adv", "bigan_z_adv"):
        raise ZooError(f"--joint-scores separate does not apply to --variant {args.variant} (its D2 head)")
    if args.joint_scores is not None:
        fusion["joint_scores"] = args.joint_scores
    if args.joint_dropout is not None:
        if args.joint_dropout >= 1:
            raise ZooError(f"--joint-dropout must be below 1, got {args.joint_dropout}")
        fusion["joint_dropout"] = args.joint_dropout
    if args.variant.startswith("bigan_"):
        weight = 1.0 if args.inversion_weight is None else args.inversion_weight
        if args.cycle_critic_weight is not None:
            fusion["cycle_critic_weight"] = args.cycle_critic_weight
        if args.cycle_critic_norm is not None:
            if not args.cycle_critic_weight:
                raise ZooError(
                    "--cycle-critic-norm needs --cycle-critic-weight > 0 (there is no D3 without it)"
                )
            fusion["cycle_critic_norm"] = args.cycle_critic_norm
        return {"inversion": args.variant[len("bigan_") :], "inversion_weight": weight, **fusion}
    if args.variant == "bigan":
        return fusion
    column = "cifar10" if data.dataset_info(settings["dataset"]).channels == 3 else "fashion_mnist"
    cyc, perc, dist = TABLE_1[args.variant][column]
    kwargs = {"cycle_weight": cyc if args.cycle_weight is None else args.cycle_weight, **fusion}
    if args.variant != "mdgan":
        steps = settings["steps"]
        kwargs.update(norm_weight=0.01, norm_hold_steps=steps // 4, norm_update_every=max(1, steps // 160))
    if args.variant in SAMPLED:
        count = len(data.train_array(settings["dataset"]))
        if args.scores is not None:
            load_scores(args.scores, count)  # fail before anything is written
        kwargs.update(
            num_examples=count,
            lambda_perc=perc if args.lambda_perc is None else args.lambda_perc,
            lambda_dist=dist if args.lambda_dist is None else args.lambda_dist,
        )
    return kwargs


def paper_preset(args: argparse.Namespace, dataset: str) -> dict:
    """Seed 004 App. B for its variants (epochs of the whole train split); {} otherwise."""
    from zoo import data

    if args.variant not in CYCLE:
        return {}
    epoch = data.dataset_info(dataset).train_size // 128
    return {
        "batch_size": 128,
        "latent_dim": 256,
        "steps": 800 * epoch,
        "learning_rate": 2e-4,
        "d_steps": 5,
        "gp_weight": 0.0,
        "lr_decay_start": 400 * epoch,
        "lr_decay_every": epoch,
        "lr_decay_rate": 0.99,
    }


def init_sampler(model, args: argparse.Namespace, train_images: np.ndarray) -> None:
    """Fill the score table of a new run: the --scores file (MLeq), or every example's
    PSNR under the initial networks (EP-MDGAN)."""
    if args.scores is not None:
        model.set_scores(load_scores(args.scores, len(train_images)))
    else:
        t0 = time.perf_counter()
        scores = model.score_all(train_images)
        print(
            f"scored {len(scores)} training images (PSNR mean {scores.mean():.2f} dB) "
            f"in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )


RECIPE = Recipe(
    "bigan",
    __doc__.splitlines()[0],
    add_arguments,
    model_kwargs,
    model_family=model_family,
    families=("bigan", "mdgan", "p_mdgan", "p_mdgan_mleq", "ep_mdgan"),
    variant=lambda args: args.variant,
    init_sampler=init_sampler,
    paper_preset=paper_preset,
)

if __name__ == "__main__":
    sys.exit(run(RECIPE))
