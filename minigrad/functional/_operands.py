"""Turning op arguments into tensors: Python scalars beside tensors, mixed dtypes, axis aliases."""

import numbers

import numpy as np

from .. import dtypes
from ..autograd.tensor import Tensor


def as_tensor(value, like=None):
    """``value`` as a Tensor, on ``like``'s device when ``like`` is given."""
    if isinstance(value, Tensor):
        return value
    return Tensor(value, device=like._backend if like is not None else None)


def binary_operands(a, b):
    """Two tensors on one device with compatible dtypes, for a binary op on ``a`` and ``b``.

    A Python (or NumPy) scalar takes the tensor's dtype, so ``x32 * 0.5`` stays float32; an
    integer tensor beside a float scalar or float tensor becomes float, as in PyTorch.
    """
    if isinstance(a, Tensor):
        b = b if isinstance(b, Tensor) else _constant(b, a)
    elif isinstance(b, Tensor):
        a = _constant(a, b)
    else:
        raise TypeError(f"expected at least one Tensor, got {type(a).__name__} and "
                        f"{type(b).__name__}")
    a_dtype, b_dtype = a.data.dtype, b.data.dtype
    if a_dtype == b_dtype:
        return a, b
    target = dtypes.result_dtype(a_dtype, b_dtype)
    # Only non-float operands are cast here (they carry no gradient); two float dtypes are left
    # to promote in forward, and the engine casts each gradient back to its input's dtype.
    if not dtypes.is_floating(a_dtype):
        a = cast_constant(a, target)
    if not dtypes.is_floating(b_dtype):
        b = cast_constant(b, target)
    return a, b


def apply_binary(function, a, b):
    """``function.apply`` on the operands of a broadcasting binary op, with a clear error when
    their shapes do not broadcast."""
    a, b = binary_operands(a, b)
    try:
        return function.apply(a, b)
    except ValueError:
        check_broadcastable(function.__name__.lower(), a.data.shape, b.data.shape)
        raise


def check_broadcastable(op_name, *shapes):
    """Raise a ValueError naming the shapes if they cannot be broadcast together."""
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        listed = " and ".join(str(tuple(s)) for s in shapes)
        raise ValueError(f"{op_name}: shapes {listed} cannot be broadcast together (each "
                         "dimension, from the right, must be equal or 1)") from None


def _constant(value, like):
    if isinstance(value, (numbers.Number, np.generic)) and not isinstance(value, np.ndarray):
        like_dtype = like.data.dtype
        if isinstance(value, (bool, np.bool_)):
            dtype = like_dtype
        elif isinstance(value, (numbers.Integral, np.integer)):
            dtype = like_dtype if like_dtype != dtypes.bool_ else dtypes.int64
        elif isinstance(value, (numbers.Real, np.floating)):
            dtype = like_dtype if dtypes.is_floating(like_dtype) else dtypes.default_float
        else:
            raise TypeError(f"unsupported operand of type {type(value).__name__} "
                            "(complex numbers are not supported)")
        return Tensor._make(like._backend.asarray(value, dtype=dtype), like._backend)
    return Tensor(value, device=like._backend)


def float_operand(x):
    """``x`` for an op whose value is never an integer (exp, sqrt, softmax, ...): unchanged if
    it is floating, else as float32 (outside the graph), as in PyTorch; NumPy would give
    float64, the silent promotion this library avoids."""
    if dtypes.is_floating(x.data.dtype):
        return x
    return cast_constant(x, dtypes.default_float)


def cast_constant(tensor, dtype):
    """``tensor`` as ``dtype``, outside the graph (for operands that carry no gradient)."""
    if tensor.data.dtype == dtype:
        return tensor
    return Tensor._make(tensor.data.astype(dtype), tensor._backend)


def array_beside(value, like, op_name, what):
    """``value`` (a tensor, array, list or number) as a raw array on ``like``'s device, for
    arguments that carry no gradient (masks, ids, conditions, labels). A tensor on another
    device is an error naming both devices."""
    backend = like._backend
    if isinstance(value, Tensor):
        if value._backend is not backend:
            raise RuntimeError(f"{op_name}: {what} is on {value.device!r} but the input is on "
                               f"{like.device!r}; move one with .to(device)")
        return value.data
    return backend.asarray(np.asarray(value) if isinstance(value, (list, tuple)) else value)


def value_range(array, backend):
    """``(min, max)`` of a non-empty array as Python numbers, copied to the host together (one
    wait for a GPU, not two). For the range checks of ids and labels."""
    xp = backend.xp
    low, high = backend.to_numpy(xp.stack([array.min(), array.max()])).tolist()
    return low, high


def resolve_axis(axis, dim):
    """The axis argument, given as ``axis=`` (NumPy/Keras) or ``dim=`` (PyTorch)."""
    if dim is not None:
        if axis is not None and axis != dim:
            raise TypeError(f"got axis={axis!r} and dim={dim!r}; give one of them")
        axis = dim
    if isinstance(axis, list):
        axis = tuple(axis)
    return axis


def resolve_keepdims(keepdims, keepdim):
    """The keepdims argument, given as ``keepdims=`` (NumPy/Keras) or ``keepdim=`` (PyTorch);
    False when neither is. Both may be given only with the same value, as ``axis=``/``dim=``."""
    if keepdim is not None:
        if keepdims is not None and bool(keepdims) != bool(keepdim):
            raise TypeError(f"got keepdims={keepdims!r} and keepdim={keepdim!r}; give one of "
                            "them (keepdim is PyTorch's spelling of keepdims)")
        keepdims = keepdim
    return bool(keepdims)


def normalize_axes(axis, ndim):
    """``axis`` (None, int or tuple, possibly negative) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    result = []
    for a in axes:
        if not isinstance(a, (int, np.integer)):
            raise TypeError(f"axis must be an int or a tuple of ints, got {axis!r}")
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
        result.append(int(a) % max(ndim, 1))
    if len(set(result)) != len(result):
        raise ValueError(f"repeated axis in {axis!r}")
    return tuple(sorted(result))
