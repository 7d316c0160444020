"""ONNX export of quantized layers (:func:`minigrad.export.quantize`): the weights stay int8
in the file.

Weight-only QDQ, as onnxruntime's own quantizer writes it: each quantized weight is an int8
initializer with its per-channel scales, turned back into floats by one ``DequantizeLinear``
(``axis`` = the output channel; opset 13 and later) that feeds the float operator (``Gemm``,
``Conv``, ``Gather``, ``LSTM``, ...). A float16 weight is a float16 initializer and a ``Cast``.

The operators around the weights are the float layer's: a quantized layer is converted by its
float class's converter, handed a builder (:class:`QuantizedWeights`) that stores the layer's
quantized weights where the converter stores its float weights. Converters transform weights
before storing them (a Conv2D kernel transposed to (F, C, kh, kw), an LSTM's gates reordered to
ONNX's i, o, f, c); :func:`onnx_layouts` applies the same transforms to the int8 values and their
scales, and each weight is checked to be the numbers the converter asked for -- a converter
that changes its layout is an error, never a wrong graph.
"""

import contextlib

import numpy as np

from ...nn.layers.quantized import (QUANTIZED_CLASSES, QuantizedConv2D, QuantizedEmbedding,
                                    QuantizedLayer, QuantizedLSTM, dequantize_per_channel)
from ...nn.layers.recurrent import _Recurrent
from .registry import CONVERTERS, UnsupportedLayerError, converts

@contextlib.contextmanager
def quantized_weights(layer, builder):
    """The builder that ``layer``'s converter should get: a :class:`QuantizedWeights` over
    ``builder`` when ``layer`` is, or holds (Bidirectional), quantized layers, else ``builder``
    itself. On leaving, every quantized weight must have been stored (a float converter that
    stored one under another name is an error, never a float weight in an int8 export)."""
    if isinstance(builder, QuantizedWeights):
        yield builder  # (the exporter wrapped it already)
        return
    layouts = {}
    for module in layer.modules():
        if isinstance(module, QuantizedLayer):
            layouts.update(onnx_layouts(module))
    if not layouts:
        yield builder
        return
    weights = QuantizedWeights(builder, layouts)
    yield weights
    missing = sorted(set(layouts) - weights.stored)
    if missing:
        raise RuntimeError(f"ONNX export of layer {layer.name!r} ({type(layer).__name__}): its "
                           f"converter never stored the quantized weight {missing[0]!r}; "
                           "update minigrad.export.onnx.quantized.onnx_layouts")


class QuantizedWeights:
    """A :class:`~.builder.GraphBuilder` (everything else is passed through) whose
    ``constant`` and ``weight`` store the quantized weights named in ``layouts`` --
    ``{hint: (values, scales, axis)}``, int8 values with their scales, or float16 values and
    None -- instead of the float array the converter gives."""

    def __init__(self, builder, layouts):
        self._builder = builder
        self._layouts = layouts
        self.stored = set()  # the hints stored so far

    def __getattr__(self, name):
        return getattr(self._builder, name)

    def constant(self, array, hint):
        if hint not in self._layouts:
            return self._builder.constant(array, hint)
        return self._dequantized(array, hint)

    def weight(self, array, hint):
        if hint not in self._layouts:
            return self._builder.weight(array, hint)
        return self._dequantized(array, hint)

    def _dequantized(self, array, hint):
        """Store the quantized weight ``hint``; returns the name of its float values."""
        values, scales, axis = self._layouts[hint]
        builder = self._builder
        self.stored.add(hint)
        dtype = np.dtype(getattr(builder, "dtype", np.float32))
        if scales is None:  # float16
            expected = values.astype(dtype)
        else:
            expected = dequantize_per_channel(values, scales, axis, np.float32).astype(dtype)
        if np.shape(array) != expected.shape or not np.allclose(array, expected, rtol=1e-6,
                                                                atol=0):
            raise RuntimeError(f"ONNX export of {hint!r}: the float converter stored this "
                               f"weight in a layout ({np.shape(array)}) that the quantized "
                               f"export does not reproduce ({expected.shape}); update "
                               "minigrad.export.onnx.quantized.onnx_layouts")
        stored = builder.constant(values, f"{hint}_{values.dtype.name}")
        if scales is None:
            return builder.node("Cast", [stored], hint=hint, to=_onnx_type(dtype))
        scale = builder.constant(scales.astype(np.float32), f"{hint}_scale")
        zero = builder.constant(np.zeros(scales.shape, np.int8), f"{hint}_zero_point")
        floats = builder.node("DequantizeLinear", [stored, scale, zero], hint=hint, axis=axis)
        if dtype != np.float32:
            floats = builder.node("Cast", [floats], hint=f"{hint}/{dtype.name}",
                                  to=_onnx_type(dtype))
        return floats


def onnx_layouts(layer):
    """``{hint: (values, scales, axis)}``: ``layer``'s quantized weights as its float
    converter stores them -- the converter's hint, the int8 (or float16) values in ONNX's
    layout, the scales in the order of that layout's channel axis (None for float16)."""
    name = layer.name
    if isinstance(layer, QuantizedConv2D):           # (kh, kw, C, F) -> (F, C, kh, kw)
        return {f"{name}/kernel": _layout(layer, "kernel", lambda a: a.transpose(3, 2, 0, 1),
                                          lambda s: s, axis=0)}
    if isinstance(layer, QuantizedEmbedding):        # (V, D): a scale per column
        return {f"{name}/embeddings": _layout(layer, "embeddings", _same, _same, axis=1)}
    if isinstance(layer, _Recurrent):                # (rows, G*U) -> (1, G*U, rows)
        gates = getattr(layer, f"kernel_{layer.weight_dtype}").shape[1] // layer.units
        order = [0, 3, 1, 2] if isinstance(layer, QuantizedLSTM) else list(range(gates))

        def blocks(array):                           # ONNX's gate order on the last axis
            parts = np.split(array, gates, axis=-1)
            return np.concatenate([parts[i] for i in order], axis=-1)

        return {f"{name}/{weight}": _layout(layer, weight, lambda a: blocks(a).T[None], blocks,
                                            axis=1)
                for weight in ("kernel", "recurrent_kernel")}
    return {f"{name}/kernel": _layout(layer, "kernel", _same, _same, axis=1)}  # Dense (in, out)


def _layout(layer, weight, arrange, arrange_scales, axis):
    values = getattr(layer, f"{weight}_{layer.weight_dtype}").numpy()
    if layer.weight_dtype == "float16":
        return arrange(values), None, axis
    return arrange(values), arrange_scales(getattr(layer, f"{weight}_scale").numpy()), axis


def _same(array):
    return array


def _onnx_type(dtype):
    from onnx.helper import np_dtype_to_tensor_dtype

    return np_dtype_to_tensor_dtype(np.dtype(dtype))


def convert_quantized(layer, builder, inputs):
    """A quantized layer: its float class's converter, storing the weights quantized."""
    float_class = next(cls for cls, quantized in QUANTIZED_CLASSES.items()
                       if isinstance(layer, quantized))
    if float_class not in CONVERTERS:
        raise UnsupportedLayerError(f"cannot export layer {layer.name!r} "
                                    f"({type(layer).__name__}): {float_class.__name__} has no "
                                    "ONNX converter")
    with quantized_weights(layer, builder) as layer_builder:
        return CONVERTERS[float_class](layer, layer_builder, inputs)


converts(*QUANTIZED_CLASSES.values())(convert_quantized)
