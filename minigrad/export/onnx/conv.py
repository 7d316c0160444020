"""ONNX converters of the image layers: Conv2D, MaxPooling2D, AveragePooling2D and
GlobalAveragePooling2D.

minigrad's images are channels-last (N, H, W, C), as Keras's; ONNX's Conv and pooling
operators take channels-first (N, C, H, W). Each converter transposes its input to NCHW and its
output back to NHWC; :meth:`~.builder.GraphBuilder.transpose` cancels the pair between two
such layers in a row, so a conv block runs in NCHW throughout.

Keras's ``padding="same"`` pads ``ceil(H / stride)`` outputs' worth, the odd row or column at
the bottom / right: explicit ``pads`` from ``minigrad.functional.conv.same_padding`` (the
image sizes are known); ONNX's ``auto_pad="SAME_UPPER"`` (the same rule) where they are not.
"""

from ...functional.conv import same_padding
from ...nn.layers.conv import Conv2D
from ...nn.layers.pooling import AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D
from . import activations
from .builder import Symbol
from .layers import array
from .registry import UnsupportedLayerError, converts

TO_NCHW, TO_NHWC = (0, 3, 1, 2), (0, 2, 3, 1)


def _check_image(layer, x):
    if x.shape is None or len(x.shape) != 3:
        raise UnsupportedLayerError(
            f"cannot export layer {layer.name!r} ({type(layer).__name__}): it expects (N, H, "
            f"W, C) images, got per-sample shape {x.shape}")


def _padding(layer, x, window, strides, dilation, padding):
    """``{"pads": [top, left, bottom, right]}`` or ``{"auto_pad": "SAME_UPPER"}``."""
    if isinstance(padding, str):
        if padding == "valid":
            return {}
        sizes = x.shape[:2]
        if any(s is None for s in sizes):
            return {"auto_pad": "SAME_UPPER"}
        (top, bottom), (left, right) = (same_padding(s, k, st, d) for s, k, st, d in
                                        zip(sizes, window, strides, dilation))
        return {"pads": [top, left, bottom, right]}
    ph, pw = padding
    return {"pads": [ph, pw, ph, pw]}


@converts(Conv2D)
def conv2d(layer, builder, inputs):
    """Conv with the kernel (kh, kw, C / groups, F) as ONNX's (F, C / groups, kh, kw); the
    activation runs in NCHW when it acts elementwise (softmax over the channels after the
    transpose back)."""
    (x,) = inputs
    _check_image(layer, x)
    nchw = builder.transpose(x.name, TO_NCHW, hint=f"{layer.name}/to_nchw")
    weights = [builder.weight(array(layer.kernel).transpose(3, 2, 0, 1), f"{layer.name}/kernel")]
    if layer.use_bias:
        weights.append(builder.weight(array(layer.bias), f"{layer.name}/bias"))
    y = builder.node("Conv", [nchw, *weights], hint=f"{layer.name}/conv",
                     kernel_shape=list(layer.kernel_size), strides=list(layer.strides),
                     dilations=list(layer.dilation_rate), group=int(layer.groups),
                     **_padding(layer, x, layer.kernel_size, layer.strides,
                                layer.dilation_rate, layer.padding))
    hint = f"{layer.name}/{getattr(layer.activation, '__name__', 'activation')}"
    if activations.is_elementwise(layer.activation):
        y = activations.emit(builder, layer.activation, y, hint, layer=layer)
        return [Symbol(builder.transpose(y, TO_NHWC, hint=f"{layer.name}/to_nhwc"))]
    y = builder.transpose(y, TO_NHWC, hint=f"{layer.name}/to_nhwc")
    return [Symbol(activations.emit(builder, layer.activation, y, hint, layer=layer))]


def _pool(op_type, **attributes):
    def convert(layer, builder, inputs):
        (x,) = inputs
        _check_image(layer, x)
        nchw = builder.transpose(x.name, TO_NCHW, hint=f"{layer.name}/to_nchw")
        padding = _padding(layer, x, layer.pool_size, layer.strides, (1, 1), layer.padding)
        y = builder.node(op_type, [nchw], hint=f"{layer.name}/pool",
                         kernel_shape=list(layer.pool_size), strides=list(layer.strides),
                         **padding, **attributes)
        return [Symbol(builder.transpose(y, TO_NHWC, hint=f"{layer.name}/to_nhwc"))]
    return convert


converts(MaxPooling2D)(_pool("MaxPool"))
# Keras's "same" average leaves the padded cells out of the mean: count_include_pad=0.
converts(AveragePooling2D)(_pool("AveragePool", count_include_pad=0))


@converts(GlobalAveragePooling2D)
def global_average_pooling2d(layer, builder, inputs):
    """GlobalAveragePool in NCHW (so it follows a conv block without a transpose), then
    (N, C) or, with ``keepdims=True``, (N, 1, 1, C)."""
    (x,) = inputs
    _check_image(layer, x)
    nchw = builder.transpose(x.name, TO_NCHW, hint=f"{layer.name}/to_nchw")
    y = builder.node("GlobalAveragePool", [nchw], hint=f"{layer.name}/pool")  # (N, C, 1, 1)
    if layer.keepdims:
        return [Symbol(builder.transpose(y, TO_NHWC, hint=f"{layer.name}/to_nhwc"))]
    return [Symbol(builder.node("Flatten", [y], hint=layer.name, axis=1))]
