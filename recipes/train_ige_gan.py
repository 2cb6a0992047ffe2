"""Train IGE-GAN (GAN + encoder inverting the generator, seed 000 §3.1) and export it.

python recipes/train_ige_gan.py                      # cpu preset on Fashion-MNIST
python recipes/train_ige_gan.py --inversion z_adv --encoder-schedule posthoc
python recipes/train_ige_gan.py --inversion z_adv --cycle-critic-weight 0   # seed 000's z_adv game

z_adv trains with ALICE's latent cycle critic (λ_c = 5) unless ``--cycle-critic-weight``
says otherwise; ``--preset paper`` keeps seed 000's game without it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's zoo, not another clone's

from zoo.errors import ZooError
from zoo.models.ige_gan import INVERSIONS, SCHEDULES
from zoo.models.inversion import CYCLE_CRITIC_NORMS
from zoo.networks import FUSIONS
from zoo.recipe import Recipe, nonnegative_float, positive_int, run

# z_adv's ALICE cycle critic weight λ_c outside ``--preset paper`` (whose game has none):
# the zoo table (cpu preset, Fashion-MNIST, seeds 0-2) measured z_adv's encoder learning
# with it and not without (README, "ALICE's latent cycle critic on z_adv").
Z_ADV_CYCLE_CRITIC_WEIGHT = 5.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inversion", choices=INVERSIONS, default="x_ae", help="encoder loss (default x_ae)")
    parser.add_argument(
        "--encoder-schedule",
        choices=SCHEDULES,
        default="joint",
        help="joint: E trained with G and D; posthoc: G and D first, then E alone",
    )
    parser.add_argument(
        "--encoder-steps",
        type=positive_int,
        default=None,
        help="posthoc only: steps of the encoder phase, at the end (default: steps // 2)",
    )
    parser.add_argument(
        "--joint-fusion",
        choices=FUSIONS,
        default=None,
        help="x_adv / z_adv: where D2 fuses z with x: every_layer (seed 000 A.3.2, the default), late or late_bilinear",
    )
    parser.add_argument(
        "--cycle-critic-weight",
        type=nonnegative_float,
        default=None,
        help="z_adv: weight of ALICE's latent cycle critic D3 on (z, E(G(z))) in E's loss; default "
        f"{Z_ADV_CYCLE_CRITIC_WEIGHT:g}, 0 (seed 000's game, no D3) under --preset paper",
    )
    parser.add_argument(
        "--cycle-critic-norm",
        choices=CYCLE_CRITIC_NORMS,
        default=None,
        help="with --cycle-critic-weight: none (ALICE's D3, the default) or spectral (ALAD's D_zz)",
    )


def model_kwargs(args: argparse.Namespace, settings: dict) -> dict:
    steps = settings["steps"]
    if args.encoder_steps is not None and args.encoder_schedule != "posthoc":
        raise ZooError("--encoder-steps applies only to --encoder-schedule posthoc")
    encoder_steps = args.encoder_steps or steps // 2
    if args.encoder_schedule == "posthoc" and encoder_steps >= steps:
        raise ZooError(f"--encoder-steps {encoder_steps} must be smaller than --steps {steps}")
    start = steps - encoder_steps if args.encoder_schedule == "posthoc" else 0
    kwargs = {
        "inversion": args.inversion,
        "encoder_schedule": args.encoder_schedule,
        "encoder_start_step": start,
    }
    if args.joint_fusion is not None:
        if args.inversion not in ("x_adv", "z_adv"):
            raise ZooError(
                f"--joint-fusion applies only to --inversion x_adv or z_adv (D2), not {args.inversion}"
            )
        kwargs["joint_fusion"] = args.joint_fusion
    weight = args.cycle_critic_weight
    if weight is not None and args.inversion != "z_adv":
        raise ZooError(f"--cycle-critic-weight applies only to --inversion z_adv, not {args.inversion}")
    if weight is None and args.inversion == "z_adv" and settings["preset"] != "paper":
        weight = Z_ADV_CYCLE_CRITIC_WEIGHT
    if weight is not None:
        kwargs["cycle_critic_weight"] = weight
    if args.cycle_critic_norm is not None:
        if not weight:
            raise ZooError("--cycle-critic-norm needs --cycle-critic-weight > 0 (there is no D3 without it)")
        kwargs["cycle_critic_norm"] = args.cycle_critic_norm
    return kwargs


RECIPE = Recipe("ige_gan", __doc__.splitlines()[0], add_arguments, model_kwargs)

if __name__ == "__main__":
    sys.exit(run(RECIPE))
