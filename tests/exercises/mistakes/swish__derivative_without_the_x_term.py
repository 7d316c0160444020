"""Planted mistake in swish: the backward returns grad * sigmoid(x), forgetting the x * s * (1 - s)
term of the product rule."""
# expect: d\(swish\)/dx differs from the gradient of x \* mg.sigmoid\(x\)

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
        return grad * s


def swish(x):
    return Swish.apply(x)
