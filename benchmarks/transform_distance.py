"""How far IVE-GAN's invariance transformation T moves real images (issue #17).

IVE-GAN's pair discriminator takes T(x) as the real image (seed 002 eq. 3), so at the
game's optimum G(z', E(x)) is distributed like T(x): T's distance from the data bounds
what the reconstructions (and, through the shared G, the samples) can reach. For each
scale of seed 002's ranges and each shift interpolation this prints, on the held-out
images: FID(T(x), x) with the shipped domain extractor, the class agreement of T(x) (the
share the shipped classifier puts in x's class, as the zoo table scores G(E(x))) next to
that of x itself, and the mean PSNR(x, T(x)):

    python benchmarks/transform_distance.py --json recipes/results/ive_gan_transforms/fashion_mnist.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from zoo import data, evaluation, extractors, files, metrics, transforms  # noqa: E402
from zoo.table import cpu_model, git_commit  # noqa: E402


def distances(
    x: np.ndarray,
    features: np.ndarray,
    labels: np.ndarray,
    kind: str,
    scale: float,
    interpolation: str,
    extractor: extractors.Extractor,
    seed: int = 0,
) -> dict:
    """FID(T(x), x) (``features``: x's), class agreement of T(x) with x's labels and
    PSNR(x, T(x)) for one T."""
    t = transforms.build_transform(
        kind, x.shape[1], x.shape[3], seed=seed, scale=scale, shift_interpolation=interpolation
    )
    tx = metrics.batched(lambda b: np.asarray(t(b, training=True)), x)
    ftx, ltx = extractor(tx)
    return {
        "scale": scale,
        "shift_interpolation": interpolation,
        "fid_t_x": evaluation.frechet_distance(ftx, features),
        "class_agreement": evaluation.class_agreement(ltx, labels),
        "psnr": float(np.mean(metrics.psnr(x, tx))),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=10_000, help="held-out images (default 10000)")
    p.add_argument("--scales", default="1,0.5,0.25,0.125", help="comma-separated scales of seed 002's ranges")
    p.add_argument("--json", help="also write the rows here")
    args = p.parse_args()
    x = data.test_images("fashion_mnist", args.images)
    labels = data.labels("fashion_mnist", "test")[: len(x)]
    extractor = extractors.load_domain_extractor()
    real, logits = extractor(x)
    rows = []
    for scale in (float(s) for s in args.scales.split(",")):
        for interpolation in transforms.SHIFT_INTERPOLATIONS:
            row = distances(x, real, labels, "digits", scale, interpolation, extractor)
            rows.append(row)
            print(
                f"scale {scale:<6} {interpolation:<8} FID(T(x), x) {row['fid_t_x']:6.2f}  "
                f"class agreement {row['class_agreement']:.3f}  PSNR {row['psnr']:.2f} dB",
                flush=True,
            )
    half = len(real) // 2
    result = {
        "commit": git_commit(),
        "machine": cpu_model(),
        "class_agreement_x": evaluation.class_agreement(logits, labels),
        "dataset": "fashion_mnist",
        "transform": "digits",
        "images": len(x),
        "extractor": extractor.name,
        "fid_real_halves": evaluation.frechet_distance(real[:half], real[half:]),
        "rows": rows,
    }
    print(
        f"reference: FID between the two halves of x {result['fid_real_halves']:.2f}, "
        f"class agreement of x {result['class_agreement_x']:.3f}"
    )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        files.write_json(args.json, result, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
