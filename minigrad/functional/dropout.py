"""Inverted dropout: zero a random fraction of the inputs while training."""

from ..autograd.function import Function


class Dropout(Function):
    @staticmethod
    def forward(ctx, x, rate):
        keep = 1 - rate
        # The kept elements are scaled by 1/keep so that the expected value is unchanged.
        scale = (ctx.backend.uniform(x.shape, _float(x.dtype)) < keep).astype(x.dtype) / keep
        ctx.save_for_backward(scale)
        return x * scale

    @staticmethod
    def backward(ctx, grad):
        (scale,) = ctx.saved
        return grad * scale


def _float(dtype):
    return dtype if dtype.kind == "f" and dtype.itemsize >= 4 else "float32"


def dropout(x, rate, training=True):
    """Zero each element with probability ``rate`` and scale the rest by ``1 / (1 - rate)``
    when ``training``; the identity otherwise. Any shape."""
    if not 0 <= rate < 1:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
    if not training or rate == 0:
        return x
    return Dropout.apply(x, rate=float(rate))
