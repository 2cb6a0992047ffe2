"""What every command-line entry point of the zoo shares: one-line errors with exit 1
(the files they write: ``zoo.files``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from zoo.errors import ZooError


def configure_tensorflow() -> None:
    """Process-wide TensorFlow settings of the zoo's command-line programs.

    Grappler's remapper is turned off. On every zoo training graph it fails (a TF bug:
    it fuses Conv2D + BiasAdd + LeakyRelu although LeakyReluGrad still reads the
    BiasAdd output) and prints an ``E ... remapper failed`` line; a failed pass leaves
    the graph as it was, so it fused nothing there. Measured off vs on (medians of three
    alternating processes each, ``benchmarks/remapper.py``): training 455 vs 437 img/s,
    inference 4 218 vs 3 722 img/s: not slower.
    """
    import tensorflow as tf

    tf.config.optimizer.set_experimental_options({"remapping": False})


def run_main(parser: argparse.ArgumentParser, body: Callable[[argparse.Namespace], int], argv=None) -> int:
    """Parse ``argv`` (bad flags: argparse's exit 2), run ``body(args)``; a ``ZooError``
    becomes one ``error: ...`` line on stderr and exit code 1."""
    args = parser.parse_args(argv)
    configure_tensorflow()
    try:
        return body(args)
    except ZooError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
