"""Planted mistake in swish: the backward returns the derivative without multiplying it by the
incoming gradient."""
# expect: x.grad should be grad \* d\(swish\)/dx

import minigrad as mg


class Swish(mg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        s = 1 / (1 + ctx.xp.exp(-x))
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, grad):
        x, s = ctx.saved
        return s + x * s * (1 - s)


def swish(x):
    return Swish.apply(x)
