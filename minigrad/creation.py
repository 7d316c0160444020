"""Making tensors: from data (``tensor``, ``from_numpy``), filled (``zeros``, ``ones``, ``full``,
``arange``, ``linspace``, ``eye``), random (``rand``, ``randn``) and ``*_like`` variants."""

import numbers

import numpy as np

from . import dtypes
from .autograd.tensor import Tensor
from .backends import get_backend


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (a number, nested lists, a NumPy/CuPy array or a
    tensor).

    dtype: Python floats give float32, Python ints int64; arrays keep their dtype, as in
    PyTorch. device: "cpu" (default) or "cuda".

    >>> mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True).shape
    (2, 2)
    """
    return Tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


def from_numpy(array):
    """A CPU tensor sharing memory with the NumPy array ``array`` (changes show in both)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    dtypes.as_dtype(array.dtype)
    return Tensor._make(array, get_backend("cpu"))


def _shape(shape, function):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if not all(isinstance(s, (numbers.Integral, np.integer)) and s >= 0 for s in shape):
        raise ValueError(f"{function}(): a shape is non-negative ints, got {shape}")
    return tuple(int(s) for s in shape)


def _make(array, backend, requires_grad):
    result = Tensor._make(array, backend)
    if requires_grad:
        result.requires_grad = True  # checks that the dtype is floating
    return result


def _float_dtype(dtype, function):
    dtype = dtypes.as_dtype(dtype)
    if dtype is None:  # (not `or`: a NumPy dtype is falsy)
        dtype = dtypes.default_float
    if function in ("rand", "randn") and not dtypes.is_floating(dtype):
        raise TypeError(f"{function}() makes floating-point tensors, got dtype {dtype.name}")
    return dtype


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    """A tensor of zeros: ``mg.zeros(2, 3)`` or ``mg.zeros((2, 3))``; float32 by default."""
    backend = get_backend(device)
    array = backend.xp.zeros(_shape(shape, "zeros"), dtype=_float_dtype(dtype, "zeros"))
    return _make(array, backend, requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad=False):
    """A tensor of ones; float32 by default."""
    backend = get_backend(device)
    array = backend.xp.ones(_shape(shape, "ones"), dtype=_float_dtype(dtype, "ones"))
    return _make(array, backend, requires_grad)


def full(shape, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor of ``shape`` filled with ``fill_value`` (its dtype: float32 for a float, int64
    for an int, bool for a bool, unless ``dtype`` says otherwise)."""
    backend = get_backend(device)
    shape = _shape(shape if isinstance(shape, (tuple, list)) else (shape,), "full")
    if dtype is None:
        dtype = bool if isinstance(fill_value, bool) else \
            int if isinstance(fill_value, numbers.Integral) else float
    array = backend.xp.full(shape, fill_value, dtype=dtypes.as_dtype(dtype))
    return _make(array, backend, requires_grad)


def arange(start, stop=None, step=1, dtype=None, device=None, requires_grad=False):
    """Evenly spaced values in ``[start, stop)``, as :func:`numpy.arange`; int64 for integer
    arguments, float32 otherwise."""
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        integral = all(isinstance(v, (numbers.Integral, np.integer)) for v in (start, stop, step))
        dtype = dtypes.int64 if integral else dtypes.default_float
    backend = get_backend(device)
    array = backend.xp.arange(start, stop, step, dtype=dtypes.as_dtype(dtype))
    return _make(array, backend, requires_grad)


def linspace(start, stop, num, dtype=None, device=None, requires_grad=False):
    """``num`` evenly spaced values from ``start`` to ``stop`` inclusive; float32 by default."""
    backend = get_backend(device)
    array = backend.xp.linspace(start, stop, num, dtype=_float_dtype(dtype, "linspace"))
    return _make(array, backend, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    """The (n, m) identity matrix (m defaults to n); float32 by default."""
    backend = get_backend(device)
    array = backend.xp.eye(n, m, dtype=_float_dtype(dtype, "eye"))
    return _make(array, backend, requires_grad)


def rand(*shape, dtype=None, device=None, requires_grad=False):
    """Samples from the uniform distribution on [0, 1); seeded by :func:`minigrad.manual_seed`."""
    backend = get_backend(device)
    array = backend.uniform(_shape(shape, "rand"), _float_dtype(dtype, "rand"))
    return _make(array, backend, requires_grad)


def randn(*shape, dtype=None, device=None, requires_grad=False):
    """Samples from the standard normal distribution; seeded by :func:`minigrad.manual_seed`."""
    backend = get_backend(device)
    array = backend.normal(_shape(shape, "randn"), _float_dtype(dtype, "randn"))
    return _make(array, backend, requires_grad)


def _like(function, other, dtype, device, requires_grad, *args):
    if not isinstance(other, Tensor):
        raise TypeError(f"{function.__name__}_like expects a Tensor, got {type(other).__name__}")
    return function(other.shape, *args, dtype=other.dtype if dtype is None else dtype,
                    device=other._backend if device is None else device,
                    requires_grad=requires_grad)


def zeros_like(other, dtype=None, device=None, requires_grad=False):
    """Zeros with the shape (and, unless given, dtype and device) of ``other``."""
    return _like(zeros, other, dtype, device, requires_grad)


def ones_like(other, dtype=None, device=None, requires_grad=False):
    """Ones with the shape (and, unless given, dtype and device) of ``other``."""
    return _like(ones, other, dtype, device, requires_grad)


def full_like(other, fill_value, dtype=None, device=None, requires_grad=False):
    """``fill_value`` with the shape (and, unless given, dtype and device) of ``other``."""
    return _like(full, other, dtype, device, requires_grad, fill_value)


def rand_like(other, dtype=None, device=None, requires_grad=False):
    """Uniform samples with the shape (and, unless given, dtype and device) of ``other``."""
    return _like(rand, other, dtype, device, requires_grad)


def randn_like(other, dtype=None, device=None, requires_grad=False):
    """Normal samples with the shape (and, unless given, dtype and device) of ``other``."""
    return _like(randn, other, dtype, device, requires_grad)
