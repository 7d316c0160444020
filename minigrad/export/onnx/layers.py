"""ONNX converters of the core layers: Dense, the activation layers, Dropout (the identity at
inference), Flatten, Reshape, Permute, BatchNormalization (inference form) and InputLayer.

Each converter is ``convert(layer, builder, inputs) -> [Symbol]`` (see :mod:`.registry`); the
exporter fills in the output's shape and passes a mask on where the layer supports masking.
"""

import numpy as np

from ...nn.layers.core import (Activation, Dense, Dropout, Flatten, LeakyReLU, ReLU, Sigmoid,
                               Softmax, SpatialDropout1D, SpatialDropout2D, Tanh)
from ...nn.layers.input_layer import InputLayer
from ...nn.layers.normalization import BatchNormalization
from ...nn.layers.reshaping import Permute, Reshape
from . import activations
from .builder import Symbol
from .registry import converts


def array(parameter):
    """A parameter or buffer as a NumPy array (on the CPU)."""
    return np.asarray(parameter.numpy())


def rank(symbol):
    """The rank of a value with its batch axis."""
    return len(symbol.shape) + 1


@converts(Dense)
def dense(layer, builder, inputs):
    """``x @ kernel + bias``: one Gemm for (N, in) inputs, MatMul and Add for (N, ..., in)."""
    (x,) = inputs
    kernel = builder.weight(array(layer.kernel), f"{layer.name}/kernel")
    bias = builder.weight(array(layer.bias), f"{layer.name}/bias") if layer.use_bias else None
    if rank(x) == 2:
        y = builder.node("Gemm", [x.name, kernel] + ([bias] if bias else []),
                         hint=f"{layer.name}/gemm")
    else:
        y = builder.node("MatMul", [x.name, kernel], hint=f"{layer.name}/matmul")
        if bias:
            y = builder.node("Add", [y, bias], hint=f"{layer.name}/add")
    y = activations.emit(builder, layer.activation, y, f"{layer.name}/{_label(layer)}",
                         layer=layer)
    return [Symbol(y)]


def _label(layer):
    function = getattr(layer, "activation", None)
    return getattr(function, "__name__", "activation")


def before_transpose(builder, x, apply, axis=None):
    """``apply(value, axis)`` on ``x`` -- or, when ``x`` is a transpose of another value
    (an NCHW convolution's output brought back to NHWC), on that value, transposed after:
    an elementwise or per-channel layer between two convolutions then needs no transpose
    pair. ``axis`` (an axis of ``x``, or None) is handed to ``apply`` as that value's axis."""
    made = builder.transposed_from(x)
    if made is None:
        return apply(x, axis)
    source, perm = made
    return builder.transpose(apply(source, None if axis is None else perm[axis]), perm)


@converts(Activation, ReLU, Sigmoid, Tanh)
def activation(layer, builder, inputs):
    (x,) = inputs
    hint = f"{layer.name}/{_label(layer)}"
    if not activations.is_elementwise(layer.activation):
        return [Symbol(activations.emit(builder, layer.activation, x.name, hint, layer=layer))]
    return [Symbol(before_transpose(builder, x.name, lambda value, _: activations.emit(
        builder, layer.activation, value, hint, layer=layer)))]


@converts(Softmax)
def softmax(layer, builder, inputs):
    (x,) = inputs
    return [Symbol(builder.node("Softmax", [x.name], hint=layer.name, axis=int(layer.axis)))]


@converts(LeakyReLU)
def leaky_relu(layer, builder, inputs):
    (x,) = inputs
    return [Symbol(builder.node("LeakyRelu", [x.name], hint=layer.name,
                                alpha=float(layer.negative_slope)))]


@converts(Dropout, SpatialDropout1D, SpatialDropout2D, InputLayer)
def identity(layer, builder, inputs):
    """Dropout drops nothing at inference: the value passes unchanged (no node)."""
    (x,) = inputs
    return [Symbol(x.name, mask=x.mask)]


@converts(Flatten)
def flatten(layer, builder, inputs):
    """Every axis after the batch axis in row-major order: for (N, H, W, C) the features are
    in (h, w, c) order, as minigrad's (the value is channels-last here)."""
    (x,) = inputs
    if rank(x) == 2:
        return [Symbol(x.name)]
    if rank(x) == 1:  # (N,) -> (N, 1)
        return [Symbol(builder.node("Reshape", [x.name, builder.ints([-1, 1], layer.name)],
                                    hint=layer.name))]
    return [Symbol(builder.node("Flatten", [x.name], hint=layer.name, axis=1))]


@converts(Reshape)
def reshape(layer, builder, inputs):
    (x,) = inputs
    shape = builder.ints([0, *layer.target_shape], f"{layer.name}/shape")  # 0: keep the batch
    return [Symbol(builder.node("Reshape", [x.name, shape], hint=layer.name))]


@converts(Permute)
def permute(layer, builder, inputs):
    (x,) = inputs
    return [Symbol(builder.node("Transpose", [x.name], hint=layer.name,
                                perm=[0, *layer.dims]))]


@converts(BatchNormalization)
def batch_normalization(layer, builder, inputs):
    """Inference form: ``x * scale + shift`` with ``scale = gamma / sqrt(moving_variance +
    epsilon)`` and ``shift = beta - moving_mean * scale``, folded in float64 and broadcast
    along the layer's axis. A layer in training mode still exports its inference form
    (export is for inference)."""
    (x,) = inputs
    variance = array(layer.moving_variance).astype(np.float64)
    scale = 1.0 / np.sqrt(variance + layer.epsilon)
    if layer.scale:
        scale = scale * array(layer.gamma)
    shift = -array(layer.moving_mean) * scale
    if layer.center:
        shift = shift + array(layer.beta)
    def multiply_add(value, axis):
        broadcast = (-1,) + (1,) * (rank(x) - 1 - axis)  # (C, 1, ..., 1) for an inner axis
        y = builder.node("Mul", [value, builder.weight(scale.reshape(broadcast),
                                                       f"{layer.name}/scale")],
                         hint=f"{layer.name}/mul")
        return builder.node("Add", [y, builder.weight(shift.reshape(broadcast),
                                                      f"{layer.name}/shift")],
                            hint=f"{layer.name}/add")

    return [Symbol(before_transpose(builder, x.name, multiply_add, layer.axis % rank(x)))]
