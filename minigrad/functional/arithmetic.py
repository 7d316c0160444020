"""Arithmetic with broadcasting: + - * / ** and negation.

Each backward undoes broadcasting with :func:`~minigrad.autograd.sum_to`.
"""

import numbers

import numpy as np

from .. import dtypes
from ..autograd.broadcast import sum_to
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ._operands import apply_binary, binary_operands, cast_constant


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = a.shape, b.shape
        return a + b

    @staticmethod
    def backward(ctx, grad):
        a_shape, b_shape = ctx.shapes
        return sum_to(grad, a_shape), sum_to(grad, b_shape)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = a.shape, b.shape
        return a - b

    @staticmethod
    def backward(ctx, grad):
        a_shape, b_shape = ctx.shapes
        return sum_to(grad, a_shape), sum_to(-grad, b_shape)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        grad_a = sum_to(grad * b, a.shape) if need_a else None
        grad_b = sum_to(grad * a, b.shape) if need_b else None
        return grad_a, grad_b


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        out = a / b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        grad_a = sum_to(grad / b, a.shape) if need_a else None
        grad_b = sum_to(-grad * out / b, b.shape) if need_b else None  # d(a/b)/db = -a/b^2
        return grad_a, grad_b


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return -grad


class PowScalar(Function):
    """x ** p for a constant number p."""

    @staticmethod
    def forward(ctx, x, exponent):
        ctx.save_for_backward(x)
        ctx.exponent = exponent
        return x ** exponent

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        p = ctx.exponent
        if p == 0:
            return ctx.xp.zeros_like(grad)
        return grad * (p * x ** (p - 1))


class Pow(Function):
    """a ** b for two tensors (broadcasting)."""

    @staticmethod
    def forward(ctx, a, b):
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        grad_a = sum_to(grad * b * a ** (b - 1), a.shape) if need_a else None
        grad_b = None
        if need_b:
            # d(a^b)/db = a^b log a; taken as 0 where a == 0 and b >= 0 (as PyTorch does),
            # where the limit is 0 instead of 0 * -inf.
            xp = ctx.xp
            zero_base = (a == 0) & (b >= 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                log_a = xp.log(xp.where(zero_base, 1, a))
            grad_b = sum_to(grad * out * log_a, b.shape)
        return grad_a, grad_b


def add(a, b):
    """``a + b`` elementwise, with broadcasting; either may be a Python number."""
    return apply_binary(Add, a, b)


def sub(a, b):
    """``a - b`` elementwise, with broadcasting."""
    return apply_binary(Sub, a, b)


def mul(a, b):
    """``a * b`` elementwise, with broadcasting."""
    return apply_binary(Mul, a, b)


def div(a, b):
    """``a / b`` elementwise (true division), with broadcasting. Integer inputs give float32."""
    a, b = binary_operands(a, b)
    if not dtypes.is_floating(a.data.dtype):
        a = cast_constant(a, dtypes.default_float)
        b = cast_constant(b, dtypes.default_float)
    return apply_binary(Div, a, b)


def neg(x):
    """``-x`` elementwise."""
    return Neg.apply(x)


def pow(a, b):
    """``a ** b`` elementwise, with broadcasting.

    With a constant exponent (``x ** 2``) only ``a`` gets a gradient; with two tensors both do.
    """
    if isinstance(a, Tensor) and isinstance(b, numbers.Real) and not isinstance(b, bool):
        # An integer tensor to a float power is float32 even when the float is whole (x ** 2.0),
        # as in PyTorch; NumPy would give float64.
        if not dtypes.is_floating(a.data.dtype) and not isinstance(b, numbers.Integral):
            a = cast_constant(a, dtypes.default_float)
        return PowScalar.apply(a, exponent=b)
    return apply_binary(Pow, a, b)
