"""ONNX converters of the layers that start, change or end a sequence's mask: Embedding
(``Gather``; with ``mask_zero`` the mask ``ids != 0``), Masking and GlobalAveragePooling1D
(the mean over the real steps alone when there is a mask).

A mask travels beside its value as :attr:`Symbol.mask <.builder.Symbol>`, an ONNX bool (N, T)
value, exactly where minigrad's ``call_with_mask`` would hand one on.
"""

import numpy as np

from ...nn.layers.core import Masking
from ...nn.layers.embedding import Embedding
from ...nn.layers.pooling import GlobalAveragePooling1D
from .builder import Symbol
from .registry import converts

_INT64 = 7    # onnx.TensorProto.INT64


@converts(Embedding)
def convert_embedding(layer, builder, inputs):
    """``Gather`` of rows of the table; ids of any integer (or whole float) type are cast to
    int64 first. With ``mask_zero``, the output's mask is ``ids != 0`` (any incoming mask is
    dropped, as ``Embedding.compute_mask`` does)."""
    (ids,) = inputs
    name = layer.name
    table = builder.constant(as_numpy(layer.embeddings, builder), f"{name}/embeddings")
    index = builder.node("Cast", [ids.name], hint=f"{name}/ids", to=_INT64)
    zero = builder.ints(0, f"{name}/zero")
    # Gather reads a negative id as counted from the end of the table, where minigrad refuses
    # it: an id below 0 becomes input_dim, which Gather refuses as out of range, so a bad id
    # is an error in the runtime too rather than some other word's vector
    negative = builder.node("Less", [index, zero], hint=f"{name}/negative")
    checked = builder.node("Where", [negative, builder.ints(layer.input_dim, f"{name}/beyond"),
                                     index], hint=f"{name}/checked_ids")
    output = builder.node("Gather", [table, checked], hint=f"{name}/vectors", axis=0)
    mask = None
    if layer.mask_zero:
        mask = builder.node("Not", [builder.node("Equal", [index, zero], hint=f"{name}/is_pad")],
                            hint=f"{name}/mask")
    shape = None if ids.shape is None else tuple(ids.shape) + (layer.output_dim,)
    return [Symbol(output, mask=mask, shape=shape)]


@converts(Masking)
def convert_masking(layer, builder, inputs):
    """keep = any(x != mask_value) over the features; output ``x * keep``, mask ``keep``
    (N, T)."""
    (x,) = inputs
    name = layer.name
    value = builder.weight(layer.mask_value, f"{name}/mask_value")
    differs = builder.node("Not", [builder.node("Equal", [x.name, value],
                                                hint=f"{name}/equal")], hint=f"{name}/differs")
    count = reduce_sum(builder, builder.node("Cast", [differs], hint=f"{name}/differs_n",
                                             to=_INT64), -1, name)           # (N, T, 1)
    keep = builder.node("Greater", [count, builder.ints(0, f"{name}/zero")],
                        hint=f"{name}/keep")
    output = builder.node("Mul", [x.name, cast_float(builder, keep, f"{name}/keep_f")],
                          hint=f"{name}/masked")
    mask = squeeze(builder, keep, -1, f"{name}/mask")
    return [Symbol(output, mask=mask, shape=x.shape)]


@converts(GlobalAveragePooling1D)
def convert_global_average_pooling_1d(layer, builder, inputs):
    """The mean over axis 1; with a mask ``sum(x * w) / max(sum(w), 1)``, w the mask as 0/1
    (an all-padding sequence gives 0, as minigrad's layer). The mask ends here."""
    (x,) = inputs
    name = layer.name
    shape = None if x.shape is None else ((1,) if layer.keepdims else ()) + tuple(x.shape[1:])
    if x.mask is None:
        total = reduce_sum(builder, x.name, 1, name, keepdims=layer.keepdims)
        steps = builder.node("Gather", [builder.node("Shape", [x.name], hint=f"{name}/shape"),
                                        builder.ints(1, f"{name}/one")],
                             hint=f"{name}/steps")
        steps = cast_float(builder, steps, f"{name}/steps_f")
        return [Symbol(builder.node("Div", [total, steps], hint=f"{name}/mean"), shape=shape)]
    weights = cast_float(builder, unsqueeze(builder, x.mask, 2, f"{name}/mask3"),
                         f"{name}/weights")                                   # (N, T, 1)
    total = reduce_sum(builder, builder.node("Mul", [x.name, weights], hint=f"{name}/kept"),
                       1, name, keepdims=layer.keepdims)
    count = reduce_sum(builder, weights, 1, name, keepdims=layer.keepdims)
    one = builder.weight(1, f"{name}/one")
    count = builder.node("Max", [count, one], hint=f"{name}/count")
    return [Symbol(builder.node("Div", [total, count], hint=f"{name}/mean"), shape=shape)]


# --- helpers the recurrent converters share -----------------------------------------------------
# Squeeze, Unsqueeze and ReduceSum take their axes as an input from opset 13 on, an attribute
# before.

def reduce_sum(builder, value, axis, name, keepdims=True):
    """ReduceSum of ``value`` over one axis."""
    if builder.opset >= 13:
        axes = builder.ints([axis], f"{name}/axes")
        return builder.node("ReduceSum", [value, axes], hint=f"{name}/sum",
                            keepdims=int(keepdims))
    return builder.node("ReduceSum", [value], hint=f"{name}/sum", axes=[axis],
                        keepdims=int(keepdims))


def squeeze(builder, value, axis, hint):
    """``value`` without its axis ``axis`` (of length 1)."""
    return _axes_op(builder, "Squeeze", value, axis, hint)


def unsqueeze(builder, value, axis, hint):
    """``value`` with a new axis of length 1 at ``axis``."""
    return _axes_op(builder, "Unsqueeze", value, axis, hint)


def _axes_op(builder, op, value, axis, hint):
    if builder.opset >= 13:
        return builder.node(op, [value, builder.ints([axis], f"{hint}/axes")], hint=hint)
    return builder.node(op, [value], hint=hint, axes=[axis])


def cast_float(builder, value, hint):
    """``value`` (bool or int) cast to the model's float type."""
    from onnx.helper import np_dtype_to_tensor_dtype
    return builder.node("Cast", [value], hint=hint,
                        to=int(np_dtype_to_tensor_dtype(builder.dtype)))


def as_numpy(parameter, builder):
    """A parameter's values as a NumPy array of the model's float dtype (from any device)."""
    return np.asarray(parameter.numpy(), dtype=builder.dtype)
