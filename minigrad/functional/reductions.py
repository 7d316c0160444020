"""Reductions: sum, mean, var, max, min (differentiable); argmax, argmin, any, all (not).

Each takes ``axis=`` (or PyTorch's ``dim=``) and ``keepdims=`` (or PyTorch's ``keepdim=``)."""

from .. import dtypes
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ._operands import cast_constant, normalize_axes, resolve_axis, resolve_keepdims


def _keepdims_shape(shape, axes):
    return tuple(1 if i in axes else size for i, size in enumerate(shape))


def _spread(xp, grad, shape, axes):
    """Broadcast the gradient of a reduction back over the reduced axes of ``shape``."""
    return xp.broadcast_to(grad.reshape(_keepdims_shape(shape, axes)), shape)


class Sum(Function):
    @staticmethod
    def forward(ctx, x, axes, keepdims):
        ctx.shape, ctx.axes = x.shape, axes
        return x.sum(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        # Every element contributed once to its sum: copy the gradient back over the axes.
        return _spread(ctx.xp, grad, ctx.shape, ctx.axes)


class Mean(Function):
    @staticmethod
    def forward(ctx, x, axes, keepdims):
        ctx.shape, ctx.axes = x.shape, axes
        ctx.count = _count(x.shape, axes)
        return x.mean(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        return _spread(ctx.xp, grad / ctx.count, ctx.shape, ctx.axes)


class Var(Function):
    @staticmethod
    def forward(ctx, x, axes, keepdims, ddof):
        ctx.save_for_backward(x)
        ctx.axes, ctx.ddof = axes, ddof
        return x.var(axis=axes, keepdims=keepdims, ddof=ddof)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        axes = ctx.axes
        # var = sum((x - mean)^2) / (n - ddof); the mean's own gradient term sums to zero.
        centered = x - x.mean(axis=axes, keepdims=True)
        scale = 2 / (_count(x.shape, axes) - ctx.ddof)
        return grad.reshape(_keepdims_shape(x.shape, axes)) * centered * scale


class Extremum(Function):
    """max (``xp.max``) or min (``xp.min``) over axes."""

    @staticmethod
    def forward(ctx, x, axes, keepdims, reduce):
        out = reduce(x, axis=axes, keepdims=True)
        ctx.save_for_backward(x, out)
        ctx.axes = axes
        return out if keepdims else out.reshape([s for i, s in enumerate(x.shape) if i not in axes])

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved
        # The gradient goes to the elements equal to the extremum, split evenly among ties
        # (as torch.amax does).
        winners = x == out
        count = winners.sum(axis=ctx.axes, keepdims=True).astype(x.dtype)
        return winners * (grad.reshape(out.shape) / count)


def _count(shape, axes):
    count = 1
    for axis in axes:
        count *= shape[axis]
    return count


def _reduction_axes(x, axis, dim):
    return normalize_axes(resolve_axis(axis, dim), x.data.ndim)


# keepdims defaults to None (meaning False) so that keepdims=False beside keepdim=True is seen as
# the contradiction it is; see resolve_keepdims.

def sum(x, axis=None, keepdims=None, *, dim=None, keepdim=None):
    """The sum over ``axis`` (an int, a tuple, or None for all), keeping the reduced axes as
    size 1 if ``keepdims`` (default False).

    Shape: (2, 3, 4) summed over ``axis=1`` gives (2, 4), or (2, 1, 4) with ``keepdims``.
    ``dim=`` and ``keepdim=`` are PyTorch's spellings of ``axis=`` and ``keepdims=``.

    >>> mg.ones(2, 3).sum(axis=0)
    tensor([2., 2., 2.])
    >>> mg.ones(2, 3).sum(dim=1, keepdim=True).shape
    (2, 1)
    """
    return Sum.apply(x, axes=_reduction_axes(x, axis, dim),
                     keepdims=resolve_keepdims(keepdims, keepdim))


def mean(x, axis=None, keepdims=None, *, dim=None, keepdim=None):
    """The mean over ``axis``; integer tensors give float32."""
    if not dtypes.is_floating(x.data.dtype):
        x = cast_constant(x, dtypes.default_float)
    return Mean.apply(x, axes=_reduction_axes(x, axis, dim),
                      keepdims=resolve_keepdims(keepdims, keepdim))


def var(x, axis=None, keepdims=None, ddof=0, *, dim=None, keepdim=None):
    """The variance over ``axis``, dividing by ``n - ddof`` (``ddof=0``, NumPy's and Keras's
    default; PyTorch's ``unbiased=True`` is ``ddof=1``)."""
    if not dtypes.is_floating(x.data.dtype):
        x = cast_constant(x, dtypes.default_float)
    return Var.apply(x, axes=_reduction_axes(x, axis, dim),
                     keepdims=resolve_keepdims(keepdims, keepdim), ddof=ddof)


def max(x, axis=None, keepdims=None, *, dim=None, keepdim=None):
    """The maximum over ``axis``; tied maxima share the gradient equally."""
    _check_not_empty(x, "max")
    return Extremum.apply(x, axes=_reduction_axes(x, axis, dim),
                          keepdims=resolve_keepdims(keepdims, keepdim), reduce=x._backend.xp.max)


def min(x, axis=None, keepdims=None, *, dim=None, keepdim=None):
    """The minimum over ``axis``; tied minima share the gradient equally."""
    _check_not_empty(x, "min")
    return Extremum.apply(x, axes=_reduction_axes(x, axis, dim),
                          keepdims=resolve_keepdims(keepdims, keepdim), reduce=x._backend.xp.min)


def _check_not_empty(x, op_name):
    if x.data.size == 0:
        raise ValueError(f"{op_name} of an empty tensor (shape {x.shape}) is undefined")


def _index_reduction(x, axis, keepdims, dim, keepdim, reduce):
    axis = resolve_axis(axis, dim)
    keepdims = resolve_keepdims(keepdims, keepdim)
    if axis is not None and not isinstance(axis, int):
        raise TypeError(f"argmax/argmin take one axis (an int) or None, got {axis!r}")
    _check_not_empty(x, reduce.__name__)
    result = reduce(x.data, axis=axis, keepdims=keepdims)
    xp = x._backend.xp
    return Tensor._make(xp.asarray(result, dtype=dtypes.int64), x._backend)


def argmax(x, axis=None, keepdims=None, *, dim=None, keepdim=None):
    """The index of the maximum along ``axis`` (over the flattened tensor if None); int64,
    not differentiable."""
    return _index_reduction(x, axis, keepdims, dim, keepdim, x._backend.xp.argmax)


def argmin(x, axis=None, keepdims=None, *, dim=None, keepdim=None):
    """The index of the minimum along ``axis``; int64, not differentiable."""
    return _index_reduction(x, axis, keepdims, dim, keepdim, x._backend.xp.argmin)


def any(x, axis=None, keepdims=None, *, dim=None, keepdim=None):
    """True where any element along ``axis`` is nonzero (bool, not differentiable)."""
    axes = _reduction_axes(x, axis, dim)
    result = x.data.any(axis=axes, keepdims=resolve_keepdims(keepdims, keepdim))
    return Tensor._make(x._backend.xp.asarray(result), x._backend)


def all(x, axis=None, keepdims=None, *, dim=None, keepdim=None):
    """True where every element along ``axis`` is nonzero (bool, not differentiable)."""
    axes = _reduction_axes(x, axis, dim)
    result = x.data.all(axis=axes, keepdims=resolve_keepdims(keepdims, keepdim))
    return Tensor._make(x._backend.xp.asarray(result), x._backend)
