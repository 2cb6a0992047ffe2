"""``python -m export --run DIR --out SERVING_ROOT``: export a run for TF Serving."""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m export",
        description="Export a zoo run's encoder and generator to TF Serving's layout.",
    )
    parser.add_argument("--run", required=True, help="run directory written by a recipe")
    parser.add_argument("--out", required=True, help="serving root (holds <name>_encoder/<version>/...)")
    parser.add_argument("--name", default=None, help="model name prefix (default: the run's family)")
    args = parser.parse_args(argv)
    from zoo.errors import ZooError

    try:
        from export.serving import export_run

        summary = export_run(args.run, args.out, args.name)
    except ZooError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
