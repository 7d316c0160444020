"""Making tensors: from data (``tensor``, ``from_numpy``, ``from_dlpack``), filled (``zeros``,
``ones``, ``full``, ``arange``, ``linspace``, ``eye``), random (``rand``, ``randn``) and
``*_like`` variants."""

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


# DLPack device types (the first number of __dlpack_device__()) by where minigrad puts them:
# host memory NumPy reads (the CPU; CUDA's pinned host memory), and memory CuPy reads.
_DLPACK_HOST = {1: "CPU", 3: "CUDA host (pinned)"}
_DLPACK_CUDA = {2: "CUDA", 13: "CUDA managed"}
_DLPACK_OTHER = {4: "OpenCL", 7: "Vulkan", 8: "Metal", 9: "VPI", 10: "ROCm", 11: "ROCm host",
                 12: "ext_dev", 14: "oneAPI", 15: "WebGPU", 16: "Hexagon", 17: "MAIA"}


def from_dlpack(obj, device=None, copy=None):
    """A tensor sharing memory with ``obj``, any DLPack producer: a PyTorch tensor, a NumPy,
    CuPy or JAX array, a minigrad tensor. Writes through either show in the other.

    Host memory becomes a "cpu" tensor (through :func:`numpy.from_dlpack`), CUDA memory a
    "cuda" tensor (through ``cupy.from_dlpack``, so CuPy must be installed). Shape, strides
    (a transposed or sliced producer stays a view) and dtype are kept; the dtype must be one
    minigrad supports (bfloat16 and complex are not). The result does not require grad.

    Args:
        obj: an object with ``__dlpack__`` and ``__dlpack_device__`` (not a bare capsule).
        device: "cpu" or "cuda" to get the tensor there (a copy when it is not ``obj``'s
            device); None keeps ``obj``'s device.
        copy: True gives a copy; False never copies (BufferError when ``device`` would need
            one); None (the default) shares the memory whenever it can.

    >>> import numpy as np
    >>> a = np.zeros(3, dtype=np.float32)
    >>> t = mg.from_dlpack(a)
    >>> a[0] = 7.0
    >>> t
    tensor([7., 0., 0.])
    """
    if not (hasattr(obj, "__dlpack__") and hasattr(obj, "__dlpack_device__")):
        raise TypeError(f"from_dlpack expects a DLPack producer, an object with __dlpack__ and "
                        f"__dlpack_device__ (a torch tensor, a NumPy/CuPy/JAX array, a minigrad "
                        f"Tensor), got {type(obj).__name__}")
    device_type, device_id = (int(v) for v in obj.__dlpack_device__())
    what = f"this {type(obj).__name__}" + (f" of dtype {obj.dtype}" if hasattr(obj, "dtype")
                                          else "")
    if device_type in _DLPACK_HOST:
        source, importer = get_backend("cpu"), np.from_dlpack
    elif device_type in _DLPACK_CUDA:
        where = f"{_DLPACK_CUDA[device_type]} memory of GPU {device_id}"
        if device_id != 0:
            raise ValueError(f"mg.from_dlpack: {what} is in the {where}, but minigrad uses one "
                             "GPU, 'cuda' (= 'cuda:0'); move it to GPU 0 or the CPU first")
        try:
            source = get_backend("cuda")
        except RuntimeError as exc:
            raise RuntimeError(f"mg.from_dlpack: {what} is in the {where}, which minigrad reads "
                               f"through CuPy. {exc}. Or move it to the CPU first (for a torch "
                               "tensor: .cpu())") from None
        importer = source.xp.from_dlpack
    else:
        name = _DLPACK_OTHER.get(device_type, "unknown")
        raise ValueError(f"mg.from_dlpack: {what} is on a {name} device (DLPack device type "
                         f"{device_type}); minigrad takes CPU and CUDA memory only, so move it "
                         "to the CPU first")
    try:
        # Neither copy nor device is passed on: NumPy 1.26 and CuPy 13 do not take them.
        array = importer(obj)
    except (RuntimeError, BufferError) as exc:
        supported = ("; minigrad takes float16/32/64, int8/16/32/64, uint8/16/32/64 and bool"
                     if "dtype" in str(exc).lower() else "")
        raise type(exc)(f"mg.from_dlpack: {what} could not be imported: {exc}{supported}") from exc
    try:
        dtypes.as_dtype(array.dtype)
    except TypeError as exc:
        raise TypeError(f"mg.from_dlpack: {exc}") from None
    target = get_backend(device) if device is not None else source
    if target is not source:
        if copy is False:
            raise BufferError(f"mg.from_dlpack: device={target.name!r} needs a copy of {what} "
                              f"(in {source.name!r} memory), but copy=False")
        return Tensor._make(target.asarray(array), target)
    if copy:
        array = array.copy()
    return Tensor._make(array, source)


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
