"""Joining and splitting: concat (and its PyTorch spelling cat), stack, split."""

import numpy as np

from .. import dtypes
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ._operands import as_tensor, cast_constant, normalize_axes, resolve_axis


class Concat(Function):
    @staticmethod
    def forward(ctx, *arrays, axis):
        ctx.axis = axis
        ctx.ends = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return ctx.xp.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        return tuple(ctx.xp.split(grad, ctx.ends, axis=ctx.axis))


class Stack(Function):
    @staticmethod
    def forward(ctx, *arrays, axis):
        ctx.axis = axis
        return ctx.xp.stack(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        xp = ctx.xp
        return tuple(xp.take(grad, i, axis=ctx.axis) for i in range(grad.shape[ctx.axis]))


class Split(Function):
    @staticmethod
    def forward(ctx, x, indices_or_sections, axis):
        pieces = tuple(ctx.xp.split(x, indices_or_sections, axis=axis))
        ctx.shape, ctx.axis = x.shape, axis
        ctx.sizes = [piece.shape[axis] for piece in pieces]
        return pieces

    @staticmethod
    def backward(ctx, *grads):
        xp, shape, axis = ctx.xp, ctx.shape, ctx.axis
        dtype = next(g for g in grads if g is not None).dtype
        # A piece that was not used got no gradient: it contributes zeros.
        grads = [g if g is not None else
                 xp.zeros(shape[:axis] + (size,) + shape[axis + 1:], dtype=dtype)
                 for g, size in zip(grads, ctx.sizes)]
        return xp.concatenate(grads, axis=axis)


def _axis_or_first(axis, dim):
    """The axis given as ``axis=`` or ``dim=``; axis 0 when neither is."""
    axis = resolve_axis(axis, dim)
    return 0 if axis is None else axis


def _same_device_and_dtype(tensors, op_name):
    if not tensors:
        raise ValueError(f"{op_name} needs at least one tensor")
    like = next((t for t in tensors if isinstance(t, Tensor)), None)
    tensors = [as_tensor(t, like=like) for t in tensors]
    target = tensors[0].data.dtype
    for t in tensors[1:]:
        target = dtypes.result_dtype(target, t.data.dtype)
    return [t if dtypes.is_floating(t.data.dtype) else cast_constant(t, target) for t in tensors]


def concat(tensors, axis=None, *, dim=None):
    """Join tensors along an existing axis; they must match in every other dimension.

    (2, 3) and (4, 3) along axis 0 give (6, 3).
    """
    tensors = _same_device_and_dtype(list(tensors), "concat")
    ndim = tensors[0].data.ndim
    axis = normalize_axes(_axis_or_first(axis, dim), ndim)[0]
    for i, t in enumerate(tensors[1:], start=1):
        first = tensors[0].data.shape
        if t.data.ndim != ndim or any(a != b for k, (a, b) in enumerate(zip(first, t.data.shape))
                                      if k != axis):
            raise ValueError(f"concat along axis {axis}: tensor {i} has shape {t.shape}, which "
                             f"does not match tensor 0's shape {first} outside that axis")
    return Concat.apply(*tensors, axis=axis)


def cat(tensors, dim=None, *, axis=None):
    """PyTorch's spelling of :func:`concat`: ``mg.cat([a, b], dim=1)`` is
    ``mg.concat([a, b], axis=1)``; the second positional argument is the axis (default 0).

    >>> mg.cat([mg.zeros(2, 3), mg.ones(1, 3)]).shape
    (3, 3)
    """
    return concat(tensors, axis, dim=dim)


def stack(tensors, axis=None, *, dim=None):
    """Join tensors of the same shape along a new axis: n tensors of (3,) give (n, 3)."""
    tensors = _same_device_and_dtype(list(tensors), "stack")
    first = tensors[0].data.shape
    for i, t in enumerate(tensors[1:], start=1):
        if t.data.shape != first:
            raise ValueError(f"stack: tensor {i} has shape {t.shape} but tensor 0 has {first}; "
                             "all must have the same shape")
    axis = normalize_axes(_axis_or_first(axis, dim), len(first) + 1)[0]
    return Stack.apply(*tensors, axis=axis)


def split(x, indices_or_sections, axis=None, *, dim=None):
    """Split into pieces along ``axis``, as :func:`numpy.split`: an int ``n`` gives ``n``
    equal pieces; a list of indices gives the pieces between them.

    Note: PyTorch's ``split(2)`` means pieces *of size* 2; here, as in NumPy, it means 2 pieces.
    """
    axis = normalize_axes(_axis_or_first(axis, dim), x.data.ndim)[0]
    length = x.data.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0 or length % sections:
            raise ValueError(f"split: axis {axis} of a tensor of shape {x.shape} (size {length}) "
                             f"cannot be split into {sections} equal pieces")
        indices_or_sections = sections
    else:
        indices_or_sections = [int(i) for i in indices_or_sections]
    return Split.apply(x, indices_or_sections=indices_or_sections, axis=axis)
