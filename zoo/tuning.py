"""Keras Tuner grid searches over any zoo family's recipe flags (issue #6).

A search is a ``keras_tuner.GridSearch`` over axes named by the training recipe's own
flags (``--lr 1e-4,3e-4 --lambda 0.1,1,10``). Every trial is one run of that recipe in
``OUT/search/trial_<id>/run`` (checkpoints, grids, ``metrics.json``), trained for the
step budget and then scored by the evaluation suite (``zoo.suite.evaluate_model``) at
every checkpoint: the final checkpoint with every metric, the earlier ones with the cheap
ones (for the metric-vs-step figure). ``evaluation.json`` beside the run keeps them.

Default grids (each axis overridable, or added, by its recipe flag with a comma list):
- every family, seed 000 A.3.3: Adam lr {1e-4, 3e-4, 1e-3}, WGAN-GP weight {1, 3, 10} and
  discriminator updates per generator update {1, 2}, less the flags the family does not
  use or fixes (e.g. WGAN-GP keeps its 5 critic steps and penalty 10);
- BiGAN + inversion loss (``--variant bigan_*``): λ {0.1, 0.3, 1, 3, 10} (seed 000's figures
  use {0.1, 0.3, 1, 10});
- MDGAN / P-MDGAN: λ_cyc {3, 5, 6, 7, 8, 9}; P-MDGAN-MLeq / EP-MDGAN also λ_perc {0.2, 0.5,
  0.8} and λ_dist {4, 8, 12, 16} (seed 004 Table 5's axes; the table validated a subset
  of their product);
- α-GAN: λ {1, 5, 10, 50} (seed 001 H.1); AGE: λ_x {100, 500, 1000, 2000} (H.1).

Diverged trials (a NaN/Inf loss, or NaN images at evaluation) are recorded with
``diverged`` = 1 and the objective at a large finite value, so the search goes on.
Searches resume: rerun the same command and finished trials are kept, the interrupted
one restarts from scratch (``ResumableGridSearchOracle`` works around keras-tuner#1055).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import math
import shutil
import time
from pathlib import Path

import keras_tuner as kt
import numpy as np

from zoo.errors import TrainingDiverged, ZooError
from zoo.files import write_json, write_text_atomic

SHARED_GRID = {"lr": ("1e-4", "3e-4", "1e-3"), "gp-weight": ("1", "3", "10"), "d-steps": ("1", "2")}
_CYCLE = ("3", "5", "6", "7", "8", "9")
FAMILY_GRIDS = {
    **{f"bigan_{i}": {"lambda": ("0.1", "0.3", "1", "3", "10")} for i in ("x_ae", "z_ae", "x_adv", "z_adv")},
    "mdgan": {"lambda-cyc": _CYCLE},
    "p_mdgan": {"lambda-cyc": _CYCLE},
    **{
        v: {"lambda-cyc": _CYCLE, "lambda-perc": ("0.2", "0.5", "0.8"), "lambda-dist": ("4", "8", "12", "16")}
        for v in ("p_mdgan_mleq", "ep_mdgan")
    },
    "alpha_gan": {"lambda": ("1", "5", "10", "50")},
    "age": {"lambda": ("100", "500", "1000", "2000")},
}
# Recipe flags the search itself sets for every trial (or that make no sense per trial).
RESERVED = {
    "out",
    "resume",
    "steps",
    "preset",
    "dataset",
    "seed",
    "serving-root",
    "no-export",
    "checkpoint-every",
    "eval-every",
    "eval-samples",
    "eval-images",
    "log-every",
}
DIVERGED_OBJECTIVE = 1e9  # "large finite": the worst value a trial can record


class SearchError(ZooError, kt.errors.FatalError):
    """Bad input found inside a trial: Keras Tuner stops the search instead of recording
    a failed trial, and the recipe prints it as one line."""


def objective_direction(name: str) -> str:
    """``"min"`` or ``"max"`` for a suite metric (``zoo.sweep.DIRECTIONS``)."""
    from zoo.suite import METRIC_KEYS
    from zoo.sweep import DIRECTIONS

    direction = DIRECTIONS.get(name)
    if name not in METRIC_KEYS or direction not in (-1, 1):
        usable = [k for k in METRIC_KEYS if DIRECTIONS.get(k) in (-1, 1)]
        raise ZooError(
            f"--objective {name!r} is not a metric with a direction; choose from {', '.join(usable)}"
        )
    return "min" if direction == -1 else "max"


# ------------------------------------------------------------------------ the grid
def split_grid_flags(recipe, tokens: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Recipe flags after the search's own: ``--flag v`` stays fixed for every trial,
    ``--flag a,b,c`` becomes an axis. Each value is checked by the recipe's own parser
    (argparse's one-line error and exit 2 for a bad one)."""
    from zoo.recipe import build_parser

    parser = build_parser(recipe)
    known = {s.lstrip("-") for a in parser._actions for s in a.option_strings}
    fixed, axes = [], {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        flag, _, value = token.partition("=")
        name = flag.lstrip("-")
        if not flag.startswith("--") or name not in known:
            raise ZooError(f"unknown flag {token!r} for {recipe.family}'s recipe")
        if name in RESERVED:
            raise ZooError(f"--{name} is set by the search (see --help), not per trial")
        if not value:
            if i + 1 >= len(tokens):
                raise ZooError(f"--{name} needs a value")
            value, i = tokens[i + 1], i + 1
        i += 1
        values = [v.strip() for v in value.split(",")]
        if any(not v for v in values) or len(set(values)) != len(values):
            raise ZooError(f"--{name} {value!r}: expected distinct comma-separated values")
        for v in values:
            parser.parse_args([f"--{name}", v])
        if len(values) == 1:
            fixed += [f"--{name}", values[0]]
        else:
            axes[name] = values
    return fixed, axes


def default_grid(recipe, fixed: list[str]) -> dict[str, tuple[str, ...]]:
    """The family's default axes (module docstring), given the fixed flags."""
    from zoo.recipe import build_parser

    args = build_parser(recipe).parse_args(fixed)
    variant = recipe.variant(args) if recipe.variant else recipe.family_for(args)
    dropped = {f.replace("_", "-") for f in recipe.unused_flags} | {
        {"d_steps": "d-steps", "gp_weight": "gp-weight", "learning_rate": "lr"}.get(k, k)
        for k in recipe.fixed_preset
    }
    grid = {k: v for k, v in SHARED_GRID.items() if k not in dropped}
    return {**grid, **FAMILY_GRIDS.get(variant, {})}


def search_axes(recipe, fixed: list[str], overrides: dict[str, list[str]]) -> dict[str, list[str]]:
    """The default grid with the command line's axes replacing or adding axes; a flag
    fixed on the command line removes its axis."""
    fixed_names = {t[2:] for t in fixed[::2]}
    grid = {k: list(v) for k, v in default_grid(recipe, fixed).items() if k not in fixed_names}
    grid.update(overrides)
    return grid


class ResumableGridSearchOracle(kt.oracles.GridSearchOracle):
    """``GridSearchOracle`` that can resume (keras-tuner#1055, open for 1.4.8).

    GridSearchOracle keeps the tried combinations in an in-memory linked list
    (``_ordered_ids``) and a queue (``_populate_next``) that ``oracle.json`` does not
    save, so in a new process the first finished trial ends in ``KeyError: '<trial
    id>'``. On reload both are rebuilt from the saved trials: the list in the oracle's own
    combination order, and every trial queued once to propose its successor (a
    successor already tried is skipped, so no combination runs twice).
    """

    def set_state(self, state):
        super().set_state(state)
        values = {tid: t.hyperparameters.values for tid, t in self.trials.items()}
        order = sorted(values, key=functools.cmp_to_key(lambda a, b: self._compare(values[a], values[b])))
        self._ordered_ids = type(self._ordered_ids)()  # keras_tuner's own LinkedList
        for trial_id in order:
            self._ordered_ids.insert(trial_id)
        self._populate_next = list(order)


class ZooHyperModel(kt.HyperModel):
    """Builds and trains one zoo family per trial from ``hp``: the axes are the recipe's
    flags (``hp.Choice(flag, values)``, values kept as the command line's strings), the
    rest of the recipe's arguments are ``fixed``. ``fit`` trains for the plan's steps in
    ``run_dir``, evaluates with the suite on ``real`` and returns plain floats."""

    def __init__(self, recipe, fixed: list[str], axes: dict[str, list[str]], real, objective: str, **kwargs):
        super().__init__(name=recipe.family, **kwargs)
        self.recipe, self.fixed, self.axes = recipe, list(fixed), dict(axes)
        self.real, self.objective = real, objective
        self.direction = objective_direction(objective)

    def argv(self, hp) -> list[str]:
        """The recipe's command line of this trial (without --out)."""
        out = list(self.fixed)
        for flag, values in self.axes.items():
            out += [f"--{flag}", hp.Choice(flag, values)]
        return out

    def plan(self, hp, run_dir: Path | None = None):
        from zoo.recipe import build_parser, prepare

        extra = ["--out", str(run_dir)] if run_dir is not None else []
        args = build_parser(self.recipe).parse_args(self.argv(hp) + extra + ["--no-export"])
        return prepare(self.recipe, args)

    def build(self, hp):
        from zoo.recipe import build_model

        return build_model(self.plan(hp))

    def fit(self, hp, model, *args, run_dir: Path | None = None, **kwargs) -> dict:
        """Train in ``run_dir`` (a partial run left by an interrupted search is removed
        first), evaluate every checkpoint, write ``evaluation.json``; the metrics as
        floats, with ``diverged`` 0 or 1."""
        from zoo.recipe import execute

        if run_dir is None:
            raise ZooError("ZooHyperModel.fit needs run_dir (a trial's own directory)")
        run_dir = Path(run_dir)
        if run_dir.exists():  # an interrupted attempt of this trial: restart it
            shutil.rmtree(run_dir)
        plan = self.plan(hp, run_dir)
        t0 = time.perf_counter()
        record = {"values": dict(hp.values), "argv": self.argv(hp), "diverged": False}
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # the recipe's per-step log
                record["train"] = execute(plan, model)
            record.update(self._evaluate(model, run_dir))
        except TrainingDiverged as err:
            record.update(diverged=True, error=str(err))
        except ZooError as err:
            if "NaN or Inf" not in str(err):
                raise
            record.update(diverged=True, error=str(err))
        record["seconds"] = round(time.perf_counter() - t0, 1)
        write_json(run_dir.parent / "evaluation.json", record, sort_keys=False)
        return self.floats(record)

    def _evaluate(self, model, run_dir: Path) -> dict:
        from zoo.suite import CHEAP_KEYS, evaluate_model
        from zoo.sweep import flatten
        from zoo.training import restore_networks, run_checkpoints

        checkpoints = run_checkpoints(run_dir)
        curve, final = [], None
        for i, (step, path) in enumerate(checkpoints):
            restore_networks(model, path)
            last = i == len(checkpoints) - 1
            keys = None if last else tuple(dict.fromkeys(CHEAP_KEYS + (self.objective,)))
            metrics, _ = evaluate_model(model, self.real, keys)
            row = flatten(metrics)
            curve.append({"step": step, **{k: v for k, v in row.items() if isinstance(v, (int, float))}})
            final = row if last else final
        return {"metrics": final, "curve": curve}

    def floats(self, record: dict) -> dict:
        """What Keras Tuner records: every numeric final metric, ``diverged``, and the
        objective (``DIVERGED_OBJECTIVE`` towards the bad side for a diverged trial)."""
        if record["diverged"]:
            worst = DIVERGED_OBJECTIVE if self.direction == "min" else -DIVERGED_OBJECTIVE
            return {self.objective: worst, "diverged": 1.0}
        out = {
            k: float(v)
            for k, v in record["metrics"].items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        }
        if self.objective not in out:
            raise ZooError(f"the objective {self.objective} is not defined for {self.recipe.family}")
        return {**out, "diverged": 0.0}


class ZooGridSearch(kt.GridSearch):
    """``keras_tuner.GridSearch`` with the resumable oracle; each trial trains in its own
    ``trial_<id>/run`` and prints one progress line."""

    def __init__(self, hypermodel: ZooHyperModel, max_trials: int | None = None, **kwargs):
        oracle = ResumableGridSearchOracle(
            objective=kt.Objective(hypermodel.objective, hypermodel.direction),
            max_trials=max_trials,
            # A crash (not a divergence, which is recorded) stops the search at once.
            max_consecutive_failed_trials=1,
        )
        kt.Tuner.__init__(self, oracle=oracle, hypermodel=hypermodel, **kwargs)
        self.total = max_trials
        self._times: list[float] = []

    def run_trial(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        t0 = time.perf_counter()
        try:
            model = self.hypermodel.build(hp)
            result = self.hypermodel.fit(hp, model, run_dir=Path(self.get_trial_dir(trial.trial_id)) / "run")
        except ZooError as err:
            raise SearchError(f"trial {trial.trial_id} ({hp.values}): {err}") from None
        self._times.append(time.perf_counter() - t0)
        done = sum(1 for t in self.oracle.trials.values() if t.status == "COMPLETED") + 1
        left = max(0, (self.total or done) - done)
        eta = left * float(np.mean(self._times))
        combo = " ".join(f"{k}={v}" for k, v in hp.values.items())
        value = result[self.hypermodel.objective]
        state = "DIVERGED" if result["diverged"] else f"{self.hypermodel.objective} {value:.4g}"
        print(
            f"trial {trial.trial_id} ({done}/{self.total}): {combo}: {state}  "
            f"({self._times[-1]:.0f} s; about {_duration(eta)} left)",
            flush=True,
        )
        return result


# ------------------------------------------------------------------------ the recipe
def build_parser(family: str | None = None) -> argparse.ArgumentParser:
    from zoo.presets import PRESETS
    from zoo.recipe import positive_int

    p = argparse.ArgumentParser(
        description="Grid search (Keras Tuner) over a zoo family's recipe flags; any recipe flag given "
        "as a comma list (--lr 1e-4,3e-4 --lambda 0.1,1,10) is an axis, a single value is fixed.",
        epilog="Default axes: see zoo/tuning.py. Rerun the same command to resume.",
        allow_abbrev=False,  # --steps must not pass for --steps-per-trial
    )
    if family is None:
        p.add_argument("--family", required=True, help="a recipe name: recipes/train_<family>.py")
    p.add_argument("--preset", choices=list(PRESETS), default="cpu")
    p.add_argument("--dataset", default="fashion_mnist")
    p.add_argument("--steps-per-trial", type=positive_int, default=None, help="default: the preset's steps")
    p.add_argument("--checkpoints-per-trial", type=positive_int, default=4, help="points of the curves")
    p.add_argument("--max-trials", type=positive_int, default=None, help="default: the whole grid")
    p.add_argument("--objective", default="fid_reconstructions", help="a zoo.suite metric (default min FID)")
    p.add_argument("--seed", type=int, default=0, help="the same seed for every trial")
    p.add_argument("--eval-samples", type=positive_int, default=2000, help="samples/images per metric")
    p.add_argument("--probe-train", type=positive_int, default=2000, help="labelled images of the probes")
    p.add_argument("--extractor", choices=("domain", "inception"), default=None)
    p.add_argument("--inception-weights", default=None)
    p.add_argument("--out", default=None, help="default: tuning/<variant>-<dataset>-<preset>")
    p.add_argument("--serving-root", default="serving", help="where the best trial is exported")
    p.add_argument("--no-export", action="store_true")
    return p


def main(recipe=None, argv: list[str] | None = None, family: str | None = None) -> int:
    """``recipes/tune*.py``: parse, search, summarise, export the best trial. Exit code."""
    import sys

    parser = build_parser(family=recipe.family if recipe is not None else None)
    args, rest = parser.parse_known_args(argv)
    try:
        if recipe is None:
            recipe = load_recipe(args.family)
        return _main(recipe, args, rest)
    except ZooError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


def load_recipe(family: str):
    """The ``RECIPE`` of ``recipes/train_<family>.py``."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "recipes" / f"train_{family}.py"
    if not path.is_file():
        known = sorted(p.stem[len("train_") :] for p in path.parent.glob("train_*.py"))
        raise ZooError(f"no recipe for family {family!r}; known: {', '.join(known)}")
    spec = importlib.util.spec_from_file_location(f"train_{family}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.RECIPE


def _main(recipe, args, rest: list[str]) -> int:
    from zoo.extractors import choose_extractor
    from zoo.presets import get_preset
    from zoo.recipe import build_parser as recipe_parser
    from zoo.suite import EvalSettings, RealData, real_reference

    direction = objective_direction(args.objective)
    fixed, overrides = split_grid_flags(recipe, rest)
    axes = search_axes(recipe, fixed, overrides)
    if not axes:
        raise ZooError("nothing to search: every axis is fixed")
    steps = args.steps_per_trial or get_preset(args.preset).steps
    every = max(1, steps // args.checkpoints_per_trial)
    fixed = fixed + ["--preset", args.preset, "--dataset", args.dataset, "--steps", str(steps)]
    fixed += [
        "--seed",
        str(args.seed),
        "--checkpoint-every",
        str(every),
        "--eval-images",
        str(args.eval_samples),
    ]
    recipe_args = recipe_parser(recipe).parse_args(fixed)
    variant = recipe.variant(recipe_args) if recipe.variant else recipe.family_for(recipe_args)
    out = Path(args.out or f"tuning/{variant}-{args.dataset}-{args.preset}")
    spec = {"family": recipe.family, "fixed": fixed, "axes": axes, "objective": args.objective}
    spec_path = out / "search.json"
    if spec_path.exists():
        stored = json.loads(spec_path.read_text())
        if stored != spec:
            raise ZooError(
                f"{out} holds a search with other settings ({_spec_diff(stored, spec)}); "
                "rerun its command to resume it or choose another --out"
            )
    settings = EvalSettings(n_samples=args.eval_samples, probe_train=args.probe_train, seed=args.seed)
    real = RealData(
        args.dataset, choose_extractor(args.dataset, args.extractor, args.inception_weights), settings
    )
    size = math.prod(len(v) for v in axes.values())
    total = min(size, args.max_trials or size)
    hypermodel = ZooHyperModel(recipe, fixed, axes, real, args.objective)
    print(
        f"search {out}: {total} of {size} combinations of "
        + ", ".join(f"--{k} {','.join(v)}" for k, v in axes.items())
        + f"; {steps} steps each; objective {args.objective} ({direction})",
        flush=True,
    )
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(spec_path, json.dumps(spec, indent=2) + "\n")
    tuner = ZooGridSearch(hypermodel, max_trials=total, directory=str(out), project_name="search")
    t0 = time.perf_counter()
    tuner.search(verbose=0)
    trials = collect_trials(tuner, hypermodel)
    summary = summarise(trials, out, args.objective, direction, list(axes), real_reference(real))
    print(summary["markdown"], end="")
    print(
        f"search finished: {len(trials)} trials; this invocation {time.perf_counter() - t0:.0f} s", flush=True
    )
    best = summary["best"]
    if best is not None and not args.no_export:
        _export_best(best, out, args.serving_root)
    return 0


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _spec_diff(a: dict, b: dict) -> str:
    keys = [k for k in b if a.get(k) != b.get(k)]
    return "; ".join(f"{k}: {a.get(k)} != {b.get(k)}" for k in keys)


def collect_trials(tuner: ZooGridSearch, hypermodel: ZooHyperModel) -> list[dict]:
    """Every finished trial: id, hyper-parameter values, its ``evaluation.json`` record
    and the objective Keras Tuner recorded."""
    out = []
    for trial_id, trial in sorted(tuner.oracle.trials.items()):
        path = Path(tuner.get_trial_dir(trial_id)) / "evaluation.json"
        if trial.status != "COMPLETED" or not path.is_file():
            continue
        record = json.loads(path.read_text())
        objective = trial.metrics.get_last_value(hypermodel.objective)
        out.append({"trial": trial_id, "run_dir": str(path.parent / "run"), "objective": objective, **record})
    return out


def summarise(
    trials: list[dict], out: Path, objective: str, direction: str, axes: list[str], reference: dict
) -> dict:
    """``trials.csv`` / ``trials.md`` (sorted by the objective, every metric), ``best.md``
    (best three per metric), ``curves.png`` (objective vs step, one colour per λ)."""
    from zoo import plots
    from zoo.sweep import best_markdown, best_three, csv_text

    sign = 1 if direction == "min" else -1
    ordered = sorted(trials, key=lambda t: (t["diverged"], sign * t["objective"]))
    rows = []
    for t in ordered:
        row = {"trial": t["trial"], **t["values"], "diverged": int(t["diverged"]), objective: t["objective"]}
        row.update({k: v for k, v in (t.get("metrics") or {}).items() if k != objective})
        row["seconds"] = t["seconds"]
        rows.append(row)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    write_text_atomic(out / "trials.csv", csv_text(rows))
    shown = ["trial", *axes, objective, "diverged", "fid_samples", "feature_l2", "psnr_mean", "seconds"]
    shown = list(dict.fromkeys(c for c in shown if c in columns))
    lines = ["| " + " | ".join(shown) + " |", "|" + " --- |" * len(shown)]
    lines += ["| " + " | ".join(_cell(r.get(c)) for c in shown) + " |" for r in rows]
    markdown = "\n".join(lines) + "\n"
    write_text_atomic(out / "trials.md", markdown)
    finished = [
        {"run": f"trial {t['trial']}", "step": t["curve"][-1]["step"], **t["metrics"]}
        for t in ordered
        if not t["diverged"]
    ]
    best3 = best_three(finished, reference)
    write_text_atomic(out / "best.md", best_markdown(best3))
    colour_by = next((a for a in axes if a.startswith("lambda")), axes[0])
    curves = [
        {"label": t["trial"], "values": t["values"], "curve": t["curve"]}
        for t in ordered
        if not t["diverged"]
    ]
    figure = plots.tuning_curves(curves, objective, colour_by, out / "curves.png")
    best = next((t for t in ordered if not t["diverged"]), None)
    return {"rows": rows, "markdown": markdown, "best": best, "figure": figure, "best_three": best3}


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _export_best(best: dict, out: Path, serving_root: str) -> None:
    """Export the best trial's run (once per best trial: a rerun does not add versions)."""
    from export.serving import export_run

    marker = out / "best_export.json"
    if marker.exists() and json.loads(marker.read_text()).get("trial") == best["trial"]:
        print(f"best trial {best['trial']} already exported: {marker}", flush=True)
        return
    summary = export_run(best["run_dir"], serving_root)
    write_text_atomic(marker, json.dumps({"trial": best["trial"], **summary}, indent=2) + "\n")
    for name, info in summary["models"].items():
        print(f"exported best trial {best['trial']}: {name} version {info['version']} -> {info['path']}")
