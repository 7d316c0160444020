"""Planted mistake: the gradients are not summed back over the broadcast batch axes."""

# expect: gradient of A has shape \(2, 5, 3, 4\), but A has shape \(2, 1, 3, 4\)

import minigrad as mg


class MatMul(mg.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved
        grad_a = grad @ b.swapaxes(-1, -2)
        grad_b = a.swapaxes(-1, -2) @ grad
        return grad_a, grad_b


def matmul(a, b):
    return MatMul.apply(a, b)
