"""What every command-line entry point of the zoo shares: one-line errors with exit 1,
and files written under a temporary name, then renamed (never half-written)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from zoo.errors import ZooError


def run_main(parser: argparse.ArgumentParser, body: Callable[[argparse.Namespace], int], argv=None) -> int:
    """Parse ``argv`` (bad flags: argparse's exit 2), run ``body(args)``; a ``ZooError``
    becomes one ``error: ...`` line on stderr and exit code 1."""
    args = parser.parse_args(argv)
    try:
        return body(args)
    except ZooError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file in the same directory and a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path
