"""Train the in-domain feature extractor of the evaluation metrics on Fashion-MNIST.

python recipes/train_feature_classifier.py            # writes zoo/weights/ (the shipped files)
python recipes/train_feature_classifier.py --out DIR  # somewhere else

Trains ``zoo.extractors.build_domain_classifier`` on the 60,000 training images (Adam
1e-3, batch 128, seeded), measures its accuracy on the 10,000 test images, and writes
the weights and a JSON card with that accuracy. Files are written under temporary
names and renamed when complete.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's zoo, not another clone's

import numpy as np

from zoo.errors import ZooError

MIN_ACCURACY = 0.90


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="directory for the weights (default: zoo/weights)")
    a = p.parse_args(argv)
    try:
        import keras

        from zoo import data
        from zoo.extractors import DOMAIN_CARD, DOMAIN_WEIGHTS, build_domain_classifier

        y_train, y_test = data.fashion_mnist_labels("train"), data.fashion_mnist_labels("test")
        x_train = data.train_array("fashion_mnist").astype(np.float32) / 255.0
        x_test = data.test_images("fashion_mnist")
        if len(x_train) != len(y_train) or len(x_test) != len(y_test):
            raise ZooError("images and labels differ in number")
        keras.utils.set_random_seed(a.seed)
        model = build_domain_classifier()
        model.compile(
            keras.optimizers.Adam(1e-3),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        t0 = time.perf_counter()
        model.fit(x_train, y_train, batch_size=128, epochs=a.epochs, verbose=2)
        seconds = time.perf_counter() - t0
        _, accuracy = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
        print(f"test accuracy {accuracy:.4f} after {a.epochs} epochs ({seconds:.0f} s)", flush=True)
        if accuracy < MIN_ACCURACY:
            raise ZooError(f"test accuracy {accuracy:.4f} is below {MIN_ACCURACY}; weights not written")
        out = Path(a.out) if a.out else DOMAIN_WEIGHTS.parent
        out.mkdir(parents=True, exist_ok=True)
        weights, card = out / DOMAIN_WEIGHTS.name, out / DOMAIN_CARD.name
        tmp = out / ("tmp-" + weights.name)
        plain = build_domain_classifier()  # uncompiled: the file holds no optimiser state
        plain.set_weights(model.get_weights())
        plain.save_weights(tmp)
        os.replace(tmp, weights)
        info = {
            "test_accuracy": round(float(accuracy), 4),
            "epochs": a.epochs,
            "seed": a.seed,
            "train_seconds": round(seconds, 1),
            "params": int(model.count_params()),
        }
        tmp = card.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, card)
        print(f"wrote {weights} and {card}", flush=True)
        return 0
    except ZooError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
