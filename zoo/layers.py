"""Layers the zoo's networks need beyond Keras' own."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class SpectralNorm(keras.layers.Wrapper):
    """Miyato et al. 2018's reparameterised spectral normalisation of a ``Dense`` or
    ``Conv2D`` layer (seed 000 A.3.2 uses it for every discriminator layer).

    The forward pass uses W_SN = W / σ(W) with σ(W) = vᵀ W u from power iteration on a
    persistent vector u (Miyato et al. Alg. 1; W reshaped to [fan_in, units]); u and v
    are constants of the gradient, so the gradient flows through σ into W. The stored
    kernel W itself is only changed by its optimiser.

    ``keras.layers.SpectralNormalization`` differs: in every training call it *assigns*
    W / σ to the kernel (a projection; no gradient through σ), including calls made for
    another player's loss. Here a training call only refines u; an inference call
    mutates nothing and uses the current u.
    """

    def __init__(self, layer: keras.layers.Layer, power_iterations: int = 1, eps: float = 1e-12, **kwargs):
        super().__init__(layer, **kwargs)
        if not isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):
            raise ValueError(f"SpectralNorm wraps Dense or Conv2D layers, not {type(layer).__name__}")
        if int(power_iterations) < 1:
            raise ValueError(f"power_iterations must be >= 1, got {power_iterations}")
        self.power_iterations = int(power_iterations)
        self.eps = float(eps)

    def build(self, input_shape):
        super().build(input_shape)
        units = self.layer.kernel.shape[-1]
        self.u = self.add_weight(
            shape=(1, units),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
            trainable=False,
            name="u",
            dtype="float32",
        )

    def _normalize(self, t):
        return t / (ops.sqrt(ops.sum(ops.square(t))) + self.eps)

    def sigma(self, training: bool = False):
        """σ(W) by ``power_iterations`` steps from u (u is updated when ``training``)."""
        kernel = ops.cast(self.layer.kernel, "float32")
        w = ops.reshape(kernel, (-1, kernel.shape[-1]))  # [fan_in, units]
        u = ops.convert_to_tensor(self.u)
        for _ in range(self.power_iterations):
            v = self._normalize(ops.matmul(u, ops.transpose(w)))  # [1, fan_in]
            u = self._normalize(ops.matmul(v, w))  # [1, units]
        u, v = ops.stop_gradient(u), ops.stop_gradient(v)
        if training:
            self.u.assign(u)
        return ops.sum(ops.matmul(v, w) * u)

    def call(self, inputs, training=False):
        layer = self.layer
        kernel = ops.cast(layer.kernel, "float32") / self.sigma(training=bool(training))
        kernel = ops.cast(kernel, layer.compute_dtype)
        if isinstance(layer, keras.layers.Conv2D):
            out = layer.convolution_op(inputs, kernel)
            if layer.use_bias:
                shape = (1, 1, 1, layer.filters) if layer.data_format == "channels_last" else (1, -1, 1, 1)
                out = ops.add(out, ops.reshape(ops.cast(layer.bias, out.dtype), shape))
        else:
            out = ops.matmul(inputs, kernel)
            if layer.use_bias:
                out = ops.add(out, ops.cast(layer.bias, out.dtype))
        return layer.activation(out) if layer.activation is not None else out

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations, "eps": self.eps}
