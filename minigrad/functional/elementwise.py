"""Elementwise math: exp, log, sqrt, abs, clip, maximum, minimum, where."""

import numbers

import numpy as np

from ..autograd.broadcast import sum_to
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ._operands import (apply_binary, array_beside, as_tensor, binary_operands, check_broadcastable,
                        float_operand)


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        out = ctx.xp.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        return grad * out  # d(e^x)/dx = e^x


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.log(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad / x


class Sqrt(Function):
    @staticmethod
    def forward(ctx, x):
        out = ctx.xp.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        return grad / (2 * out)  # d(sqrt x)/dx = 1 / (2 sqrt x)


class Abs(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.abs(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad * ctx.xp.sign(x)  # 0 at x == 0, as in PyTorch


class Clip(Function):
    @staticmethod
    def forward(ctx, x, low, high):
        ctx.save_for_backward(x)
        ctx.bounds = low, high
        return ctx.xp.clip(x, low, high)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        low, high = ctx.bounds
        inside = ctx.xp.ones(x.shape, dtype=bool)
        if low is not None:
            inside &= x >= low
        if high is not None:
            inside &= x <= high
        return grad * inside  # the bounds pass the gradient, as in PyTorch's clamp


class Maximum(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.xp.maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved
        return _split_between(grad, a > b, a == b, a.shape, b.shape)


class Minimum(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.xp.minimum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved
        return _split_between(grad, a < b, a == b, a.shape, b.shape)


def _split_between(grad, a_wins, tie, a_shape, b_shape):
    # The winner takes the gradient; a tie splits it in half (as PyTorch does).
    half = grad * tie * 0.5
    grad_a = grad * a_wins + half
    grad_b = grad - grad * a_wins - half
    return sum_to(grad_a, a_shape), sum_to(grad_b, b_shape)


class Where(Function):
    @staticmethod
    def forward(ctx, a, b, condition):
        ctx.condition = condition
        ctx.shapes = a.shape, b.shape
        return ctx.xp.where(condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        xp, condition = ctx.xp, ctx.condition
        a_shape, b_shape = ctx.shapes
        zero = xp.zeros((), dtype=grad.dtype)
        grad_a = sum_to(xp.where(condition, grad, zero), a_shape)
        grad_b = sum_to(xp.where(condition, zero, grad), b_shape)
        return grad_a, grad_b


def exp(x):
    """e to the power ``x``, elementwise."""
    return Exp.apply(float_operand(x))


def log(x):
    """The natural logarithm, elementwise (``-inf`` at 0, ``nan`` below)."""
    return Log.apply(float_operand(x))


def sqrt(x):
    """The square root, elementwise."""
    return Sqrt.apply(float_operand(x))


def abs(x):
    """The absolute value, elementwise (gradient 0 at 0)."""
    return Abs.apply(x)


def clip(x, min=None, max=None):
    """Limit ``x`` to ``[min, max]`` (either bound may be None); gradient 1 inside, 0 outside.

    >>> mg.clip(mg.tensor([-2.0, 0.5, 3.0]), 0, 1)
    tensor([0. , 0.5, 1. ])
    """
    if min is None and max is None:
        raise ValueError("clip needs at least one of min and max")
    if min is not None and max is not None and min > max:
        raise ValueError(f"clip: min ({min}) is larger than max ({max})")
    if any(b is not None and not isinstance(b, numbers.Integral) for b in (min, max)):
        x = float_operand(x)  # an integer tensor clipped to 0.5 is float32, as in PyTorch
    return Clip.apply(x, low=min, high=max)


def maximum(a, b):
    """The elementwise maximum of ``a`` and ``b`` (broadcasting); ties split the gradient."""
    return apply_binary(Maximum, a, b)


def minimum(a, b):
    """The elementwise minimum of ``a`` and ``b`` (broadcasting); ties split the gradient."""
    return apply_binary(Minimum, a, b)


def where(condition, a, b):
    """``a`` where ``condition`` is true, else ``b`` (all three broadcast together).

    ``condition`` is a boolean tensor or array (no gradient flows into it); ``a`` and ``b``
    may both be numbers (``mg.where(x > 0, 1.0, 0.0)``).
    """
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = as_tensor(a, like=condition if isinstance(condition, Tensor) else None)
    a, b = binary_operands(a, b)
    cond = array_beside(condition, a, "where", "the condition")
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    check_broadcastable("where", cond.shape, a.data.shape, b.data.shape)
    return Where.apply(a, b, condition=cond)
