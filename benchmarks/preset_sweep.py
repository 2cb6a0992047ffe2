"""Compare training settings of a family (IGE-GAN x_ae joint by default) on Fashion-MNIST by a
quick in-domain FID.

How the ``cpu`` preset was chosen (README, "Presets"). Every ``--every`` steps it scores
2,000 samples against 2,000 held-out test images by the Fréchet distance of the 128-d
penultimate features of a small convnet trained on the train split (3 epochs, ~90 % test
accuracy; cached in ``--classifier``), an in-domain stand-in for FID until the
evaluation suite's extractor exists (issue #4). Real-vs-real on two halves of 4,000 test
images scores ~0.45 on this scale. Also prints the in-domain Inception score and the
predicted-class histogram of the samples (mode collapse shows there first).

    python benchmarks/preset_sweep.py --name miyato --lr 2e-4 --gp 0 --d-steps 1 --seed 0
    python benchmarks/preset_sweep.py --family bigan --name bigan_gp1 --lr 2e-4 --gp 1 --d-steps 1
    python benchmarks/preset_sweep.py --score-run runs/ige_gan-fashion_mnist-<time>  # its checkpoints
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from zoo import data
from zoo.evaluation import frechet_distance
from zoo.models import family_class
from zoo.visualize import save_grid


def feature_classifier(path: Path) -> keras.Model:
    """A small Fashion-MNIST convnet (cached at ``path``); returns features and logits."""
    if not path.exists():
        x = data.train_array("fashion_mnist").astype("float32") / 255
        y = data.fashion_mnist_labels("train")
        keras.utils.set_random_seed(0)
        L = keras.layers
        inp = keras.Input((28, 28, 1))
        h = L.MaxPool2D()(L.Conv2D(32, 3, activation="relu", padding="same")(inp))
        h = L.MaxPool2D()(L.Conv2D(64, 3, activation="relu", padding="same")(h))
        f = L.Dense(128, activation="relu", name="feat")(L.Flatten()(h))
        model = keras.Model(inp, L.Dense(10)(f))
        model.compile(
            "adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
        )
        model.fit(x, y, batch_size=128, epochs=3, verbose=2)
        model.save(path)
    clf = keras.models.load_model(path)
    return keras.Model(clf.input, [clf.get_layer("feat").output, clf.output])


def score_run(run: Path, features: keras.Model, real: np.ndarray) -> None:
    """Print the in-domain FID of every checkpoint of a recipe run (same z as the sweep)."""
    config = json.loads((run / "config.json").read_text())
    model = family_class(config["family"]).from_config(config["model"])
    z = np.random.default_rng(1).standard_normal((2000, model.latent_dim)).astype("float32")
    for index in sorted((run / "checkpoints").glob("ckpt-*.index"), key=lambda f: int(f.stem[5:])):
        tf.train.Checkpoint(**model.networks()).restore(str(index.with_suffix(""))).expect_partial()
        feats, _ = features.predict(model.generator.predict(z, batch_size=500, verbose=0), verbose=0)
        print(f"{index.stem} fid {frechet_distance(feats, real):.2f}", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", default="sweep")
    p.add_argument("--family", default="ige_gan", help="a zoo family trained with its defaults")
    p.add_argument("--score-run", default=None, help="score every checkpoint of a recipe run instead")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--every", type=int, default=500)
    p.add_argument("--lr", type=float, default=3e-4, help="Adam lr of G and E (and D unless --lr-d)")
    p.add_argument("--lr-d", type=float, default=None)
    p.add_argument("--gp", type=float, default=1.0)
    p.add_argument("--d-steps", type=int, default=2)
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--classifier", default="/tmp/zoo_fmnist_classifier.keras")
    p.add_argument("--out", default="/tmp/preset_sweep")
    a = p.parse_args()
    features = feature_classifier(Path(a.classifier))
    real, _ = features.predict(data.test_images("fashion_mnist", 2000), batch_size=500, verbose=0)
    if a.score_run:
        score_run(Path(a.score_run), features, real)
        return
    keras.utils.set_random_seed(a.seed)
    model = family_class(a.family)(
        resolution=28,
        channels=1,
        latent_dim=64,
        width=a.width,
        d_steps=a.d_steps,
        gp_weight=a.gp,
        seed=a.seed,
    )
    adam = lambda name, lr: keras.optimizers.Adam(lr, beta_1=0.5, beta_2=0.999, name=name)  # noqa: E731
    model.compile(
        optimizers={
            p.name: adam(f"{p.name}_adam", (a.lr_d or a.lr) if p.critic else a.lr)
            for p in model.all_players()
        }
    )
    z = np.random.default_rng(1).standard_normal((2000, 64)).astype("float32")
    ds = data.train_dataset("fashion_mnist", 64, a.seed)
    t0, step = time.time(), 0
    while step < a.steps:
        n = min(a.every, a.steps - step)
        logs = model.fit(ds, steps_per_epoch=n, epochs=1, verbose=0).history
        step += n
        samples = model.generator.predict(z, batch_size=500, verbose=0)
        feats, logits = features.predict(samples, batch_size=500, verbose=0)
        probs = tf.nn.softmax(logits).numpy()
        marginal = probs.mean(0)
        score = np.exp((probs * (np.log(probs + 1e-12) - np.log(marginal + 1e-12))).sum(1).mean())
        classes = np.bincount(probs.argmax(1), minlength=10).tolist()
        print(
            f"{a.name} step {step} fid {frechet_distance(feats, real):.2f} is {score:.2f} "
            f"d {logs['d_loss'][-1]:.3f} g {logs['g_loss'][-1]:.3f} classes {classes} "
            f"t {time.time() - t0:.0f}s",
            flush=True,
        )
    Path(a.out).mkdir(parents=True, exist_ok=True)
    save_grid(samples[:64], Path(a.out) / f"{a.name}.png", 8)


if __name__ == "__main__":
    main()
