"""Errors the zoo raises for bad input: one line, specific, caught by the CLIs."""


class ZooError(Exception):
    """A user-facing error; recipes print ``error: <message>`` and exit non-zero."""


class DataError(ZooError):
    """A dataset is unknown, missing or corrupt."""


class TrainingDiverged(ZooError):
    """A loss became NaN or Inf; the last good checkpoint is kept."""
