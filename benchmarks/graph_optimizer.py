"""Grappler on vs off: how long a run takes to start, and how fast it then trains.

``off`` sets ``tf.config.optimizer.set_experimental_options({"disable_meta_optimizer":
True})`` before any graph is built: TensorFlow's graph optimiser (Grappler) does not
run. A profile of one resume test suggested that tiny runs spend much of their time
optimising graphs; this measures what turning it off buys and costs, on the cpu-preset
IGE-GAN step (``compare_pytorch.WORKLOADS["ige_cpu"]``) and on the same model at the
``tiny`` width the tests use. Each setting runs in its own process (the option is
process-wide); the two alternate ``--repeats`` times and the medians are compared in
one invocation. Both settings keep the command-line programs' remapper-off option
(``zoo.cli.configure_tensorflow``).

  start_s      - the first ``fit_source`` block: trace, optimise, run ``block`` steps
  train_img_s  - steady-state training after it
  inference_img_s - G and E on 500 images, traced, after a warm-up call

python benchmarks/graph_optimizer.py --repeats 3 --json benchmarks/results/graph_optimizer_cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDTHS = {"cpu": 0.25, "tiny": 1 / 16}


def measure(width: float, optimizer: bool) -> dict:
    """One process: the first block (start-up), then steady training and inference."""
    import tensorflow as tf

    if not optimizer:
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import compare_pytorch as cp

    from zoo.cli import configure_tensorflow

    configure_tensorflow()
    w = dict(cp.WORKLOADS["ige_cpu"])
    w["kwargs"] = {**w["kwargs"], "width": width}
    model = cp._model(w, "float32", False)
    source = cp.InMemoryBatches(cp._data(w), w["batch"], seed=0)
    t0 = time.perf_counter()
    model.fit_source(source, w["block"], w["block"])
    start = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.fit_source(source, w["steps"], w["block"])
    train = w["steps"] * w["batch"] / (time.perf_counter() - t0)
    return {"start_s": start, "train_img_s": train, "inference_img_s": cp.time_inference(model, w)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None)
    parser.add_argument("--child", choices=list(WIDTHS), help=argparse.SUPPRESS)
    parser.add_argument("--child-setting", choices=("on", "off"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(WIDTHS[args.child], args.child_setting == "on")))
        return
    runs: dict[str, list[dict]] = {}
    for _ in range(args.repeats):
        for width in WIDTHS:
            for setting in ("on", "off"):
                env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
                proc = subprocess.run(
                    [sys.executable, __file__, "--child", width, "--child-setting", setting],
                    capture_output=True,
                    text=True,
                    env=env,
                    check=True,
                )
                key = f"{width}/{setting}"
                runs.setdefault(key, []).append(json.loads(proc.stdout.strip().splitlines()[-1]))
                print(key, {k: round(v, 2) for k, v in runs[key][-1].items()}, flush=True)
    summary = {s: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for s, rs in runs.items()}
    for width in WIDTHS:
        on, off = summary[f"{width}/on"], summary[f"{width}/off"]
        print(
            f"{width}: start {on['start_s']:.2f} s on, {off['start_s']:.2f} s off; "
            f"off/on train {off['train_img_s'] / on['train_img_s']:.3f}, "
            f"inference {off['inference_img_s'] / on['inference_img_s']:.3f}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": runs, "median": summary}, indent=2) + "\n")


if __name__ == "__main__":
    main()
