"""Pooling of channels-last images: max_pool2d, avg_pool2d and global_avg_pool2d.

Images are (N, H, W, C) (see conv.py). A pool_h x pool_w window moves by ``strides`` (by
default the pool size, so that windows tile the image); ``padding`` is Keras's "valid" (no
padding: windows that do not fit are dropped) or "same" (ceil(H / stride) output rows; the
padded cells never win a max and are left out of an average).

Max pooling's forward records which cell won each window and its backward sends the gradient
there: both are backend kernels. Average pooling is a sum over the window's cells, one
vectorized step per cell.
"""

from ..autograd.function import Function
from ._operands import float_operand
from .conv import check_images, compute_dtype, pair, window_geometry


class MaxPool2D(Function):
    @staticmethod
    def forward(ctx, x, window, strides, padding, out_hw):
        work = compute_dtype(x.dtype)  # float16 compared in float32: the same maxima
        out, argmax = ctx.backend.max_pool2d(x.astype(work, copy=False), window, strides,
                                             padding, out_hw)
        if ctx.needs_input_grad:
            ctx.save_for_backward(argmax)
        ctx.x_shape, ctx.window, ctx.strides, ctx.padding = x.shape, window, strides, padding
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (argmax,) = ctx.saved
        # The max is the winner itself: d max / d winner = 1, 0 for every other cell.
        return ctx.backend.max_pool2d_backward(grad.astype(compute_dtype(grad.dtype), copy=False),
                                               argmax, ctx.x_shape, ctx.window, ctx.strides,
                                               ctx.padding)


class AvgPool2D(Function):
    @staticmethod
    def forward(ctx, x, window, strides, padding, out_hw):
        xp = ctx.xp
        (top, bottom), (left, right) = padding
        padded = x
        if top or bottom or left or right:
            padded = xp.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
        total = xp.zeros((x.shape[0], *out_hw, x.shape[3]), dtype=compute_dtype(x.dtype))
        for i in range(window[0]):
            for j in range(window[1]):
                total += padded[_cells(i, j, strides, out_hw)]
        counts = _counts(xp, x.shape, window, strides, padding, out_hw, total.dtype)
        ctx.counts, ctx.x_shape = counts, x.shape
        ctx.window, ctx.strides, ctx.padding = window, strides, padding
        return (total / counts).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        xp = ctx.xp
        (top, bottom), (left, right) = ctx.padding
        n, height, width, channels = ctx.x_shape
        # Every cell of a window gets the window's gradient divided by the cells averaged.
        share = grad / ctx.counts
        out_hw = grad.shape[1:3]
        grad_x = xp.zeros((n, height + top + bottom, width + left + right, channels),
                          dtype=share.dtype)
        for i in range(ctx.window[0]):
            for j in range(ctx.window[1]):
                grad_x[_cells(i, j, ctx.strides, out_hw)] += share
        return grad_x[:, top:top + height, left:left + width, :]


class GlobalAvgPool2D(Function):
    @staticmethod
    def forward(ctx, x, keepdims):
        ctx.x_shape = x.shape
        return x.mean(axis=(1, 2), keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        n, height, width, channels = ctx.x_shape
        grad = grad.reshape(n, 1, 1, channels) / (height * width)
        return ctx.xp.broadcast_to(grad, ctx.x_shape)


def _cells(i, j, strides, out_hw):
    """Cell (i, j) of every window: an index giving an (N, OH, OW, C) view of the padded images."""
    (sh, sw), (out_h, out_w) = strides, out_hw
    return (slice(None), slice(i, i + sh * (out_h - 1) + 1, sh),
            slice(j, j + sw * (out_w - 1) + 1, sw), slice(None))


def _counts(xp, x_shape, window, strides, padding, out_hw, dtype):
    """How many cells of each window lie inside the image, as (1, OH, OW, 1): the window's
    rows inside times its columns inside (Keras leaves padded cells out of the average)."""
    per_axis = []
    for size, k, s, (before, _), out in zip(x_shape[1:3], window, strides, padding, out_hw):
        start = xp.arange(out) * s - before
        per_axis.append(xp.minimum(start + k, size) - xp.maximum(start, 0))
    counts = per_axis[0][:, None] * per_axis[1][None, :]
    return counts.astype(dtype).reshape(1, out_hw[0], out_hw[1], 1)


def _pool_arguments(op_name, x, pool_size, strides, padding):
    check_images(op_name, x.shape)
    window = pair(pool_size, "pool_size", op_name)
    strides = window if strides is None else pair(strides, "strides", op_name)
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f'{op_name}: padding must be "valid" or "same", got {padding!r}')
    pads, out_hw = window_geometry(op_name, x.shape, window, strides, (1, 1), padding)
    return dict(window=window, strides=strides, padding=pads, out_hw=out_hw)


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    """The maximum of each pool_h x pool_w window of channels-last images.

    Shapes: ``x`` (N, H, W, C) -> (N, OH, OW, C), with ``OH = (H - pool_h) // stride_h + 1``
    for ``padding="valid"`` and ``ceil(H / stride_h)`` for ``"same"`` (Keras's).

    Args:
        pool_size: an int or a pair (pool_h, pool_w).
        strides: an int, a pair, or None for the pool size (non-overlapping windows).
        padding: ``"valid"`` or ``"same"``; padded cells never win.

    The gradient goes to the winning cell of each window; among equal values the first in
    row-major order wins, as in PyTorch.

    >>> x = mg.arange(16.0).reshape(1, 4, 4, 1)
    >>> mg.max_pool2d(x).reshape(2, 2)
    tensor([[ 5.,  7.],
            [13., 15.]])
    """
    x = float_operand(x)
    return MaxPool2D.apply(x, **_pool_arguments("max_pool2d", x, pool_size, strides, padding))


def avg_pool2d(x, pool_size=2, strides=None, padding="valid"):
    """The mean of each pool_h x pool_w window of channels-last images.

    Shapes and arguments as :func:`max_pool2d`. With ``padding="same"`` the padded cells are
    left out of the mean (Keras's behaviour; PyTorch's ``count_include_pad=False``).

    >>> x = mg.arange(16.0).reshape(1, 4, 4, 1)
    >>> mg.avg_pool2d(x).reshape(2, 2)
    tensor([[ 2.5,  4.5],
            [10.5, 12.5]])
    """
    x = float_operand(x)
    return AvgPool2D.apply(x, **_pool_arguments("avg_pool2d", x, pool_size, strides, padding))


def global_avg_pool2d(x, keepdims=False):
    """The mean over each image's height and width: (N, H, W, C) -> (N, C), or (N, 1, 1, C)
    with ``keepdims``.

    >>> mg.global_avg_pool2d(mg.ones(2, 5, 5, 3)).shape
    (2, 3)
    """
    x = float_operand(x)
    check_images("global_avg_pool2d", x.shape)
    return GlobalAvgPool2D.apply(x, keepdims=bool(keepdims))
