"""Train the VAE baseline (seed 000 appendix A.2) and export its encoder (μ(x)) and decoder.

python recipes/train_vae.py                  # cpu preset on Fashion-MNIST: 5 000 ELBO steps, then 2 000 fitting the mixture prior
python recipes/train_vae.py --prior gaussian --steps 5000    # seed 000's N(0, I) prior (--preset paper's)
python recipes/train_vae.py --preset tiny --steps 50
python recipes/train_vae.py --log-sigma-init 0      # the decoder's sigma starts at 1 (default: 0.1)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's zoo, not another clone's

from zoo.errors import ZooError
from zoo.models.vae import DEFAULT_LOG_SIGMA, VAE
from zoo.recipe import Recipe, positive_int, run

PRIOR_STEPS = 2000  # the mixture's fit at the end of a run (cpu preset: steps 5 001-7 000)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-sigma-init",
        type=float,
        default=DEFAULT_LOG_SIGMA,
        help=f"log of the decoder's sigma at the start (default {DEFAULT_LOG_SIGMA}: sigma ≈ 0.1)",
    )
    parser.add_argument(
        "--prior",
        choices=VAE.PRIORS,
        default=None,
        help="the codes' sampling prior: seed 000's N(0, I), or a Gaussian mixture fitted to the"
        " trained encoder's codes in the run's last --prior-steps steps (default: mixture;"
        " --preset paper: gaussian)",
    )
    parser.add_argument("--prior-components", type=positive_int, default=None, help="mixture components (10)")
    parser.add_argument(
        "--prior-steps",
        type=positive_int,
        default=None,
        help=f"steps fitting the mixture, the last of --steps (default {PRIOR_STEPS}, or half of a shorter run)",
    )


def model_kwargs(args: argparse.Namespace, settings: dict) -> dict:
    prior = args.prior or ("gaussian" if settings.get("preset") == "paper" else "mixture")
    kwargs = {"log_sigma_init": args.log_sigma_init, "prior": prior}
    if prior == "gaussian":
        if args.prior_components is not None or args.prior_steps is not None:
            raise ZooError("--prior-components and --prior-steps apply only to --prior mixture")
        return kwargs
    steps = settings["steps"]
    prior_steps = args.prior_steps or min(PRIOR_STEPS, steps // 2)  # short runs: their second half
    if args.prior_steps is not None and prior_steps >= steps:
        raise ZooError(f"--prior-steps {prior_steps} must be smaller than --steps {steps}")
    kwargs["prior_start_step"] = steps - prior_steps
    if args.prior_components is not None:
        kwargs["prior_components"] = args.prior_components
    return kwargs


RECIPE = Recipe(
    "vae",
    __doc__.splitlines()[0],
    add_arguments=add_arguments,
    model_kwargs=model_kwargs,
    # 5 000 steps of the ELBO, as before the mixture prior, then PRIOR_STEPS fitting it
    cpu_preset={"steps": 5000 + PRIOR_STEPS},
    unused_flags=("d_steps", "gp_weight", "spectral_norm"),
)

if __name__ == "__main__":
    sys.exit(run(RECIPE))
