"""Planted mistake: Mul.backward multiplies the gradient of a by a (and of b by b) instead of by
the other operand."""

# expect: Mul\.backward for shapes \(3, 1\) \(a\) and \(1, 4\) \(b\).*input 0

import minigrad as mg


def sum_to(grad, shape):
    shape = tuple(shape)
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    if lead:
        grad = grad.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad


class Add(mg.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = a.shape, b.shape
        return a + b

    @staticmethod
    def backward(ctx, grad):
        a_shape, b_shape = ctx.shapes
        return sum_to(grad, a_shape), sum_to(grad, b_shape)


class Mul(mg.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved
        return sum_to(grad * a, a.shape), sum_to(grad * b, b.shape)


def add(a, b):
    return Add.apply(a, b)


def mul(a, b):
    return Mul.apply(a, b)
