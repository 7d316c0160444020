"""Planted mistake: the transposes are written .T, which reverses every axis of a batched array
instead of swapping the last two."""

# expect: MatMul\.backward for A of shape \(2, 3, 4\) @ B of shape \(2, 4, 5\) raised ValueError

import minigrad as mg
from minigrad.autograd import sum_to


class MatMul(mg.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved
        grad_a = sum_to(grad @ b.T, a.shape)
        grad_b = sum_to(a.T @ grad, b.shape)
        return grad_a, grad_b


def matmul(a, b):
    return MatMul.apply(a, b)
