"""softmax, log_softmax and logsumexp, all computed after subtracting the maximum, so that
logits of 1e4 give finite results."""

from ..autograd.function import Function
from ._operands import normalize_axes, resolve_axis


def _stable_logsumexp(xp, x, axis):
    """log(sum(exp(x), axis)) with keepdims, shifted by the maximum to avoid overflow."""
    shift = xp.max(x, axis=axis, keepdims=True)
    shift = xp.where(xp.isfinite(shift), shift, 0)  # all -inf (or inf) rows: no shift
    return xp.log(xp.sum(xp.exp(x - shift), axis=axis, keepdims=True)) + shift


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis):
        xp = ctx.xp
        e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
        out = e / xp.sum(e, axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        # dL/dx_i = s_i (g_i - sum_j g_j s_j)
        return out * (grad - (grad * out).sum(axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, axis):
        out = x - _stable_logsumexp(ctx.xp, x, axis)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        # dL/dx_i = g_i - softmax_i * sum_j g_j
        return grad - ctx.xp.exp(out) * grad.sum(axis=ctx.axis, keepdims=True)


class LogSumExp(Function):
    @staticmethod
    def forward(ctx, x, axes, keepdims):
        out = _stable_logsumexp(ctx.xp, x, axes)
        ctx.save_for_backward(x, out)
        return out if keepdims else out.squeeze(axis=axes)

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved
        grad = grad.reshape(out.shape)  # put back the reduced axes as size 1
        return grad * ctx.xp.exp(x - out)  # d logsumexp / dx = softmax(x)


def _single_axis(axis, ndim, op_name):
    if not isinstance(axis, int):
        raise TypeError(f"{op_name} takes one axis (an int), got {axis!r}")
    return normalize_axes(axis, ndim)[0]


def softmax(x, axis=-1, *, dim=None):
    """``exp(x) / sum(exp(x))`` along ``axis`` (default: the last one, the classes).

    Shape: any; the output has the input's shape and sums to 1 along ``axis``.
    """
    axis = _single_axis(resolve_axis(axis, dim), x.ndim, "softmax")
    return Softmax.apply(x, axis=axis)


def log_softmax(x, axis=-1, *, dim=None):
    """``log(softmax(x))`` along ``axis``, computed stably (use it for cross-entropy)."""
    axis = _single_axis(resolve_axis(axis, dim), x.ndim, "log_softmax")
    return LogSoftmax.apply(x, axis=axis)


def logsumexp(x, axis=None, keepdims=False, *, dim=None):
    """``log(sum(exp(x), axis))``, computed stably; ``axis`` None reduces over everything."""
    axes = normalize_axes(resolve_axis(axis, dim), x.ndim)
    return LogSumExp.apply(x, axes=axes, keepdims=keepdims)
