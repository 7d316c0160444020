"""Quantized layers: Dense, Conv2D, Embedding, LSTM, GRU and SimpleRNN whose weights are stored
int8 (with a float32 scale per output channel) or float16, for inference.

What :func:`minigrad.export.quantize` makes from a trained model. Each class is the float layer with
its big weights (``kernel``, ``recurrent_kernel``, ``embeddings``) kept as buffers:

* ``weight_dtype="int8"``: ``<name>_int8`` (the weight's shape, int8) and ``<name>_scale``
  (float32, one per output channel): symmetric per-channel quantization,
  ``w ~= scale[c] * q``, with ``scale[c] = max|w[..., c]| / 127.5`` and
  ``q = clip(round(w / scale), -128, 127)`` -- PyTorch's ``per_channel_symmetric`` scheme (the
  one of ``quantize_dynamic`` with ``per_channel_dynamic_qconfig``), so the scales are the same.
* ``weight_dtype="float16"``: ``<name>_float16``, the weight rounded to half precision.

Reading ``layer.kernel`` gives the weight back in float (dequantized at each call, so the
weights stay small in memory too), and the float layer's ``forward`` runs unchanged:
activations are float, as PyTorch's dynamic quantization keeps them. Biases stay float32.

The output channel of each weight: the last axis of a Dense kernel (in, units) and of a Conv2D
kernel (kh, kw, in, filters); each gate unit's column of a recurrent kernel
(features, gates * units); each row (token) of an Embedding table (vocabulary, dim), so that a
lookup gathers int8 rows and their scales and dequantizes only those.

Quantized layers are for inference: ``predict``, ``evaluate``, saving, loading and serving work;
``fit`` refuses (:attr:`QuantizedLayer.inference_only`). Train the float model and quantize it
again.
"""

import numpy as np

from ... import functional as F
from ...autograd.tensor import Tensor
from ...backends import get_backend
from .. import init
from .conv import Conv2D
from .core import Dense
from .embedding import Embedding
from .recurrent import GRU, LSTM, SimpleRNN

#: The storage dtypes of quantized weights.
WEIGHT_DTYPES = ("int8", "float16")

# int8's range is [-128, 127]; a symmetric scale maps max|w| to its half-width, 127.5, and the
# one value that rounds to 128 is clipped to 127 (still within half a step).
_HALF_RANGE = 127.5


# --- the arithmetic: quantize and dequantize, side by side -----------------------------------
def quantize_per_channel(weights, axis):
    """``(values, scales)``: ``weights`` (a float NumPy array) as int8 ``values`` of the same
    shape and float32 ``scales`` of shape ``(weights.shape[axis],)``, one per channel along
    ``axis``, so that ``weights ~= values * scales`` (broadcast along ``axis``) with an error of
    at most ``scales / 2`` per element. An all-zero channel gets the scale float32 eps.

    >>> from minigrad.nn.layers.quantized import quantize_per_channel
    >>> values, scales = quantize_per_channel(np.array([[1.0, -0.5], [-2.0, 0.25]]), axis=1)
    >>> values.tolist(), [round(float(scale), 5) for scale in scales]
    ([[64, -127], [-127, 64]], [0.01569, 0.00392])
    """
    weights = np.asarray(weights, dtype=np.float32)
    axis = axis % weights.ndim
    others = tuple(a for a in range(weights.ndim) if a != axis)
    largest = np.abs(weights).max(axis=others) if others else np.abs(weights)
    scales = np.maximum(largest / np.float32(_HALF_RANGE), np.finfo(np.float32).eps)
    scales = scales.astype(np.float32)
    values = np.clip(np.round(weights / _along(scales, axis, weights.ndim)), -128, 127)
    return values.astype(np.int8), scales


def dequantize_per_channel(values, scales, axis, dtype):
    """``values * scales`` in ``dtype``, ``scales`` broadcast along ``axis`` of ``values`` (the
    inverse of :func:`quantize_per_channel`; works on NumPy and CuPy arrays alike)."""
    return values.astype(dtype) * _along(scales.astype(dtype), axis, values.ndim)


def _along(scales, axis, ndim):
    """``scales`` (C,) reshaped to broadcast along ``axis`` of an ``ndim``-dimensional array."""
    shape = [1] * ndim
    shape[axis] = -1
    return scales.reshape(shape)


# --- the mechanism ---------------------------------------------------------------------------
class QuantizedWeight:
    """A class attribute that declares a quantized weight: ``kernel = QuantizedWeight(axis=-1)``
    stores ``kernel`` as buffers (int8 values and per-channel scales, or float16) and makes
    ``layer.kernel`` read it back as a float tensor of the layer's dtype (no gradient)."""

    def __init__(self, axis):
        self.axis = axis  # the output-channel axis: one scale per index along it

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, layer, owner=None):
        if layer is None:
            return self
        values = getattr(layer, f"{self.name}_{layer.weight_dtype}")  # AttributeError unbuilt
        if layer.weight_dtype == "float16":
            array = values.data.astype(layer.dtype)
        else:
            scales = getattr(layer, f"{self.name}_scale")
            array = dequantize_per_channel(values.data, scales.data, self.axis, layer.dtype)
        return Tensor._make(array, values._backend)

    def buffers(self, weights, weight_dtype):
        """``{buffer name: array}`` that store the float ``weights`` (NumPy) in
        ``weight_dtype``: what :func:`minigrad.export.quantize` loads into the layer."""
        if weight_dtype == "float16":
            return {f"{self.name}_float16": np.asarray(weights).astype(np.float16)}
        values, scales = quantize_per_channel(weights, self.axis)
        return {f"{self.name}_int8": values, f"{self.name}_scale": scales}


class QuantizedLayer:
    """Mixin, first base of a quantized layer class (``class QuantizedDense(QuantizedLayer,
    Dense)``): builds the weights declared as :class:`QuantizedWeight` as buffers instead of
    parameters, and adds ``weight_dtype`` (``"int8"`` or ``"float16"``) to the arguments and
    the config."""

    #: ``fit`` refuses a model holding such a layer: int8 and float16 buffers have no gradient.
    inference_only = True

    def __init__(self, *args, weight_dtype="int8", **kwargs):
        if weight_dtype not in WEIGHT_DTYPES:
            raise ValueError(f"{type(self).__name__}: weight_dtype must be one of "
                             f"{', '.join(map(repr, WEIGHT_DTYPES))}, got {weight_dtype!r}")
        super().__init__(*args, **kwargs)
        self.weight_dtype = weight_dtype

    @classmethod
    def quantized_weights(cls):
        """``{name: QuantizedWeight}`` of the weights this class stores quantized."""
        return {name: value for klass in reversed(cls.__mro__)
                for name, value in vars(klass).items() if isinstance(value, QuantizedWeight)}

    def add_weight(self, name, shape, initializer="glorot_uniform", regularizer=None,
                   fan_in=None, fan_out=None, trainable=True):
        weight = self.quantized_weights().get(name)
        if weight is None:  # a bias: a float parameter as in the float layer
            return super().add_weight(name, shape, initializer, regularizer, fan_in, fan_out,
                                      trainable)
        # Zeros to be filled by load_state_dict (from a file, or from quantize()).
        shape = tuple(int(s) for s in shape)
        backend = self._device or get_backend("cpu")
        stored = {f"{name}_{self.weight_dtype}": (shape, self.weight_dtype)}
        if self.weight_dtype == "int8":
            stored[f"{name}_scale"] = ((shape[weight.axis],), "float32")
        for buffer, (buffer_shape, dtype) in stored.items():
            init.claim(buffer_shape)  # loading a file: only the shapes that it stores
            array = backend.xp.zeros(buffer_shape, dtype=dtype)
            self.register_buffer(buffer, Tensor._make(array, backend))

    def buffers_that_keep_their_dtype(self):
        # model.to("float64") changes the layer's compute dtype, not the stored weights
        return {f"{name}_{suffix}" for name in self.quantized_weights()
                for suffix in ("float16", "scale")}

    def get_config(self):
        return {**super().get_config(), "weight_dtype": self.weight_dtype}

    def extra_repr(self):
        return f"{super().extra_repr()}, weight_dtype={self.weight_dtype}"


# --- the layers ------------------------------------------------------------------------------
class QuantizedDense(QuantizedLayer, Dense):
    """:class:`~minigrad.nn.Dense` with its kernel (in, units) stored int8 with a scale per
    unit (or float16).

    >>> layer = mg.nn.QuantizedDense(4)
    >>> layer.build((None, 3))
    >>> layer.kernel_int8.dtype, layer.kernel_scale.shape, layer.kernel.dtype
    (dtype('int8'), (4,), dtype('float32'))
    """

    kernel = QuantizedWeight(axis=-1)


class QuantizedConv2D(QuantizedLayer, Conv2D):
    """:class:`~minigrad.nn.Conv2D` with its kernel (kh, kw, in, filters) stored int8 with a
    scale per filter (or float16)."""

    kernel = QuantizedWeight(axis=-1)


class QuantizedEmbedding(QuantizedLayer, Embedding):
    """:class:`~minigrad.nn.Embedding` with its table (input_dim, output_dim) stored int8 with
    a scale per column, i.e. per embedding dimension (or float16). A lookup gathers the int8
    rows and dequantizes only those.

    A column's scale, not a row's: a row has only ``output_dim`` values (16 in the IMDB
    tutorial), so a float32 scale per word would add 4 / output_dim to the table's bytes (a
    quarter there), while ``output_dim`` column scales cost nothing."""

    embeddings = QuantizedWeight(axis=-1)

    def forward(self, ids):
        """The vectors of ``ids``: (\\*ids.shape, output_dim)."""
        values = getattr(self, f"embeddings_{self.weight_dtype}")
        try:
            rows = F.embedding(ids, values)  # checks the ids; int8 or float16 rows
        except (TypeError, IndexError) as exc:
            raise type(exc)(f"{self.name}: {exc}") from None
        array = rows.data.astype(self.dtype)
        if self.weight_dtype == "int8":
            array *= self.embeddings_scale.data.astype(self.dtype)  # (output_dim,)
        return Tensor._make(array, values._backend)


class QuantizedLSTM(QuantizedLayer, LSTM):
    """:class:`~minigrad.nn.LSTM` with ``kernel`` and ``recurrent_kernel`` stored int8 with a
    scale per column (each gate's unit), or float16."""

    kernel = QuantizedWeight(axis=-1)
    recurrent_kernel = QuantizedWeight(axis=-1)


class QuantizedGRU(QuantizedLayer, GRU):
    """:class:`~minigrad.nn.GRU` with ``kernel`` and ``recurrent_kernel`` stored int8 with a
    scale per column (each gate's unit), or float16."""

    kernel = QuantizedWeight(axis=-1)
    recurrent_kernel = QuantizedWeight(axis=-1)


class QuantizedSimpleRNN(QuantizedLayer, SimpleRNN):
    """:class:`~minigrad.nn.SimpleRNN` with ``kernel`` and ``recurrent_kernel`` stored int8
    with a scale per unit, or float16."""

    kernel = QuantizedWeight(axis=-1)
    recurrent_kernel = QuantizedWeight(axis=-1)


#: The quantized class of each float layer class that can be quantized.
QUANTIZED_CLASSES = {Dense: QuantizedDense, Conv2D: QuantizedConv2D,
                     Embedding: QuantizedEmbedding, LSTM: QuantizedLSTM, GRU: QuantizedGRU,
                     SimpleRNN: QuantizedSimpleRNN}
