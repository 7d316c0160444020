"""Changing dtype and device, and copying, differentiably."""

from .. import dtypes
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.tensor import Tensor
from ..backends import get_backend


class Cast(Function):
    @staticmethod
    def forward(ctx, x, dtype):
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad  # the engine casts it back to the input's dtype


class Clone(Function):
    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad  # the copy's elements are the input's, one for one


class ToDevice(Function):
    """Copy to another device; the gradient is copied back."""

    @staticmethod
    def forward(ctx, x, target):
        return target.asarray(x)

    @staticmethod
    def backward(ctx, grad):
        return ctx.backend.asarray(grad)  # ctx.backend is the source device's

    @classmethod
    def apply(cls, x, target):
        # Unlike other ops, the output lives on a different backend than the input.
        requires_grad = x._requires_grad and is_grad_enabled()
        ctx = cls.__new__(cls)
        ctx.backend, ctx.xp = x._backend, x._backend.xp
        ctx.needs_input_grad = (True,) if requires_grad else ()
        out = Tensor._make(cls.forward(ctx, x.data, target), target, requires_grad)
        if requires_grad:
            ctx.inputs = (x,)
            out._node = ctx
        return out


def astype(x, dtype):
    """``x`` converted to ``dtype``. Between float dtypes it is differentiable (the gradient is
    converted back); to an integer or bool dtype the result is outside the graph."""
    dtype = dtypes.as_dtype(dtype)
    if x.data.dtype == dtype:
        return x
    if not dtypes.is_floating(dtype) or not dtypes.is_floating(x.data.dtype):
        return Tensor._make(x.data.astype(dtype), x._backend)
    return Cast.apply(x, dtype=dtype)


def to_device(x, device):
    """``x`` on ``device`` ("cpu" or "cuda"); the gradient flows back to the original device."""
    target = get_backend(device)
    if target is x._backend:
        return x
    return ToDevice.apply(x, target)


def clone(x):
    """A copy of ``x`` in new memory, with its shape, dtype and device, in the graph: the
    gradient flows back to ``x`` unchanged (PyTorch's ``torch.clone``). Writing into the copy
    leaves ``x`` alone; ``x.detach().clone()`` is a copy outside the graph.

    >>> x = mg.tensor([1.0, 2.0], requires_grad=True)
    >>> y = x.clone()
    >>> (y * y).sum().backward()
    >>> x.grad
    tensor([2., 4.])
    """
    return Clone.apply(x)
