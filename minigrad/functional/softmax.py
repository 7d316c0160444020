"""softmax, log_softmax and logsumexp, all computed after subtracting the maximum, so that
logits of 1e4 give finite results."""

from ..autograd.function import Function
from ._operands import float_operand, normalize_axes, resolve_axis, resolve_keepdims


def _shifted(xp, x, axis):
    """``x`` minus its maximum along ``axis``, so that exp never overflows; and the shift."""
    shift = xp.max(x, axis=axis, keepdims=True)
    shift = xp.where(xp.isfinite(shift), shift, 0)  # all -inf (or inf) rows: no shift
    return x - shift, shift


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
        xp = ctx.xp
        # (x - max) - log(sum(exp(x - max))), not x - logsumexp(x): with logits of 1e4 in
        # float32, logsumexp is rounded to 1e-3 and x - logsumexp would keep that error.
        shifted, _ = _shifted(xp, x, axis)
        out = shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))
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
        xp = ctx.xp
        shifted, shift = _shifted(xp, x, axes)
        e = xp.exp(shifted)
        total = xp.sum(e, axis=axes, keepdims=True)
        out = xp.log(total) + shift
        # d logsumexp / dx = softmax(x), taken from the shifted values: exp(x - out) in backward
        # would lose digits where |x| is large and out is rounded.
        ctx.save_for_backward(e / total)
        ctx.kept_shape = out.shape
        return out if keepdims else out.squeeze(axis=axes)

    @staticmethod
    def backward(ctx, grad):
        (softmax,) = ctx.saved
        return grad.reshape(ctx.kept_shape) * softmax  # the reduced axes back as size 1


def _single_axis(axis, ndim, op_name):
    # The default is None, not -1, so that PyTorch's softmax(x, dim=0) does not look like a
    # second, conflicting axis.
    if axis is None:
        axis = -1
    if not isinstance(axis, int):
        raise TypeError(f"{op_name} takes one axis (an int), got {axis!r}")
    return normalize_axes(axis, ndim)[0]


def softmax(x, axis=None, *, dim=None):
    """``exp(x) / sum(exp(x))`` along ``axis`` (default: the last one, the classes).

    Shape: any; the output has the input's shape and sums to 1 along ``axis``.
    """
    axis = _single_axis(resolve_axis(axis, dim), x.ndim, "softmax")
    return Softmax.apply(float_operand(x), axis=axis)


def log_softmax(x, axis=None, *, dim=None):
    """``log(softmax(x))`` along ``axis``, computed stably (use it for cross-entropy)."""
    axis = _single_axis(resolve_axis(axis, dim), x.ndim, "log_softmax")
    return LogSoftmax.apply(float_operand(x), axis=axis)


def logsumexp(x, axis=None, keepdims=None, *, dim=None, keepdim=None):
    """``log(sum(exp(x), axis))``, computed stably; ``axis`` None reduces over everything.
    ``keepdims`` (or PyTorch's ``keepdim``) keeps the reduced axes with size 1."""
    axes = normalize_axes(resolve_axis(axis, dim), x.ndim)
    return LogSumExp.apply(float_operand(x), axes=axes,
                           keepdims=resolve_keepdims(keepdims, keepdim))
