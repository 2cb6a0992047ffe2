"""Files the zoo writes: directory locks, path checks before any work, atomic text and
strict JSON. Nothing here knows about models.

A *directory lock* is an exclusive ``fcntl.flock`` on ``DIR/.zoo.lock``, held for as
long as a process trains into a run directory, writes evaluation outputs or exports into
a serving root. The kernel releases it when the process exits, however it exits, so a
lock file left by a killed process is stale by construction and never blocks anyone;
the file only records who held the lock last (pid and command), for the error message.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from zoo.errors import ZooError

LOCK_NAME = ".zoo.lock"
# Locks this process holds: resolved lock path -> [file descriptor, depth]. A process
# may take the same lock again (the recipe holds its run directory while it exports).
_HELD: dict[str, list[int]] = {}


def check_writable_dir(path: str | os.PathLike, flag: str) -> Path:
    """Fail in one line unless ``path`` is, or can be created as, a writable directory.

    Checked before any work, by writing (and removing) a probe file in the nearest
    existing ancestor, so read-only file systems are caught even for root. Creates nothing.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ZooError(f"{flag} {path}: exists and is not a directory")
    ancestor = path
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ZooError(f"{flag} {path}: {ancestor} is not a directory")
    try:
        with tempfile.TemporaryFile(dir=ancestor, prefix=".zoo-probe-"):
            pass
    except OSError as err:
        raise ZooError(f"{flag} {path}: cannot write to {ancestor} ({err.strerror})") from None
    return path


def _holder(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 4096).decode(errors="replace").strip()
    return text or "unknown process"


@contextlib.contextmanager
def directory_lock(directory: str | os.PathLike, wait_s: float = 0.0) -> Iterator[Path]:
    """Hold the exclusive lock of ``directory`` (created if missing) for the ``with`` body.

    Another process holding it: wait up to ``wait_s`` seconds, then ``ZooError`` naming
    the directory and the holder.
    """
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ZooError(f"{directory}: cannot create the directory ({err.strerror})") from None
    key = str(directory.resolve() / LOCK_NAME)
    if key in _HELD:  # this process holds it already
        _HELD[key][1] += 1
        try:
            yield directory
        finally:
            _HELD[key][1] -= 1
        return
    try:
        fd = os.open(key, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise ZooError(f"{directory}: cannot create the lock file ({err.strerror})") from None
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError as err:
            if err.errno not in (errno.EAGAIN, errno.EACCES):
                os.close(fd)
                raise ZooError(f"{directory}: cannot lock ({err.strerror})") from None
            if time.monotonic() >= deadline:
                holder = _holder(fd)
                os.close(fd)
                raise ZooError(
                    f"{directory} is in use by another zoo process ({holder}); "
                    "wait for it to finish or choose another directory"
                ) from None
            time.sleep(0.2)
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()}: {' '.join(sys.argv)[:200]}\n".encode())
    _HELD[key] = [fd, 1]
    try:
        yield directory
    finally:
        _HELD[key][1] -= 1
        if _HELD[key][1] == 0:
            del _HELD[key]
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file in the same directory and a rename
    (the temporary file is removed if anything fails)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ZooError(f"cannot write {path} ({err.strerror})") from None
    return path


def finite_json(data):
    """``data`` with every non-finite float replaced by ``None``, and the dotted keys of
    the replaced values (``[]`` when everything was finite)."""
    replaced: list[str] = []

    def clean(value, key: str):
        if isinstance(value, float) and not math.isfinite(value):
            replaced.append(key or "<root>")
            return None
        if isinstance(value, dict):
            return {k: clean(v, f"{key}.{k}" if key else str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v, f"{key}[{i}]") for i, v in enumerate(value)]
        return value

    return clean(data, ""), replaced


def write_json(path: str | os.PathLike, data: dict, sort_keys: bool = True) -> Path:
    """Write ``data`` as strict JSON (RFC 8259: no NaN or Infinity), atomically. A
    non-finite number becomes ``null`` and its key is listed under ``"nonfinite"``."""
    cleaned, replaced = finite_json(data)
    if replaced:
        cleaned = {**cleaned, "nonfinite": replaced}
    return write_text_atomic(path, json.dumps(cleaned, indent=2, sort_keys=sort_keys, allow_nan=False) + "\n")
