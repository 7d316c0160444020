"""Inverted dropout: zero a random fraction of the inputs while training."""

from ..autograd.function import Function


class Dropout(Function):
    """The mask and the scaling are a backend kernel (``ctx.backend.dropout``): NumPy's
    generator on the CPU, a counter-based hash on the GPU, both seeded by ``mg.manual_seed``."""

    @staticmethod
    def forward(ctx, x, rate):
        ctx.keep = 1 - rate
        # The kept elements are scaled by 1/keep so that the expected value is unchanged.
        out, mask = ctx.backend.dropout(x, ctx.keep)
        ctx.save_for_backward(mask)
        return out

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved
        return ctx.backend.dropout_backward(grad, mask, ctx.keep)


def dropout(x, rate, training=True):
    """Zero each element with probability ``rate`` and scale the rest by ``1 / (1 - rate)``
    when ``training``; the identity otherwise. Any shape."""
    if not 0 <= rate < 1:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
    if not training or rate == 0:
        return x
    return Dropout.apply(x, rate=float(rate))
