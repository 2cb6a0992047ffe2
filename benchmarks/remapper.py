"""Grappler's remapper on vs off: training and inference speed of the cpu-preset IGE-GAN.

The zoo's command-line programs turn the remapper off (``zoo.cli.configure_tensorflow``)
because it fails on every training graph and prints an error line. This measures what
that costs: each setting runs in its own process (the option is process-wide), the two
alternate ``--repeats`` times, and the medians are compared in one invocation.

python benchmarks/remapper.py --repeats 3 --json benchmarks/results/remapper_cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(remapping: bool) -> dict:
    """One process: fused training steps and G+E inference, img/s."""
    import tensorflow as tf

    if not remapping:
        tf.config.optimizer.set_experimental_options({"remapping": False})
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import compare_pytorch as cp

    w = cp.WORKLOADS["ige_cpu"]
    train, _ = cp.time_fused(w, "float32", False)
    model = cp._model(w, "float32", False)
    return {"train_img_s": train, "inference_img_s": cp.time_inference(model, w)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None)
    parser.add_argument("--child", choices=["on", "off"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child == "on")))
        return
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    runs: dict[str, list[dict]] = {"on": [], "off": []}
    for _ in range(args.repeats):
        for setting in ("on", "off"):
            proc = subprocess.run(
                [sys.executable, __file__, "--child", setting],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
            runs[setting].append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(setting, {k: round(v) for k, v in runs[setting][-1].items()}, flush=True)
    summary = {s: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for s, rs in runs.items()}
    for key in ("train_img_s", "inference_img_s"):
        on, off = summary["on"][key], summary["off"][key]
        print(f"{key}: remapper on {on:.0f}, off {off:.0f}, off/on {off / on:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": runs, "median": summary}, indent=2) + "\n")


if __name__ == "__main__":
    main()
