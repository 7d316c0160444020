"""ONNX converters of the merge layers of the functional API: Add, Subtract, Multiply,
Average, Maximum, Minimum (ONNX's variadic Sum, Sub, Mul, Mean, Max, Min) and Concatenate.

A mask on any input flows on as the AND of the inputs' masks, as minigrad's layers compute it.
"""

from ...nn.layers.merge import (Add, Average, Concatenate, Maximum, Minimum, Multiply,
                                Subtract)
from .builder import Symbol
from .registry import converts


def _mask(builder, layer, inputs):
    masks = [x.mask for x in inputs if x.mask is not None]
    mask = masks[0] if masks else None
    for other in masks[1:]:
        mask = builder.node("And", [mask, other], hint=f"{layer.name}/mask")
    return mask


def _variadic(op_type):
    """One node over all the inputs (ONNX's Sum / Mean / Max / Min take any number)."""
    def convert(layer, builder, inputs):
        y = builder.node(op_type, [x.name for x in inputs], hint=layer.name)
        return [Symbol(y, mask=_mask(builder, layer, inputs))]
    return convert


def _chained(op_type):
    """A chain of binary nodes (Mul, Sub: ONNX's take two inputs)."""
    def convert(layer, builder, inputs):
        y = inputs[0].name
        for x in inputs[1:]:
            y = builder.node(op_type, [y, x.name], hint=layer.name)
        return [Symbol(y, mask=_mask(builder, layer, inputs))]
    return convert


converts(Add)(_variadic("Sum"))
converts(Average)(_variadic("Mean"))
converts(Maximum)(_variadic("Max"))
converts(Minimum)(_variadic("Min"))
converts(Multiply)(_chained("Mul"))
converts(Subtract)(_chained("Sub"))


@converts(Concatenate)
def concatenate(layer, builder, inputs):
    y = builder.node("Concat", [x.name for x in inputs], hint=layer.name, axis=int(layer.axis))
    return [Symbol(y, mask=_mask(builder, layer, inputs))]
