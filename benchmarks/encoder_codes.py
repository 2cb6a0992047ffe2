"""Where a BiGAN-family encoder puts its codes, and whether its D could tell (issue #17).

For each run directory: statistics of E(x) on held-out images for the untrained encoder
(rebuilt from the run's config under its seed, as its recipe starts) and for every
checkpoint, next to the prior's: ‖E(x)‖/√d_z, the norm of the codes' mean, the mean
per-dimension standard deviation and the mean cosine between the codes of two different
images (≈ 0 for the prior; near 1 when every image gets nearly the same code). Then,
from the newest checkpoint, the joint discriminator alone trains on the run's own real
pairs (x, E(x)) and fake pairs (G(z), z) with E and G frozen (Adam at the run's D rate and
betas), printing its loss and the logit gaps real − fake and D(x, E(x)) − D(x, z ~ P_Z)
(the part of its verdict that comes from the codes):

    python benchmarks/encoder_codes.py RUN_DIR [RUN_DIR ...] --json OUT.json

``benchmarks/results/encoder_codes_bigan.json`` measured six runs (cpu preset, Fashion-MNIST,
seed 0): five of 1 500 steps from ``python recipes/train_bigan.py --steps 1500 --no-export``
with nothing else, ``--variant bigan_x_ae``, ``--lr-ratio d=5``, ``--d-steps 5`` and
``--lr-ratio e=0.1`` (checkpoints at 1 000 and 1 500), and the zoo table's
``bigan_separate_scores-seed0`` (5 000 steps). Each run is measured on its own dataset.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.metrics.pairwise import cosine_similarity  # noqa: E402

from zoo import data, files, losses  # noqa: E402
from zoo.errors import ZooError  # noqa: E402
from zoo.table import cpu_model, git_commit  # noqa: E402
from zoo.training import load_run, restore_networks, run_checkpoints  # noqa: E402


def code_statistics(codes: np.ndarray) -> dict:
    """Summary of codes [N, d_z]; the mean cosine is over pairs of different rows."""
    n, d = codes.shape
    cos = cosine_similarity(codes)
    return {
        "norm_ratio": float(np.linalg.norm(codes, axis=1).mean() / np.sqrt(d)),
        "mean_norm": float(np.linalg.norm(codes.mean(axis=0))),
        "std_per_dim": float(codes.std(axis=0).mean()),
        "mean_pairwise_cosine": float((cos.sum() - np.trace(cos)) / (n * (n - 1))),
    }


def encode(model, x: np.ndarray) -> np.ndarray:
    return np.asarray(model.encoder(x, training=False))


def critic_alone(
    model, train: np.ndarray, steps: int, lr: float, seed: int, batch: int = 64, every: int = 50
) -> list[dict]:
    """Train ``model``'s joint D by itself (E, G frozen, in inference mode) for ``steps``
    steps of ``batch`` pairs; rows of (step, loss, gaps) every ``every`` steps."""
    head = model._head(0)  # D's logit as the model's game plays it (summed scores too)
    variables = model.discriminator.trainable_variables
    opt = keras.optimizers.Adam(lr, beta_1=model.adam_betas[0], beta_2=model.adam_betas[1])
    rng = np.random.default_rng(seed)

    @tf.function
    def step(x, z, z_other):
        code, fake = model.encoder(x, training=False), model.generator(z, training=False)
        with tf.GradientTape() as tape:
            real_logits, fake_logits = head([x, code]), head([fake, z])
            loss = losses.ns_discriminator_loss(real_logits, fake_logits)
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        gap = tf.reduce_mean(real_logits) - tf.reduce_mean(fake_logits)
        code_gap = tf.reduce_mean(real_logits) - tf.reduce_mean(head([x, z_other]))
        return loss, gap, code_gap

    rows = []
    for i in range(steps + 1):
        x = train[rng.integers(0, len(train), batch)].astype(np.float32) / 255.0  # uint8 -> [0, 1]
        z, z_other = (model.prior_samples(batch, rng) for _ in range(2))
        loss, gap, code_gap = (float(v) for v in step(x, z, z_other))
        if i % every == 0:
            rows.append({"step": i, "loss": loss, "logit_gap": gap, "code_gap": code_gap})
            print(f"  D alone, step {i:4d}: loss {loss:.3f}  real - fake {gap:6.2f}  codes {code_gap:6.2f}")
    return rows


def measure(run_dir: str, images: int, critic_steps: int, seed: int = 0) -> dict:
    config, model = load_run(run_dir)
    if not hasattr(model, "_head") or getattr(model, "encoder", None) is None:
        raise ZooError(f"{run_dir} is a {config['family']} run; this measures BiGAN-family runs (a joint D)")
    dataset = config["settings"]["dataset"]
    x, train = data.test_images(dataset, images), data.train_array(dataset)
    prior = code_statistics(model.prior_samples(len(x), np.random.default_rng(seed)))
    print(f"prior: cosine {prior['mean_pairwise_cosine']:.3f}, std/dim {prior['std_per_dim']:.3f}")
    keras.utils.set_random_seed(int(config["settings"]["seed"]))
    fresh = type(model).from_config(model.get_config())
    result = {
        "family": config["family"],
        "settings": config["settings"],
        "model": config["model"],
        "prior": prior,
    }
    result["untrained"] = code_statistics(encode(fresh, x))
    rows = []
    for step, path in run_checkpoints(run_dir):
        restore_networks(model, path)
        rows.append({"step": step, **code_statistics(encode(model, x))})
    result["checkpoints"] = rows
    for name, s in [("untrained", result["untrained"]), *((f"step {r['step']}", r) for r in rows)]:
        print(
            f"{name:>10}: ‖E(x)‖/√d {s['norm_ratio']:.3f}  ‖mean‖ {s['mean_norm']:.2f}  "
            f"std/dim {s['std_per_dim']:.3f}  cosine {s['mean_pairwise_cosine']:.3f}"
        )
    lr = float(config["settings"]["lr"]) * model.lr_ratios.get("d", 1.0)
    result["critic_alone"] = critic_alone(
        model, train, critic_steps, lr, seed, int(config["settings"]["batch_size"])
    )
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="run directories of BiGAN-family recipes")
    p.add_argument("--images", type=int, default=1000, help="held-out images (default 1000)")
    p.add_argument("--critic-steps", type=int, default=300, help="steps of D alone (default 300)")
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--seed", type=int, default=0, help="seed of the prior draws and D's batches")
    args = p.parse_args()
    result = {"commit": git_commit(), "machine": cpu_model(), "images": args.images, "runs": {}}
    try:
        for run in args.runs:
            print(run, flush=True)
            result["runs"][Path(run).name] = measure(run, args.images, args.critic_steps, args.seed)
    except ZooError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        files.write_json(args.json, result, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
