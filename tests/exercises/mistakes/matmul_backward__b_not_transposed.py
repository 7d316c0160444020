"""Planted mistake: the gradient of A computed as G @ B, without transposing B."""

# expect: (?s)\(4, 2\) raised ValueError.*\(3, 3\) \(input 0 is A.*failed for input 0

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
        grad_a = sum_to(grad @ b, a.shape)
        grad_b = sum_to(a.swapaxes(-1, -2) @ grad, b.shape)
        return grad_a, grad_b


def matmul(a, b):
    return MatMul.apply(a, b)
