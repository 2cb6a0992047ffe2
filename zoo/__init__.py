"""Encoder-GAN zoo: Keras 3 / TensorFlow GANs that come with encoders (x -> z).

The zoo needs the TensorFlow backend (its trainers use ``tf.GradientTape`` and its
exports target TensorFlow Serving), so it selects it unless the user already chose.

TensorFlow 2.21 prints two lines at import that ``TF_CPP_MIN_LOG_LEVEL`` does not
silence (absl's "All log messages before absl::InitializeLog()" warning and oneDNN's
"custom operations are on" notice, each twice). Users read them as failures, so the
zoo imports TensorFlow with file descriptor 2 captured and writes back everything
else it printed; ``TF_CPP_MIN_LOG_LEVEL=0`` shows them again.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Exact start-up lines the zoo drops; anything else printed during the import is kept.
IMPORT_NOISE = (
    "All log messages before absl::InitializeLog() is called are written to STDERR",
    "port.cc:153] oneDNN custom operations are on.",
)


def drop_import_noise(text: str) -> str:
    """``text`` without the lines that contain one of ``IMPORT_NOISE``."""
    return "".join(
        line for line in text.splitlines(keepends=True) if not any(n in line for n in IMPORT_NOISE)
    )


def _import_keras_quietly():
    import tempfile

    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0" or "tensorflow" in sys.modules:
        import keras

        return keras
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            sys.stderr.write(drop_import_noise(captured.read().decode(errors="replace")))
            sys.stderr.flush()
    return keras


keras = _import_keras_quietly()

from zoo.errors import ZooError  # noqa: E402

if keras.backend.backend() != "tensorflow":
    raise ZooError(f"the zoo needs KERAS_BACKEND=tensorflow, found {keras.backend.backend()!r}")

__version__ = "0.1.0"
__all__ = ["ZooError", "__version__"]
