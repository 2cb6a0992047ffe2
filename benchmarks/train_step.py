"""Train-step throughput of the full-width SN-DCGAN at 32x32x3, d_z = 64, batch 64.

Times, in one process and on the same networks:
  plain  - a hand-written tf.function step (GradientTape, NS loss + WGAN-GP), the
           "plain TF/Keras" baseline;
  zoo    - the zoo's GAN train_step through model.fit (same objective);
  ige    - the zoo's IGE-GAN (x_ae, joint) train_step: D, G and E updates;
each in float32 and in mixed_bfloat16. Prints img/s and the zoo/plain ratio.

    python benchmarks/train_step.py [--steps 10] [--xla]
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import zoo  # noqa: E402, F401
from zoo import losses, networks  # noqa: E402
from zoo.models import GAN, IGEGAN  # noqa: E402

RES, CH, DZ, BATCH, GP = 32, 3, 64, 64, 1.0


def plain_step_fn(jit: bool):
    g = networks.build_generator(RES, CH, DZ, 1.0)
    d = networks.build_discriminator(RES, CH, 1.0)
    opt_g, opt_d = keras.optimizers.Adam(2e-4, 0.5), keras.optimizers.Adam(2e-4, 0.5)
    opt_g.build(g.trainable_variables)
    opt_d.build(d.trainable_variables)

    @tf.function(jit_compile=jit)
    def step(x):
        z = tf.random.normal((BATCH, DZ))
        with tf.GradientTape() as tape:
            fake = g(z, training=True)
            real_logits, fake_logits = tf.split(d(tf.concat([x, fake], 0), training=True), 2)
            a = tf.random.uniform((BATCH, 1, 1, 1))
            x_hat = a * x + (1 - a) * tf.cast(fake, x.dtype)
            with tf.GradientTape() as inner:
                inner.watch(x_hat)
                logits = d(x_hat, training=True)
            gp = losses.gradient_penalty(inner.gradient(logits, x_hat))
            loss = losses.ns_discriminator_loss(real_logits, fake_logits) + GP * gp
        opt_d.apply_gradients(zip(tape.gradient(loss, d.trainable_variables), d.trainable_variables))
        z = tf.random.normal((BATCH, DZ))
        with tf.GradientTape() as tape:
            loss = losses.ns_generator_loss(d(g(z, training=True), training=True))
        opt_g.apply_gradients(zip(tape.gradient(loss, g.trainable_variables), g.trainable_variables))

    return step


def time_plain(steps: int, jit: bool) -> float:
    step = plain_step_fn(jit)
    x = tf.random.uniform((BATCH, RES, RES, CH))
    for _ in range(2):
        step(x)
    t0 = time.perf_counter()
    for _ in range(steps):
        step(x)
    return steps * BATCH / (time.perf_counter() - t0)


def time_zoo(cls, steps: int, jit: bool, **kwargs) -> float:
    model = cls(resolution=RES, channels=CH, latent_dim=DZ, width=1.0, gp_weight=GP, seed=0, **kwargs)
    model.compile(learning_rate=2e-4, jit_compile=jit)
    ds = tf.data.Dataset.from_tensors(tf.random.uniform((BATCH, RES, RES, CH))).repeat()
    model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0)  # trace + warm up
    t0 = time.perf_counter()
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps * BATCH / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--xla", action="store_true", help="also time jit_compile=True")
    parser.add_argument("--json", default=None, help="write the results here too")
    args = parser.parse_args()
    rows = []
    for policy in ("float32", "mixed_bfloat16"):
        for jit in (False, True) if args.xla else (False,):
            keras.mixed_precision.set_global_policy(policy)
            plain = time_plain(args.steps, jit)
            gan = time_zoo(GAN, args.steps, jit)
            ige = time_zoo(IGEGAN, args.steps, jit, inversion="x_ae")
            row = {
                "policy": policy,
                "xla": jit,
                "plain_img_s": round(plain, 1),
                "zoo_gan_img_s": round(gan, 1),
                "zoo_ige_gan_img_s": round(ige, 1),
                "zoo_over_plain": round(gan / plain, 3),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    keras.mixed_precision.set_global_policy("float32")
    print(
        f"device: {tf.config.list_physical_devices()[-1].device_type}, threads: {os.cpu_count()}, "
        f"tf {tf.__version__}, keras {keras.__version__}"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    np.random.seed(0)
    main()
