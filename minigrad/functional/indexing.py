"""Indexing and slicing with gradient: basic (ints, slices, None, ...), integer-array and
boolean-mask indexing, as NumPy defines them."""

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor


class GetItem(Function):
    @staticmethod
    def forward(ctx, x, key, repeats_possible):
        ctx.shape, ctx.key, ctx.repeats_possible = x.shape, key, repeats_possible
        return x[key]

    @staticmethod
    def backward(ctx, grad):
        grad_x = ctx.xp.zeros(ctx.shape, dtype=grad.dtype)
        if ctx.repeats_possible:
            # x[[0, 0]] used x[0] twice: its gradient is the sum of both (a scatter-add).
            ctx.backend.scatter_add(grad_x, ctx.key, grad)
        else:
            grad_x[ctx.key] = grad  # each selected element was used once
        return grad_x


def getitem(x, key):
    """``x[key]`` with NumPy semantics; the gradient flows back to the selected elements.

    ``key`` may hold ints, slices, None, Ellipsis, and integer or boolean tensors/arrays/lists.
    Repeated integer indices accumulate their gradients.
    """
    key, repeats_possible = backend_key(key, x)
    try:
        return GetItem.apply(x, key=key, repeats_possible=repeats_possible)
    except IndexError as exc:
        raise IndexError(f"index {_describe(key)} into a tensor of shape {x.shape}: "
                         f"{exc}") from None


def backend_key(key, x):
    """The key with tensors and lists turned into arrays of x's backend; and whether an integer
    array could pick an element more than once."""
    backend = x._backend
    items = key if isinstance(key, tuple) else (key,)
    converted = []
    repeats_possible = False
    for item in items:
        if isinstance(item, Tensor):
            if item._backend is not backend:
                raise RuntimeError(f"indexing a tensor on {x.device!r} with an index tensor on "
                                   f"{item.device!r}")
            item = item.data
        elif isinstance(item, (list, np.ndarray)) or (backend.name != "cpu"
                                                      and hasattr(item, "__array__")):
            item = backend.asarray(np.asarray(item) if isinstance(item, list) else item)
        if hasattr(item, "dtype") and hasattr(item, "ndim") and not np.isscalar(item):
            if item.dtype.kind not in "biu":
                raise IndexError(f"index arrays must be integer or boolean, got dtype "
                                 f"{item.dtype}")
            if item.dtype.kind in "iu":
                repeats_possible = True
        elif isinstance(item, float):
            raise IndexError(f"indices must be integers, slices or arrays, got the float {item}")
        converted.append(item)
    return (tuple(converted) if isinstance(key, tuple) else converted[0]), repeats_possible


def _describe(key):
    items = key if isinstance(key, tuple) else (key,)
    parts = [f"array of shape {k.shape}" if hasattr(k, "shape") and getattr(k, "ndim", 0)
             else repr(k) for k in items]
    return "[" + ", ".join(parts) + "]"
