"""In-place updates: ``x -= y`` (and ``+=``, ``*=``, ``/=``) and ``x[key] = value``.

They change ``x.data`` itself, so they are outside the graph: allowed on tensors that require
grad only under :class:`~minigrad.no_grad` (parameter updates), as in PyTorch. Changing in place
a value that a graph still holds for its backward gives wrong gradients; do it after backward.
"""

import numpy as np

from ..autograd.grad_mode import is_grad_enabled
from ..autograd.tensor import Tensor
from ._operands import array_beside, binary_operands
from .indexing import backend_key

_UFUNC_NAMES = {"+=": "add", "-=": "subtract", "*=": "multiply", "/=": "true_divide"}


def _check_not_recording(target, other, operation):
    other_requires_grad = isinstance(other, Tensor) and other.requires_grad
    if is_grad_enabled() and (target.requires_grad or other_requires_grad):
        raise RuntimeError(
            f"in-place {operation} on a tensor that requires grad while gradients are recorded: "
            "the graph cannot see in-place changes. Do parameter updates under mg.no_grad(), or "
            "write an out-of-place op (x = x - y) to keep the change differentiable")


def update(target, other, operation):
    """``target <operation> other`` in place, where ``operation`` is ``"+="``, ``"-="``,
    ``"*="`` or ``"/="``; the result keeps ``target``'s shape and dtype. Returns ``target``."""
    _check_not_recording(target, other, operation)
    _, other = binary_operands(target, other)
    if other._backend is not target._backend:
        raise RuntimeError(f"x {operation} y: x is on {target.device!r} but y is on "
                           f"{other.device!r}")
    shape = target.data.shape
    try:
        fits = np.broadcast_shapes(shape, other.data.shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"x {operation} y: y of shape {other.shape} does not broadcast to x's "
                         f"shape {shape}")
    ufunc = getattr(target._backend.xp, _UFUNC_NAMES[operation])
    try:
        ufunc(target.data, other.data, out=target.data, casting="same_kind")
    except TypeError as exc:  # NumPy's UFuncTypeError, e.g. a float into an int tensor
        raise TypeError(f"x {operation} y: the result cannot be stored in x's dtype "
                        f"{target.dtype.name} ({exc})") from None
    return target


def setitem(target, key, value):
    """``target[key] = value`` in place, with NumPy's indexing rules."""
    _check_not_recording(target, value, "assignment (x[key] = value)")
    key, _ = backend_key(key, target)
    target.data[key] = array_beside(value, target, "x[key] = value", "value")
