"""``Tensor``: an n-dimensional array on a device that remembers how it was computed."""

import operator

import numpy as np

from .. import dtypes
from ..backends import backend_of_array, get_backend, split_device_and_dtype


class Tensor:
    """An n-dimensional array (NumPy on "cpu", CuPy on "cuda") with automatic differentiation.

    Create tensors with :func:`minigrad.tensor` or the creation functions (``mg.zeros``, ...).
    A tensor with ``requires_grad=True`` records the ops applied to it; ``backward()`` on a
    result then fills ``.grad`` of every such leaf.

    >>> x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4., 6.])

    Attributes:
        data: the raw backend array (``numpy.ndarray`` or ``cupy.ndarray``).
        grad: the accumulated gradient (a Tensor of the same shape and dtype), or None.
    """

    # _keras_mask: the (N, T) bool mask of padded steps that a model attaches to its output
    # (as Keras does), read by losses and metrics; unset on most tensors (read it with getattr).
    __slots__ = ("data", "grad", "_requires_grad", "_node", "_index", "_backend", "_keras_mask",
                 "__weakref__")
    # NumPy defers to our reflected operators: np.float32(2) * t gives a Tensor.
    __array_ufunc__ = None
    # == builds an elementwise comparison, so identity hashing is spelled out.
    __hash__ = object.__hash__

    def __init__(self, data, dtype=None, device=None, requires_grad=False):
        backend = get_backend(device) if device is not None else None
        array, backend = _to_array(data, dtypes.as_dtype(dtype), backend)
        self.data = array
        self.grad = None
        self._node = None
        self._index = 0
        self._backend = backend
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _make(cls, array, backend, requires_grad=False):
        """Wrap a backend array without checks (the fast path used by ops)."""
        tensor = cls.__new__(cls)
        tensor.data = array
        tensor.grad = None
        tensor._node = None
        tensor._index = 0
        tensor._backend = backend
        tensor._requires_grad = requires_grad
        return tensor

    # --- what it is -------------------------------------------------------------------------
    @property
    def shape(self):
        """The shape, a tuple of ints."""
        return self.data.shape

    @property
    def ndim(self):
        """The number of dimensions."""
        return self.data.ndim

    @property
    def size(self):
        """The number of elements, an int as NumPy's ``a.size``; calling it gives PyTorch's
        answers: ``t.size()`` is the shape and ``t.size(dim)`` one dimension's length.

        The value is an ``int`` subclass that can be called, so both spellings work:

        >>> t = mg.zeros(2, 3)
        >>> t.size, t.size(), t.size(-1)
        (6, (2, 3), 3)
        """
        return _Size(self.data.size, self.data.shape)

    def numel(self):
        """The number of elements (PyTorch spelling of :attr:`size`)."""
        return self.data.size

    @property
    def dtype(self):
        """The element type, a NumPy dtype (``mg.float32`` == ``np.dtype("float32")``)."""
        return self.data.dtype

    @property
    def device(self):
        """Where the data lives, ``"cpu"`` or ``"cuda"``."""
        return self._backend.name

    @property
    def requires_grad(self):
        """True if ops on this tensor are recorded so that gradients can flow back to it."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        value = bool(value)
        if value and not dtypes.is_floating(self.data.dtype):
            raise TypeError(f"only floating-point tensors can require gradients, but this one "
                            f"has dtype {self.data.dtype.name}; convert it with .float()")
        if not value and self._node is not None:
            raise RuntimeError("requires_grad can only be switched off on a leaf tensor; use "
                               ".detach() to get a tensor outside the graph")
        self._requires_grad = value

    def requires_grad_(self, requires_grad=True):
        """Set :attr:`requires_grad` in place and return the tensor."""
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        """True if the tensor was not computed by a recorded op (a parameter or an input)."""
        return self._node is None

    @property
    def grad_fn(self):
        """The op (a :class:`~minigrad.autograd.Function` node) that computed this tensor, or
        None for a leaf."""
        return self._node

    @property
    def T(self):
        """The tensor with its axes reversed (the transpose of a matrix)."""
        return F.transpose(self)

    # --- autograd ---------------------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Compute the gradient of this tensor with respect to every leaf that requires grad,
        and add it to the leaves' ``.grad``.

        Args:
            grad: d(loss)/d(self), of this tensor's shape; may be omitted for a single-element
                tensor (a loss), where it is 1.
            retain_graph: keep the graph so that backward can run through it again.
        """
        from .engine import run_backward

        run_backward(self, grad, retain_graph)

    def retain_grad(self):
        """Also keep ``.grad`` for this non-leaf tensor during the next backward."""
        if self._node is None:
            return
        self._node.retain_output_grad(self)

    def detach(self):
        """A tensor sharing this one's data, outside the graph (``requires_grad=False``); a
        model output's mask comes along (metrics read it)."""
        tensor = Tensor._make(self.data, self._backend, False)
        mask = getattr(self, "_keras_mask", None)
        if mask is not None:
            tensor._keras_mask = mask
        return tensor

    def clone(self):
        """A copy with its own memory, in the graph: the gradient flows back to this tensor
        (PyTorch's ``clone``; ``detach().clone()`` gives a copy outside the graph). See
        :func:`minigrad.functional.clone`."""
        return F.clone(self)

    def zero_grad(self):
        """Reset ``.grad`` to None."""
        self.grad = None

    # --- getting the data out ---------------------------------------------------------------
    def numpy(self):
        """The data as a NumPy array (the same memory on the CPU, a copy from a GPU)."""
        return self._backend.to_numpy(self.data)

    def item(self):
        """The value of a single-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a single-element tensor, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        """The data as (nested) Python lists."""
        return self.numpy().tolist()

    def __array__(self, dtype=None, copy=None):
        # NumPy 2's protocol: copy=False promises the same memory, so say when that cannot be.
        if copy is False and (self._backend.name != "cpu"
                              or dtype is not None and np.dtype(dtype) != self.data.dtype):
            raise ValueError(f"np.asarray(copy=False): a {self.device!r} tensor of dtype "
                             f"{self.dtype.name} cannot be seen as a NumPy array of dtype "
                             f"{np.dtype(dtype or self.dtype).name} without a copy")
        array = self.numpy()
        if dtype is not None and array.dtype != dtype:
            return array.astype(dtype)
        if copy:
            return array.copy()
        return array

    # --- DLPack: zero-copy exchange with PyTorch, NumPy, CuPy, JAX, ... ---------------------
    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """Export the data as a DLPack capsule; what ``torch.from_dlpack(t)``,
        ``np.from_dlpack(t)``, ``cupy.from_dlpack(t)`` (and ``torch.tensor(t)``,
        ``torch.as_tensor(t)``) call. The consumer shares this tensor's memory.

        The keyword arguments are the DLPack protocol's (consumers pass them):

        Args:
            stream: the consumer's CUDA stream, for a "cuda" tensor (passed on to CuPy, which
                orders the two streams); must be None (or -1) for a "cpu" tensor.
            max_version: the newest DLPack version the consumer reads, ``(major, minor)``.
            dl_device: the ``(device_type, id)`` the consumer wants the data on; None, or this
                tensor's :meth:`__dlpack_device__`, or ``(1, 0)`` (the CPU) for a "cuda"
                tensor, which exports a copy in host memory.
            copy: True exports a copy; False never copies (BufferError where it would have
                to); None (the default) shares the memory whenever it can.

        The export is outside the graph, like :meth:`numpy`: a tensor that requires grad is
        exported as ``t.detach()`` would be (PyTorch refuses such tensors with a BufferError;
        minigrad lets ``torch.tensor(param)`` work), and writes through the consumer bypass
        autograd. A view with negative strides (``t[::-1]``) is exported as a copy, since
        consumers such as PyTorch cannot take negative strides (with ``copy=False``: a
        BufferError).

        Shape and dtype are kept: a (2, 3) float16 tensor arrives as a (2, 3) float16 array.

        >>> import numpy as np
        >>> t = mg.zeros(3)
        >>> a = np.from_dlpack(t)
        >>> a[0] = 5.0
        >>> t
        tensor([5., 0., 0.])
        """
        array = self.data
        wanted = None if dl_device is None else tuple(int(v) for v in dl_device)
        if wanted is not None and wanted != self.__dlpack_device__():
            if wanted != (_DLPACK_CPU, 0):
                raise BufferError(f"__dlpack__: cannot export a {self.device!r} tensor to DLPack "
                                  f"device {wanted}; move it with .to(device) first")
            if copy is False:
                raise BufferError(f"__dlpack__: a {self.device!r} tensor reaches the CPU only as "
                                  "a copy, but copy=False")
            array, copy = self._backend.to_numpy(array), None  # the host copy asked for
        if isinstance(array, np.ndarray) and stream not in (None, -1):
            raise BufferError(f"__dlpack__: stream={stream!r}, but data in host memory has no "
                              "CUDA stream; pass stream=None")
        if copy:
            array = array.copy()
        elif any(step < 0 for step in array.strides):
            if copy is False:
                steps = tuple(step // array.itemsize for step in array.strides)
                raise BufferError(f"__dlpack__: this view has negative strides {steps} (in "
                                  "elements; e.g. t[::-1]), which DLPack consumers such as "
                                  "PyTorch cannot take; export a copy (copy=None or True, or "
                                  "t.clone())")
            array = array.copy()
        # Only the stream and version go to the array: copy and dl_device were handled above,
        # so NumPy 1.26 and older CuPy (whose __dlpack__ takes no more) behave the same.
        stream = None if isinstance(array, np.ndarray) else stream
        if max_version is not None:
            try:
                return array.__dlpack__(stream=stream, max_version=max_version)
            except TypeError:  # a producer before DLPack 1.0: an unversioned capsule
                pass
        return array.__dlpack__(stream=stream)

    def __dlpack_device__(self):
        """The DLPack device of the data, ``(device_type, device_id)``: ``(1, 0)`` for "cpu",
        ``(2, 0)`` for "cuda". Consumers call it before :meth:`__dlpack__`."""
        return tuple(int(v) for v in self.data.__dlpack_device__())

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                             "use .any() or .all()")
        return bool(self.data.item())

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if not np.issubdtype(self.dtype, np.integer) or self.data.size != 1:
            raise TypeError("only single-element integer tensors can be used as an index")
        return int(self.item())

    def __format__(self, format_spec):
        # As PyTorch: f"{loss:.3f}" formats the Python number of a single-element tensor. An
        # empty spec keeps Python's format(x, "") == str(x) (PyTorch gives the number there).
        if not format_spec:
            return str(self)
        if self.data.size != 1:
            raise TypeError(f"format spec {format_spec!r} needs a single-element tensor (it "
                            f"formats t.item()), but this tensor has shape {self.shape}; "
                            "format its elements (t.tolist()) or use f\"{t}\"")
        return format(self.item(), format_spec)

    def __repr__(self):
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(", threshold=200)
        extras = []
        if self.dtype not in (dtypes.default_float, dtypes.int64, dtypes.bool_):
            extras.append(f"dtype={self.dtype.name}")
        if self.device != "cpu":
            extras.append(f"device={self.device!r}")
        if self._node is not None:
            extras.append(f"grad_fn=<{self._node.name}>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    # --- moving and converting --------------------------------------------------------------
    def to(self, device=None, dtype=None):
        """Return the tensor on ``device`` and/or as ``dtype`` (differentiable).

        ``t.to("cuda")``, ``t.to("float64")``, ``t.to("cpu", "float16")``; returns ``self``
        when nothing changes.
        """
        device, dtype = split_device_and_dtype(device, dtype)  # t.to("float64")
        result = self
        if dtype is not None:
            result = F.astype(result, dtype)
        if device is not None:
            result = F.to_device(result, device)
        return result

    def cpu(self):
        """The tensor on the CPU."""
        return self.to("cpu")

    def cuda(self):
        """The tensor on the GPU."""
        return self.to("cuda")

    def float(self):
        """The tensor as float32."""
        return F.astype(self, dtypes.float32)

    def double(self):
        """The tensor as float64."""
        return F.astype(self, dtypes.float64)

    def half(self):
        """The tensor as float16."""
        return F.astype(self, dtypes.float16)

    def long(self):
        """The tensor as int64 (not differentiable)."""
        return F.astype(self, dtypes.int64)

    def astype(self, dtype):
        """The tensor converted to ``dtype`` (differentiable between float dtypes)."""
        return F.astype(self, dtype)

    # --- operators (each one op of minigrad.functional) -------------------------------------
    def __add__(self, other):
        return F.add(self, other)

    def __radd__(self, other):
        return F.add(other, self)

    def __sub__(self, other):
        return F.sub(self, other)

    def __rsub__(self, other):
        return F.sub(other, self)

    def __mul__(self, other):
        return F.mul(self, other)

    def __rmul__(self, other):
        return F.mul(other, self)

    def __truediv__(self, other):
        return F.div(self, other)

    def __rtruediv__(self, other):
        return F.div(other, self)

    def __pow__(self, other):
        return F.pow(self, other)

    def __rpow__(self, other):
        return F.pow(other, self)

    def __matmul__(self, other):
        return F.matmul(self, other)

    def __rmatmul__(self, other):
        return F.matmul(other, self)

    def __neg__(self):
        return F.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return F.abs(self)

    def __getitem__(self, key):
        return F.getitem(self, key)

    # In place: outside the graph, so only under mg.no_grad() for tensors that require grad.
    def __setitem__(self, key, value):
        F.inplace.setitem(self, key, value)

    def __iadd__(self, other):
        return F.inplace.update(self, other, "+=")

    def __isub__(self, other):
        return F.inplace.update(self, other, "-=")

    def __imul__(self, other):
        return F.inplace.update(self, other, "*=")

    def __itruediv__(self, other):
        return F.inplace.update(self, other, "/=")

    def __eq__(self, other):
        return F.eq(self, other)

    def __ne__(self, other):
        return F.ne(self, other)

    def __lt__(self, other):
        return F.lt(self, other)

    def __le__(self, other):
        return F.le(self, other)

    def __gt__(self, other):
        return F.gt(self, other)

    def __ge__(self, other):
        return F.ge(self, other)

    # --- methods (each one op of minigrad.functional, documented there) ----------------------
    def sum(self, axis=None, keepdims=None, *, dim=None, keepdim=None):
        """Sum over ``axis`` (None: every axis); see :func:`minigrad.functional.sum`."""
        return F.sum(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def mean(self, axis=None, keepdims=None, *, dim=None, keepdim=None):
        """Mean over ``axis``; see :func:`minigrad.functional.mean`."""
        return F.mean(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def var(self, axis=None, keepdims=None, ddof=0, *, dim=None, keepdim=None):
        """Variance over ``axis``, dividing by ``n - ddof``; see
        :func:`minigrad.functional.var`."""
        return F.var(self, axis, keepdims, ddof, dim=dim, keepdim=keepdim)

    def max(self, axis=None, keepdims=None, *, dim=None, keepdim=None):
        """Maximum over ``axis``; see :func:`minigrad.functional.max`."""
        return F.max(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def min(self, axis=None, keepdims=None, *, dim=None, keepdim=None):
        """Minimum over ``axis``; see :func:`minigrad.functional.min`."""
        return F.min(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def argmax(self, axis=None, keepdims=None, *, dim=None, keepdim=None):
        """Index of the maximum along ``axis`` (int64); see :func:`minigrad.functional.argmax`."""
        return F.argmax(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def argmin(self, axis=None, keepdims=None, *, dim=None, keepdim=None):
        """Index of the minimum along ``axis`` (int64); see :func:`minigrad.functional.argmin`."""
        return F.argmin(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def any(self, axis=None, keepdims=None, *, dim=None, keepdim=None):
        """True where any element along ``axis`` is nonzero; see
        :func:`minigrad.functional.any`."""
        return F.any(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def all(self, axis=None, keepdims=None, *, dim=None, keepdim=None):
        """True where every element along ``axis`` is nonzero; see
        :func:`minigrad.functional.all`."""
        return F.all(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def exp(self):
        """e to the power of each element; see :func:`minigrad.functional.exp`."""
        return F.exp(self)

    def log(self):
        """Natural logarithm, elementwise; see :func:`minigrad.functional.log`."""
        return F.log(self)

    def sqrt(self):
        """Square root, elementwise; see :func:`minigrad.functional.sqrt`."""
        return F.sqrt(self)

    def abs(self):
        """Absolute value, elementwise; see :func:`minigrad.functional.abs`."""
        return F.abs(self)

    def tanh(self):
        """Hyperbolic tangent, elementwise; see :func:`minigrad.functional.tanh`."""
        return F.tanh(self)

    def sigmoid(self):
        """Logistic function, elementwise; see :func:`minigrad.functional.sigmoid`."""
        return F.sigmoid(self)

    def relu(self):
        """``max(x, 0)``, elementwise; see :func:`minigrad.functional.relu`."""
        return F.relu(self)

    def clip(self, min=None, max=None):
        """Limit the values to ``[min, max]``; see :func:`minigrad.functional.clip`."""
        return F.clip(self, min, max)

    def softmax(self, axis=None, *, dim=None):
        """Softmax along ``axis`` (default: the last); see :func:`minigrad.functional.softmax`."""
        return F.softmax(self, axis, dim=dim)

    def log_softmax(self, axis=None, *, dim=None):
        """Log of the softmax along ``axis``, computed stably; see
        :func:`minigrad.functional.log_softmax`."""
        return F.log_softmax(self, axis, dim=dim)

    def logsumexp(self, axis=None, keepdims=None, *, dim=None, keepdim=None):
        """``log(sum(exp(x)))`` over ``axis``, computed stably; see
        :func:`minigrad.functional.logsumexp`."""
        return F.logsumexp(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def reshape(self, *shape):
        """The same elements in a new shape, ``x.reshape(2, 3)`` or ``x.reshape((2, 3))``; see
        :func:`minigrad.functional.reshape`."""
        return F.reshape(self, *shape)

    def view(self, *shape):
        """Alias of :meth:`reshape` for PyTorch users."""
        return F.reshape(self, *shape)

    def transpose(self, *axes):
        """Reverse, permute or swap the axes; see :func:`minigrad.functional.transpose`."""
        return F.transpose(self, *axes)

    def permute(self, *axes):
        """Reorder the axes, ``x.permute(0, 2, 1)``; see :func:`minigrad.functional.permute`."""
        return F.permute(self, *axes)

    def swapaxes(self, axis1, axis2):
        """Exchange two axes; see :func:`minigrad.functional.swapaxes`."""
        return F.swapaxes(self, axis1, axis2)

    def expand(self, *shape):
        """Broadcast to ``shape`` (-1 keeps a size), PyTorch's spelling; see
        :func:`minigrad.functional.expand`."""
        return F.expand(self, *shape)

    def broadcast_to(self, shape):
        """Broadcast to ``shape``; see :func:`minigrad.functional.broadcast_to`."""
        return F.broadcast_to(self, shape)

    def squeeze(self, axis=None, *, dim=None):
        """Remove axes of size 1; see :func:`minigrad.functional.squeeze`."""
        return F.squeeze(self, axis, dim=dim)

    def unsqueeze(self, axis=None, *, dim=None):
        """Insert an axis of size 1 at ``axis``; see :func:`minigrad.functional.unsqueeze`."""
        return F.unsqueeze(self, axis, dim=dim)

    def flatten(self, start_axis=0, end_axis=-1):
        """Merge the axes ``start_axis..end_axis`` into one; see
        :func:`minigrad.functional.flatten`."""
        return F.flatten(self, start_axis, end_axis)

    def split(self, indices_or_sections, axis=None, *, dim=None):
        """Split into pieces along ``axis``, as :func:`numpy.split`; see
        :func:`minigrad.functional.split`."""
        return F.split(self, indices_or_sections, axis, dim=dim)


#: DLPack's device type for host memory (``kDLCPU``); CUDA's is 2.
_DLPACK_CPU = 1


class _Size(int):
    """What :attr:`Tensor.size` returns: the number of elements as an int (NumPy's ``a.size``:
    ``t.size == 6``, ``t.size * 4``), callable for PyTorch's ``t.size()`` (the shape) and
    ``t.size(dim)``."""

    def __new__(cls, count, shape):
        size = super().__new__(cls, count)
        size._shape = tuple(shape)
        return size

    def __call__(self, dim=None):
        shape = self._shape
        if dim is None:
            return shape
        dim = operator.index(dim)
        if not shape:
            raise IndexError(f"size({dim}): a 0-d tensor has no dimensions; size() is ()")
        if not -len(shape) <= dim < len(shape):
            raise IndexError(f"size({dim}): dimension out of range for a tensor of shape {shape} "
                             f"(expected -{len(shape)} to {len(shape) - 1})")
        return shape[dim]

    def __reduce__(self):
        return int, (int(self),)  # pickles and copies as the plain int


def _to_array(data, dtype, backend):
    """Turn user data into a backend array; returns (array, backend)."""
    if isinstance(data, Tensor):
        data = data.data
    source_backend = backend_of_array(data)
    backend = backend or source_backend or get_backend("cpu")
    from_python = source_backend is None and not isinstance(data, np.generic)
    if source_backend is None:
        try:
            data = np.asarray(data)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"mg.tensor(): cannot make an array of this data ({exc}); nested "
                             "lists must be rectangular and hold numbers") from None
    if data.dtype.kind not in "biuf":
        raise TypeError(f"mg.tensor() needs numeric data, but got an array of dtype "
                        f"{data.dtype} ({_kind_name(data.dtype)})")
    if dtype is None:
        dtype = data.dtype
        if from_python and dtype == np.float64:
            dtype = dtypes.default_float  # Python floats become float32, as in PyTorch
        dtype = dtypes.as_dtype(dtype)
    array = backend.asarray(data, dtype=dtype)
    if array is data:
        array = array.copy()  # mg.tensor() copies, as torch.tensor() does (see from_numpy)
    return array, backend


def _kind_name(dtype):
    return {"U": "strings", "S": "bytes", "O": "Python objects", "c": "complex numbers",
            "M": "datetimes", "m": "timedeltas"}.get(dtype.kind, dtype.kind)


# The operator methods above call into the ops; functional itself needs Tensor, hence the
# import at the bottom.
from .. import functional as F  # noqa: E402
