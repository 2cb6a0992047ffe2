"""The zoo table (issue #17): train every family, score it, check the papers' claims.

python recipes/zoo_table.py                                  # every family, cpu preset
python recipes/zoo_table.py --families gan,bigan --seeds 0   # some of them
python recipes/zoo_table.py --report-only                    # rebuild the table from evals/

Each (family, seed) is trained by its own recipe (``recipes/train_*.py --no-export``)
into ``--runs DIR/<family>-seed<S>``, then scored with the evaluation suite (the shipped
domain extractor, ``--eval-samples`` images) and the two class metrics. The table,
``claims.json`` and the montage under ``--out`` are rebuilt after every run. Stop it at
any time and start it again: finished runs are kept, an interrupted one resumes from its
newest checkpoint. The families the claims name (and the z_adv ones) train on every seed
of ``--seeds``; the others on its first seed unless ``--all-seeds``. See ``zoo.table``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's zoo, not another clone's

from zoo.cli import run_main
from zoo.errors import ZooError
from zoo.files import check_writable_dir, directory_lock


def seed_list(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"expected distinct comma-separated integers, got {text!r}")
    return seeds


def build_parser() -> argparse.ArgumentParser:
    from zoo.data import DATASETS
    from zoo.presets import PRESETS
    from zoo.recipe import positive_int
    from zoo.table import ENTRIES

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--families", default=",".join(ENTRIES), help="comma-separated (default: all)")
    p.add_argument("--seeds", type=seed_list, default=[0, 1, 2], help="default: 0,1,2")
    p.add_argument("--all-seeds", action="store_true", help="train every family on every seed")
    p.add_argument("--preset", choices=list(PRESETS), default="cpu")
    p.add_argument(
        "--dataset", choices=sorted(DATASETS), default="fashion_mnist", help="default: fashion_mnist"
    )
    p.add_argument("--steps", type=positive_int, help="override every recipe's steps (e.g. a quick look)")
    p.add_argument(
        "--eval-samples", type=positive_int, default=10_000, help="images per metric (default 10000)"
    )
    p.add_argument("--out", default="recipes/results/zoo_table", help="table, claims, montage, evals/")
    p.add_argument("--runs", default="runs/zoo_table", help="the run directories (checkpoints)")
    p.add_argument("--cache-dir", default=None, help="real-data statistics cache")
    p.add_argument(
        "--report-only", action="store_true", help="rebuild the table from --out/evals; train nothing"
    )
    return p


def main(args: argparse.Namespace) -> int:
    from zoo.suite import EvalSettings
    from zoo.table import ENTRIES, run_table, write_report

    families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = [f for f in families if f not in ENTRIES]
    if unknown or not families:
        raise ZooError(f"--families: unknown {unknown or '(none given)'}; known: {', '.join(ENTRIES)}")
    out, runs = Path(args.out), Path(args.runs)
    check_writable_dir(out, "--out")
    t0 = time.perf_counter()
    with directory_lock(out):
        if args.report_only:
            if not (out / "evals").is_dir():
                raise ZooError(f"--report-only: {out / 'evals'} does not exist; nothing to tabulate")
            summary = write_report(out)
        else:
            check_writable_dir(runs, "--runs")
            extra = ["--steps", str(args.steps)] if args.steps else []
            settings = EvalSettings(n_samples=args.eval_samples, probe_train=args.eval_samples)
            summary = run_table(
                families,
                args.seeds,
                out,
                runs,
                preset=args.preset,
                dataset=args.dataset,
                eval_settings=settings,
                all_seeds=args.all_seeds,
                extra=extra,
                cache_dir=args.cache_dir,
                log=lambda text: print(text, flush=True),
            )
    print(
        f"wrote {out}/zoo_table.md, zoo_table.csv, claims.json, montage.png in "
        f"{time.perf_counter() - t0:.0f} s; claims holding: {summary['claims_held']} of {len(summary['claims'])}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(run_main(build_parser(), main))
