"""Shared command-line recipe: flags, run directory, training, grids, metrics, export.

A family's recipe is a ``Recipe``: its name, its extra flags and how they map to
constructor arguments. ``main`` does the rest, identically for every family.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from zoo.cli import configure_tensorflow
from zoo.errors import TrainingDiverged, ZooError
from zoo.files import check_writable_dir, directory_lock, write_json
from zoo.legacy import LEGACY_MODEL_DEFAULTS, with_legacy_defaults

# Flags that --resume may not change (the run's stored value is used).
FIXED_ON_RESUME = (
    "dataset",
    "preset",
    "batch_size",
    "latent_dim",
    "width",
    "lr",
    "gp_weight",
    "d_steps",
    "seed",
)


PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A family's command-line recipe.

    ``family`` names the run directories; ``model_family(args)``, when given, picks the
    model family each run trains (e.g. BiGAN's ``--variant mdgan`` trains ``mdgan``) out
    of ``families``. Without it every run trains ``family``.
    """

    family: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    model_kwargs: Callable[[argparse.Namespace], dict]
    model_family: Callable[[argparse.Namespace], str] | None = None
    families: tuple[str, ...] = ()
    variant: Callable[[argparse.Namespace], str] | None = None  # the export name
    # Fills the score table of a model with a ``sampler`` (seed 004's non-uniform
    # minibatches) at the start of a new run: (model, args, uint8 train images).
    init_sampler: Callable[..., None] | None = None
    # Preset fields that ``--preset paper`` takes from this variant's own paper:
    # (args, dataset name) -> {field: value}; flags still override them.
    paper_preset: Callable[[argparse.Namespace, str], dict] | None = None
    # Preset fields this family always sets (e.g. WGAN-GP's 5 critic steps and penalty
    # 10) whatever the preset; flags still override them.
    fixed_preset: dict = dataclasses.field(default_factory=dict)
    # Preset fields this family sets under ``--preset cpu`` only (its 15-minute budget on
    # the developers' 2-core machine, issue #17); flags still override them.
    cpu_preset: dict = dataclasses.field(default_factory=dict)
    # Shared flags that mean nothing for this family (e.g. --d-steps for a VAE): an error.
    unused_flags: tuple[str, ...] = ()

    def family_for(self, args: argparse.Namespace) -> str:
        return self.model_family(args) if self.model_family else self.family

    def accepts(self, family: str | None) -> bool:
        return family == self.family or family in self.families


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def nonnegative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def positive_float(text: str) -> float:
    value = nonnegative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def lr_ratio(text: str) -> tuple[str, float]:
    """``PLAYER=R`` with R > 0, for ``--lr-ratio``."""
    player, sep, value = text.partition("=")
    try:
        ratio = float(value)
    except ValueError:
        ratio = float("nan")
    if not sep or not player or not ratio > 0 or ratio == float("inf"):
        raise argparse.ArgumentTypeError(f"expected PLAYER=R with R > 0 (e.g. d=4), got {text!r}")
    return player, ratio


def build_parser(recipe: Recipe) -> argparse.ArgumentParser:
    from zoo.data import DATASETS
    from zoo.networks import SPECTRAL_NORMS
    from zoo.presets import PRESETS

    p = argparse.ArgumentParser(description=recipe.description)
    p.add_argument("--dataset", choices=sorted(DATASETS), default=None, help="default: fashion_mnist")
    p.add_argument("--preset", choices=list(PRESETS), default=None, help="default: cpu")
    p.add_argument("--steps", type=positive_int, help="total training steps (preset's by default)")
    p.add_argument("--batch-size", type=positive_int)
    p.add_argument("--latent-dim", type=positive_int)
    p.add_argument("--width", type=positive_float, help="filter-count multiplier (1.0 = paper)")
    p.add_argument("--lr", type=positive_float, help="Adam learning rate of every player")
    p.add_argument("--gp-weight", type=nonnegative_float, help="WGAN-GP penalty weight (0 = off)")
    p.add_argument("--d-steps", type=positive_int, help="critic updates per generator update")
    p.add_argument(
        "--spectral-norm",
        choices=SPECTRAL_NORMS,
        default=None,
        help="the discriminators' spectral normalisation: miyato (zoo.layers.SpectralNorm, seed 000's) "
        "or projection (keras.layers.SpectralNormalization); default: the model's (miyato)",
    )
    p.add_argument(
        "--lr-ratio",
        type=lr_ratio,
        action="append",
        default=None,
        metavar="PLAYER=R",
        help="multiply one player's learning rate by R (repeatable; e.g. d=4 for a faster D, "
        "Heusel et al. 2017's TTUR); default: the model's",
    )
    p.add_argument("--seed", type=int, default=None, help="default: 0")
    p.add_argument("--checkpoint-every", type=positive_int, help="steps between checkpoints")
    p.add_argument("--log-every", type=positive_int, default=100, help="steps between progress lines")
    p.add_argument("--eval-images", type=positive_int, help="held-out images for metrics.json")
    p.add_argument(
        "--eval-every",
        type=positive_int,
        help="log the cheap evaluation metrics (FIDs, feature-L2, PSNR) to TensorBoard every N steps",
    )
    p.add_argument(
        "--eval-samples", type=positive_int, default=2000, help="samples/images per --eval-every evaluation"
    )
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=None,
        help="Keras dtype policy of the networks (default float32; variables stay float32)",
    )
    p.add_argument("--out", default=None, help="run directory (default: runs/<family>-<dataset>-<time>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--no-export", action="store_true", help="skip the TF Serving export")
    p.add_argument("--serving-root", default="serving", help="where the export goes (default: ./serving)")
    recipe.add_arguments(p)
    return p


def _resolve(args: argparse.Namespace, parser: argparse.ArgumentParser, recipe: Recipe) -> dict:
    """Merge stored run settings (on --resume), flags and the preset into one dict."""
    from zoo import data
    from zoo.presets import get_preset

    run_dir = Path(args.out) if args.out else None
    stored = None
    if args.resume:
        if run_dir is None:
            parser.error("--resume needs --out DIR (the run to continue)")
        config_path = run_dir / "config.json"
        if not config_path.is_file():
            raise ZooError(f"--resume: {config_path} not found; nothing to resume")
        stored = json.loads(config_path.read_text())
        if not recipe.accepts(stored.get("family")):
            raise ZooError(f"--resume: {run_dir} is a {stored.get('family')} run, not {recipe.family}")
        family_flags = getattr(args, "given_family_flags", [])
        if family_flags:
            raise ZooError(
                f"--resume: {', '.join(family_flags)} cannot change the run's model "
                "(the stored one is used); leave them out"
            )
        stored_sn = stored["model"].get("spectral_norm", LEGACY_MODEL_DEFAULTS["spectral_norm"])
        if args.spectral_norm is not None and args.spectral_norm != stored_sn:
            raise ZooError(
                f"--resume: --spectral-norm {args.spectral_norm} differs from the run's {stored_sn}"
            )
        if args.lr_ratio is not None and dict(args.lr_ratio) != stored["model"].get("lr_ratios", {}):
            raise ZooError(
                f"--resume: --lr-ratio {dict(args.lr_ratio)} differs from the run's {stored['model'].get('lr_ratios', {})}"
            )
        for key in FIXED_ON_RESUME:
            given = getattr(args, key)
            if given is not None and given != stored["settings"][key]:
                flag = "--" + key.replace("_", "-")
                raise ZooError(f"--resume: {flag} {given} differs from the run's {stored['settings'][key]}")
    if stored is not None:
        settings = dict(stored["settings"])
        settings["steps"] = args.steps or settings["steps"]
        settings["checkpoint_every"] = args.checkpoint_every or settings["checkpoint_every"]
        settings["eval_images"] = args.eval_images or settings["eval_images"]
        settings["precision"] = args.precision or settings.get("precision", "float32")
        settings.setdefault("data", "tf.data")  # runs written before in-graph batches existed
        return {
            "settings": settings,
            "model": stored["model"],
            "family": stored["family"],
            "name": stored.get("name", stored["family"]),
            "run_dir": run_dir,
            "resume": True,
        }
    preset_name = args.preset or "cpu"
    dataset = args.dataset or "fashion_mnist"
    paper = recipe.paper_preset(args, dataset) if preset_name == "paper" and recipe.paper_preset else {}
    flags = dict(
        steps=args.steps,
        batch_size=args.batch_size,
        latent_dim=args.latent_dim,
        width=args.width,
        learning_rate=args.lr,
        gp_weight=args.gp_weight,
        d_steps=args.d_steps,
        checkpoint_every=args.checkpoint_every,
        eval_images=args.eval_images,
    )
    given = {k: v for k, v in flags.items() if v is not None}
    cpu = recipe.cpu_preset if preset_name == "cpu" else {}
    preset = get_preset(preset_name, **{**recipe.fixed_preset, **cpu, **paper, **given})
    settings = {
        "dataset": dataset,
        "preset": preset_name,
        "steps": preset.steps,
        "batch_size": preset.batch_size,
        "latent_dim": preset.latent_dim,
        "width": preset.width,
        "lr": preset.learning_rate,
        "gp_weight": preset.gp_weight,
        "d_steps": preset.d_steps,
        "seed": 0 if args.seed is None else args.seed,
        "checkpoint_every": preset.checkpoint_every,
        "eval_images": preset.eval_images,
        "lr_decay": [preset.lr_decay_start, preset.lr_decay_every, preset.lr_decay_rate],
        "precision": args.precision or "float32",
        # In-graph batches for datasets that fit in memory, else the tf.data stream
        # (the two draw different, equally shuffled orders; a resume keeps the run's).
        "data": "in_graph" if data.fits_in_memory(dataset) else "tf.data",
    }
    family = recipe.family_for(args)
    name = recipe.variant(args) if recipe.variant else family
    if run_dir is None:
        run_dir = Path("runs") / f"{name}-{dataset}-{time.strftime('%Y%m%d-%H%M%S')}"
    return {
        "settings": settings,
        "model": None,
        "family": family,
        "name": name,
        "run_dir": run_dir,
        "resume": False,
    }


def _save_grids(model, x_test: np.ndarray, run_dir: Path, seed: int) -> list[str]:
    """Seed 000 appendix B grids: samples, real/fake reconstructions, interpolations."""
    from zoo.metrics import batched
    from zoo.visualize import interleave_rows, interpolation_codes, save_grid

    rng = np.random.default_rng(seed + 1)
    gen = lambda t: model.generator(t, training=False)  # noqa: E731
    enc = lambda t: model.encoder(t, training=False)  # noqa: E731
    cols = 8
    z = model.prior_samples(64, rng)
    samples = batched(gen, z)
    paths = [save_grid(samples, run_dir / "samples.png", cols)]
    if getattr(model, "encoder", None) is None:  # a GAN baseline: samples only
        return [str(paths[0])]
    real = x_test[:32]
    paths.append(
        save_grid(
            interleave_rows(real, batched(gen, batched(enc, real)), cols),
            run_dir / "reconstructions_real.png",
            cols,
        )
    )
    fake = samples[:32]
    paths.append(
        save_grid(
            interleave_rows(fake, batched(gen, batched(enc, fake)), cols),
            run_dir / "reconstructions_fake.png",
            cols,
        )
    )
    steps = 8
    for kind, pool in (("real", x_test[32:48]), ("fake", samples[32:48])):
        a, b = pool[0::2], pool[1::2]
        codes = interpolation_codes(batched(enc, a), batched(enc, b), steps).reshape(-1, model.latent_dim)
        middle = batched(gen, codes).reshape(len(a), steps, *a.shape[1:])
        rows = np.concatenate([a[:, None], middle, b[:, None]], axis=1).reshape(-1, *a.shape[1:])
        paths.append(save_grid(rows, run_dir / f"interpolations_{kind}.png", steps + 2))
    return [str(p) for p in paths]


def _save_norm_histogram(model, x_test: np.ndarray, run_dir: Path, seed: int) -> str:
    """Histogram of ||E(x)|| / sqrt(d_z) on the test images against prior samples (seed 004 Fig. 1)."""
    from zoo.metrics import batched, latent_norm_ratios
    from zoo.visualize import save_histograms

    codes = batched(lambda t: model.encoder(t, training=False), x_test)
    z = model.prior_samples(len(x_test), np.random.default_rng(seed))
    series = {"||E(x)||/sqrt(d)": latent_norm_ratios(codes), "||z||/sqrt(d), prior": latent_norm_ratios(z)}
    return str(save_histograms(series, run_dir / "latent_norms.png"))


def _eval_callbacks(args, settings: dict, run_dir: Path) -> tuple:
    """The ``--eval-every`` logger: zoo.suite's cheap metrics with the in-domain extractor."""
    if args.eval_every is None:
        return ()
    if settings["dataset"] != "fashion_mnist":
        raise ZooError(
            "--eval-every uses the in-domain Fashion-MNIST extractor; for "
            f"{settings['dataset']} evaluate the checkpoints with recipes/evaluate.py --extractor inception"
        )
    from zoo.extractors import load_domain_extractor
    from zoo.suite import CHEAP_KEYS, EvalSettings, RealData, evaluate_model
    from zoo.training import EvalLogger

    real = RealData(settings["dataset"], load_domain_extractor(), EvalSettings(n_samples=args.eval_samples))

    def evaluate(model) -> dict:
        metrics, _ = evaluate_model(model, real, CHEAP_KEYS)
        return {k: metrics[k] for k in CHEAP_KEYS}

    return (EvalLogger(evaluate, run_dir / "logs" / "eval", args.eval_every),)


def given_family_flags(recipe: Recipe, argv: list[str]) -> list[str]:
    """The family's own flags (``recipe.add_arguments``) that ``argv`` gives explicitly."""
    p = argparse.ArgumentParser(add_help=False)
    recipe.add_arguments(p)
    unset = object()  # not a string: argparse does not convert it as it would a default
    p.set_defaults(**dict.fromkeys(vars(p.parse_args([])), unset))
    given, _ = p.parse_known_args(argv)
    return ["--" + dest.replace("_", "-") for dest, value in vars(given).items() if value is not unset]


def run(recipe: Recipe, argv: list[str] | None = None) -> int:
    """Parse flags, train, evaluate, draw grids, write metrics.json, export. Exit code."""
    parser = build_parser(recipe)
    args = parser.parse_args(argv)
    args.given_family_flags = given_family_flags(recipe, sys.argv[1:] if argv is None else argv)
    t_start = time.perf_counter()
    configure_tensorflow()
    try:
        return _run(recipe, parser, args, t_start)
    except TrainingDiverged as err:
        print(f"error: training diverged: {err}", file=sys.stderr)
        return 3
    except ZooError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


@dataclasses.dataclass
class Plan:
    """Everything a run needs before its model exists: resolved settings, the model's
    constructor config, where it goes, its held-out images and extra callbacks."""

    recipe: Recipe
    args: argparse.Namespace
    settings: dict
    model_config: dict
    family: str
    name: str
    run_dir: Path
    resume: bool
    x_test: np.ndarray
    callbacks: tuple


def prepare(recipe: Recipe, args: argparse.Namespace, parser: argparse.ArgumentParser | None = None) -> Plan:
    """Check the flags, merge them with the preset (or the stored run on --resume), load
    the held-out images: everything that can fail on bad input, before anything is written."""
    from zoo import data

    parser = parser or build_parser(recipe)
    for flag in recipe.unused_flags:
        if getattr(args, flag) is not None:
            raise ZooError(f"--{flag.replace('_', '-')} does not apply to {recipe.family}")
    resolved = _resolve(args, parser, recipe)
    s, run_dir = resolved["settings"], resolved["run_dir"]
    check_writable_dir(run_dir, "--out")
    if not args.no_export:  # fail now, not after the training
        check_writable_dir(args.serving_root, "--serving-root")
    info = data.dataset_info(s["dataset"])
    if resolved["model"] is None:
        model_config = {
            "resolution": info.resolution,
            "channels": info.channels,
            "latent_dim": s["latent_dim"],
            "width": s["width"],
            "d_steps": s["d_steps"],
            "gp_weight": s["gp_weight"],
            "seed": s["seed"],
            **recipe.model_kwargs(args, s),
        }
        if args.spectral_norm is not None:
            model_config["spectral_norm"] = args.spectral_norm
        if args.lr_ratio is not None:
            model_config["lr_ratios"] = dict(args.lr_ratio)
    else:
        model_config = resolved["model"]
    # Load data before creating anything on disk: a missing dataset leaves no debris.
    x_test = data.test_images(s["dataset"], s["eval_images"])
    data.train_dataset(s["dataset"], s["batch_size"], s["seed"], 0)
    return Plan(
        recipe,
        args,
        s,
        model_config,
        resolved["family"],
        resolved["name"],
        run_dir,
        resolved["resume"],
        x_test,
        _eval_callbacks(args, s, run_dir),
    )


def build_model(plan: Plan):
    """The plan's model, seeded by --seed (initial weights too) and compiled."""
    import keras

    from zoo.models import family_class
    from zoo.trainer import LearningRateDecay

    s = plan.settings
    keras.utils.set_random_seed(s["seed"])
    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(s.get("precision", "float32"))
    config = dict(plan.model_config)
    if plan.resume:  # runs written before these keys were stored trained with the old defaults
        config = with_legacy_defaults(family_class(plan.family), config)
    try:  # the policy is read when the layers are made; later models keep the old one
        model = family_class(plan.family).from_config(config)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    # Runs written before the decay setting existed resume with a constant rate.
    decay = s["lr_decay"] if "lr_decay" in s else [0, 1, 1.0]
    model.compile(learning_rate=s["lr"], lr_decay=LearningRateDecay(*decay))
    return model


def _run(recipe: Recipe, parser, args, t_start: float) -> int:
    plan = prepare(recipe, args, parser)
    execute(plan, build_model(plan), t_start)
    return 0


def execute(plan: Plan, model, t_start: float | None = None) -> dict:
    """Train ``model`` as planned, then write grids and ``metrics.json`` and (unless
    --no-export) export it, holding the run directory's lock throughout (a second
    process on it fails in one line). Returns the metrics."""
    with directory_lock(plan.run_dir):  # one process per run directory
        return _execute(plan, model, time.perf_counter() if t_start is None else t_start)


def _execute(plan: Plan, model, t_start: float) -> dict:
    from zoo import data, training
    from zoo.metrics import encoder_report, sample_report

    args, s, run_dir, x_test = plan.args, plan.settings, plan.run_dir, plan.x_test
    family, name = plan.family, plan.name
    batch_size = s["batch_size"] * model.batches_per_step  # real images one step takes
    make_dataset = batches = None
    if s.get("data") == "in_graph":
        batches = data.train_batches(s["dataset"], batch_size, s["seed"])
    else:
        make_dataset = lambda skip: data.train_dataset(s["dataset"], batch_size, s["seed"], skip)  # noqa: E731
    if not plan.resume:
        if (run_dir / "checkpoints").exists():
            raise ZooError(
                f"{run_dir} already holds checkpoints; pass --resume to continue it or choose another --out"
            )
        write_json(
            run_dir / "config.json",
            {"family": family, "name": name, "model": model.get_config(), "settings": s},
        )
    else:
        write_json(
            run_dir / "config.json",
            {"family": family, "name": name, "model": plan.model_config, "settings": s},
        )
    print(f"run directory: {run_dir}", flush=True)
    sampler = getattr(model, "sampler", None)
    if sampler is not None:  # minibatches drawn by per-example scores: (x, index) batches
        train_images = data.train_array(s["dataset"])
        if len(train_images) != sampler.n:
            raise ZooError(f"the model samples {sampler.n} examples; {s['dataset']} has {len(train_images)}")
        if not plan.resume and plan.recipe.init_sampler is not None:
            plan.recipe.init_sampler(model, args, train_images)
        if s.get("data") == "in_graph":  # drawn in-graph from the scores as they are at each step
            make_dataset, batches = None, sampler.batches(train_images, batch_size, s["seed"])
        else:
            batches = None
            make_dataset = lambda skip: sampler.dataset(train_images, batch_size, s["seed"], skip)  # noqa: E731
    result = training.train(
        model,
        make_dataset,
        batches=batches,
        steps=s["steps"],
        batch_size=batch_size,
        run_dir=run_dir,
        checkpoint_every=s["checkpoint_every"],
        resume=plan.resume,
        log_every=args.log_every,
        callbacks=plan.callbacks,
    )
    has_encoder = getattr(model, "encoder", None) is not None
    metrics = (
        encoder_report(model, x_test, seed=s["seed"])
        if has_encoder
        else sample_report(model, x_test, s["seed"])
    )
    grids = _save_grids(model, x_test, run_dir, s["seed"])
    if has_encoder:
        grids.append(_save_norm_histogram(model, x_test, run_dir, s["seed"]))
    metrics.update(
        {
            "family": family,
            "dataset": s["dataset"],
            "steps": result.steps,
            "steps_this_invocation": result.steps - result.start_step,
            "train_time_s": round(result.train_seconds, 2),
            "images_per_second": round(result.images_per_second, 1),
            "wall_time_s": round(time.perf_counter() - t_start, 2),
            "grids": grids,
        }
    )
    write_json(run_dir / "metrics.json", metrics)
    print(
        json.dumps(
            {
                k: metrics.get(k)
                for k in (
                    "reconstruction_psnr",
                    "random_pair_psnr",
                    "latent_recovery_error",
                    "steps",
                    "wall_time_s",
                    "images_per_second",
                )
            }
        ),
        flush=True,
    )
    if not args.no_export:
        from export.serving import export_run

        summary = export_run(run_dir, args.serving_root)
        metrics["export"] = summary
        metrics["wall_time_s"] = round(time.perf_counter() - t_start, 2)
        write_json(run_dir / "metrics.json", metrics)
        for name_, info_ in summary["models"].items():
            print(f"exported {name_} version {info_['version']} -> {info_['path']}", flush=True)
    return metrics
