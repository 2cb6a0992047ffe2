"""The zoo's training step against the PyTorch reference scripts, in one invocation.

Workloads (the same networks and losses on both sides):
  ige_cpu  - the `cpu` preset IGE-GAN step: 28x28x1, width 1/4, d_z 64, batch 64, x_ae
             joint (one D, one G and one E update), no GP            -> img/s
  sndcgan  - the full-width SN-DCGAN GAN step at 32x32x3, d_z 64, batch 64, NS loss +
             WGAN-GP weight 1 (one D and one G update)              -> img/s
  mlp_2d   - the 2-D point GAN (architecture="mlp", d_z 2, batch 100), Adam(1e-4, 0.8)
                                                                     -> steps/s
Zoo columns: `before` is the loop the zoo had until this benchmark (one step per call,
batches from tf.data); `fused` is what `zoo.training.train` runs now (in-graph batches,
the k steps of a block in one tf.while_loop), in float32 and mixed_bfloat16, each with
and without XLA. PyTorch columns run `../shared/anchors/torch_*.py` in a subprocess
(eager fp32 and bf16 autocast); they are skipped with a note where torch or the scripts
are missing. CPU % is process CPU time over wall time (200 % = both cores busy).

    python benchmarks/compare_pytorch.py [--rows ige_cpu,sndcgan,mlp_2d] [--json FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import zoo  # noqa: E402, F401
from zoo.data import InMemoryBatches  # noqa: E402
from zoo.models import GAN, IGEGAN  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

WORKLOADS = {
    "ige_cpu": dict(
        cls=IGEGAN,
        kwargs=dict(resolution=28, channels=1, latent_dim=64, width=0.25, inversion="x_ae"),
        shape=(28, 28, 1),
        batch=64,
        lr=(2e-4, 0.5),
        steps=100,
        block=50,
        xla_steps=4,
        unit="img/s",
        torch=["torch_sndcgan.py", "--res", "28", "--ch", "1", "--width", "0.25", "--gp", "0"]
        + ["--steps", "100", "--warmup", "10", "--encoder", "--modes", "eager_fp32,eager_bf16"],
    ),
    "sndcgan": dict(
        cls=GAN,
        kwargs=dict(resolution=32, channels=3, latent_dim=64, width=1.0, gp_weight=1.0),
        shape=(32, 32, 3),
        batch=64,
        lr=(2e-4, 0.5),
        steps=8,
        block=4,
        xla_steps=2,
        unit="img/s",
        torch=["torch_sndcgan.py", "--res", "32", "--ch", "3", "--width", "1", "--gp", "1"]
        + ["--steps", "8", "--warmup", "2", "--modes", "eager_fp32,eager_bf16"],
    ),
    "mlp_2d": dict(
        cls=GAN,
        kwargs=dict(resolution=1, channels=2, latent_dim=2, width=1.0, architecture="mlp"),
        shape=(2,),
        batch=100,
        lr=(1e-4, 0.8),
        steps=4000,
        block=100,
        unit="steps/s",
        torch=["torch_mlp_gan.py", "--arch", "zoo", "--steps", "4000", "--modes", "eager"],
    ),
}


def _data(w: dict) -> np.ndarray:
    rng = np.random.default_rng(0)
    if w["shape"] == (2,):
        return rng.standard_normal((10_000, 2)).astype(np.float32)
    return rng.integers(0, 256, (4096, *w["shape"]), dtype=np.uint8)


def _model(w: dict, precision: str, jit: bool):
    keras.mixed_precision.set_global_policy(precision)
    try:
        model = w["cls"](seed=0, **w["kwargs"])
    finally:
        keras.mixed_precision.set_global_policy("float32")
    lr, beta_1 = w["lr"]
    model.compile(learning_rate=lr, beta_1=beta_1, jit_compile=jit)
    return model


def _rate(w: dict, steps: int, seconds: float) -> float:
    return steps * (w["batch"] if w["unit"] == "img/s" else 1) / seconds


def time_before(w: dict) -> tuple[float, float]:
    """The zoo's previous loop: tf.data batches, one step per call (Keras' default)."""
    model = _model(w, "float32", False)
    data = _data(w)
    ds = tf.data.Dataset.from_tensor_slices(data).shuffle(len(data), seed=0).repeat()
    ds = ds.batch(w["batch"], drop_remainder=True)
    ds = ds.map(lambda x: tf.cast(x, tf.float32) / 255.0 if x.dtype == tf.uint8 else x).prefetch(
        tf.data.AUTOTUNE
    )
    model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0)
    t0, c0 = time.perf_counter(), time.process_time()
    model.fit(ds, steps_per_epoch=w["steps"], epochs=1, verbose=0)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    return _rate(w, w["steps"], dt), 100 * cpu / dt


def time_inference(model, w: dict, images: int = 500, repeats: int = 10) -> float:
    """G and E of ``model`` on ``images`` inputs of workload ``w``, traced, after a warm-up
    call: img/s (each image counts once, through both networks)."""
    import tensorflow as tf

    gen = tf.function(lambda z: model.generator(z, training=False))
    enc = tf.function(lambda x: model.encoder(x, training=False))
    z = tf.random.normal((images, model.latent_dim), seed=0)
    x = tf.random.uniform((images, *w["shape"]), seed=0)
    gen(z), enc(x)
    t0 = time.perf_counter()
    for _ in range(repeats):
        gen(z), enc(x)
    return repeats * images / (time.perf_counter() - t0)


def time_fused(w: dict, precision: str, jit: bool) -> tuple[float, float]:
    """What zoo.training.train runs: in-graph batches, ``block`` steps per call (XLA's
    convolutions are so slow here that the image rows time them on a few steps only)."""
    model = _model(w, precision, jit)
    source = InMemoryBatches(_data(w), w["batch"], seed=0)
    steps, block = (w["xla_steps"], w["xla_steps"]) if jit and "xla_steps" in w else (w["steps"], w["block"])
    print(f"{w['cls'].__name__} {precision} xla={jit}: {steps} steps in blocks of {block}", flush=True)
    model.fit_source(source, block, block)  # trace + warm up
    t0, c0 = time.perf_counter(), time.process_time()
    model.fit_source(source, steps, block)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    return _rate(w, steps, dt), 100 * cpu / dt


def step_gflop(w: dict) -> float | None:
    """FLOPs of one traced training step (TF's per-op FLOP statistics: convolutions,
    their gradients, matmuls, ...) in GFLOP, for the image workloads."""
    if w["shape"] == (2,):
        return None

    model = _model(w, "float32", False)
    fn = tf.function(model.train_step).get_concrete_function(
        tf.TensorSpec((w["batch"], *w["shape"]), tf.float32)
    )
    opts = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    opts["output"] = "none"
    prof = tf.compat.v1.profiler.profile(fn.graph, options=opts)
    return prof.total_float_ops / 1e9


def time_torch(w: dict, anchors: Path) -> tuple[dict | None, str]:
    if importlib.util.find_spec("torch") is None:
        return None, "torch is not installed (pip install 'torch==2.13.0+cpu')"
    script = anchors / w["torch"][0]
    if not script.is_file():
        return None, f"{script} not found (--anchors DIR)"
    out = subprocess.run(
        [sys.executable, str(script), *w["torch"][1:]], capture_output=True, text=True, check=False
    )
    if out.returncode:
        return None, f"{script.name} failed: {out.stderr.strip().splitlines()[-1:]}"
    result = json.loads(out.stdout.strip().splitlines()[-1])
    fp32 = result.get("eager_fp32", result.get("eager_steps_s"))
    return {"fp32": fp32, "bf16": result.get("eager_bf16")}, f"torch {result['torch']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=",".join(WORKLOADS))
    parser.add_argument("--anchors", default=str(ROOT.parent / "shared" / "anchors"))
    parser.add_argument(
        "--xla-images",
        action="store_true",
        help="also time XLA on the image rows (minutes: XLA's CPU convolutions ran 40x slower here)",
    )
    parser.add_argument("--json", default=None, help="write the results here too")
    args = parser.parse_args()
    rows = []
    for name in args.rows.split(","):
        w = WORKLOADS[name]
        row = {"workload": name, "unit": w["unit"]}
        row["zoo_before_fp32"], row["cpu_pct_before"] = time_before(w)
        for precision, tag in (("float32", "fp32"), ("mixed_bfloat16", "bf16")):
            for jit in (False, True) if w["shape"] == (2,) or args.xla_images else (False,):
                key = f"zoo_fused_{tag}" + ("_xla" if jit else "")
                row[key], row[f"cpu_pct_{tag}" + ("_xla" if jit else "")] = time_fused(w, precision, jit)
        torch, note = time_torch(w, Path(args.anchors))
        row["torch_note"] = note
        row["torch_eager_fp32"] = torch and torch["fp32"]
        row["torch_eager_bf16"] = torch and torch["bf16"]
        row["step_gflop"] = step_gflop(w)
        zoo_fp32 = max(row["zoo_fused_fp32"], row.get("zoo_fused_fp32_xla", 0.0))
        zoo_best = max(v for k, v in row.items() if k.startswith("zoo_fused_"))
        row["zoo_best"] = max((v, k) for k, v in row.items() if k.startswith("zoo_fused_"))[1]
        if torch:
            row["ratio_fp32"] = zoo_fp32 / torch["fp32"]
            row["ratio_best_vs_torch_fp32"] = zoo_best / torch["fp32"]
            if torch["bf16"]:
                row["ratio_best_vs_torch_bf16"] = zoo_best / torch["bf16"]
        if row["step_gflop"]:
            per_image = row["step_gflop"] / w["batch"]
            row["gflop_s_fp32"] = per_image * zoo_fp32
        row = {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}
        rows.append(row)
        print(json.dumps(row), flush=True)
    info = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }
    print(json.dumps(info))
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, **info}, indent=2) + "\n")


if __name__ == "__main__":
    main()
