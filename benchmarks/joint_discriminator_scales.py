"""How much of each layer of seed 000's joint discriminator D(x, z) comes from z (issue #17).

At every conv layer of ``zoo.networks.build_joint_discriminator`` z enters as a per-channel
bias b_l = SN-1x1-conv(z) added to the x path's conv output h_l. This prints, per layer,
the standard deviation over a batch (all positions and channels) of h_l and of b_l, and
the share of the pre-activation's variance that b_l explains, for real pairs (x, E(x)) and
fake pairs (G(z), z), at initialisation or for a trained run's newest checkpoint:

    python benchmarks/joint_discriminator_scales.py                      # a fresh BiGAN (cpu preset)
    python benchmarks/joint_discriminator_scales.py --run runs/zoo_table/bigan-seed0
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from zoo import data  # noqa: E402


def layer_scales(discriminator: keras.Model, x: np.ndarray, z: np.ndarray, training: bool) -> list[dict]:
    """Per ``Add`` layer (one per conv layer): std of its x input, std of its z input, and
    var(z input) / var(sum)."""
    adds = [layer for layer in discriminator.layers if isinstance(layer, keras.layers.Add)]
    probe = keras.Model(discriminator.inputs, [t for a in adds for t in a.input])
    outs = probe([x, z], training=training)
    rows = []
    for i in range(len(adds)):
        h, b = np.asarray(outs[2 * i]), np.asarray(outs[2 * i + 1])
        total = h + b  # b broadcasts over height and width
        rows.append(
            {
                "layer": i + 1,
                "std_x_path": float(h.std()),
                "std_z_bias": float(np.broadcast_to(b, h.shape).std()),
                "z_share_of_variance": float(np.broadcast_to(b, h.shape).var() / total.var()),
            }
        )
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", help="a BiGAN run directory (default: a freshly initialised cpu-preset BiGAN)")
    p.add_argument("--images", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--spectral-norm", default="projection", help="for a fresh model: projection or miyato")
    p.add_argument("--json", help="also write the rows here")
    args = p.parse_args()
    keras.utils.set_random_seed(args.seed)
    if args.run:
        from zoo.training import load_run, restore_networks, run_checkpoints

        _, model = load_run(args.run)
        step, path = run_checkpoints(args.run, newest_only=True)[-1]
        restore_networks(model, path)
        where = f"{args.run} step {step}"
    else:
        from zoo.models import BiGAN

        model = BiGAN(latent_dim=64, width=0.25, seed=args.seed, spectral_norm=args.spectral_norm)
        where = f"fresh BiGAN ({args.spectral_norm})"
    # Training-mode calls let the projection spectral norm settle to W / sigma first.
    x = data.test_images("fashion_mnist", args.images)
    z = model.prior_samples(args.images, np.random.default_rng(args.seed))
    for _ in range(30):
        model.discriminator([x, z], training=True)
    code = np.asarray(model.encoder(x, training=False))
    fake = np.asarray(model.generator(z, training=False))
    result = {"where": where}
    for name, (images, codes) in {"real (x, E(x))": (x, code), "fake (G(z), z)": (fake, z)}.items():
        rows = layer_scales(model.discriminator, images, codes, training=False)
        result[name] = rows
        print(
            f"{where}: {name}; ||code||/sqrt(d) = {np.linalg.norm(codes, axis=1).mean() / np.sqrt(codes.shape[1]):.3f}"
        )
        print("  layer  std(x path)  std(z bias)  z share of variance")
        for r in rows:
            print(
                f"  {r['layer']:5d}  {r['std_x_path']:11.4f}  {r['std_z_bias']:11.4f}  {r['z_share_of_variance']:8.1%}"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
