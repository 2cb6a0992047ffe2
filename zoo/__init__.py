"""Encoder-GAN zoo: Keras 3 / TensorFlow GANs that come with encoders (x -> z).

The zoo needs the TensorFlow backend (its trainers use ``tf.GradientTape`` and its
exports target TensorFlow Serving), so it selects it unless the user already chose.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from zoo.errors import ZooError  # noqa: E402

if keras.backend.backend() != "tensorflow":
    raise ZooError(f"the zoo needs KERAS_BACKEND=tensorflow, found {keras.backend.backend()!r}")

__version__ = "0.1.0"
__all__ = ["ZooError", "__version__"]
