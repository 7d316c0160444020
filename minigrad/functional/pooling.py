"""Pooling of channels-last images: max_pool2d, avg_pool2d and global_avg_pool2d.

Images are (N, H, W, C) (see conv.py). A pool_h x pool_w window moves by ``strides`` (by
default the pool size, so that windows tile the image); ``padding`` is Keras's "valid" (no
padding: windows that do not fit are dropped) or "same" (ceil(H / stride) output rows; the
padded cells never win a max and are left out of an average).

Max pooling's forward records which cell won each window and its backward sends the gradient
there; average pooling sums each window's cells inside the image and divides by their number.
All four are backend kernels (``ctx.backend.max_pool2d`` etc.).
"""

from ..autograd.function import Function
from ..dtypes import compute_dtype
from ._operands import float_operand, resolve_keepdims
from .conv import check_images, pair, window_geometry


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
        work = compute_dtype(x.dtype)  # float16 summed in float32
        out = ctx.backend.avg_pool2d(x.astype(work, copy=False), window, strides, padding,
                                     out_hw)
        ctx.x_shape, ctx.window, ctx.strides, ctx.padding = x.shape, window, strides, padding
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        # Every cell of a window gets the window's gradient divided by the cells averaged.
        return ctx.backend.avg_pool2d_backward(grad.astype(compute_dtype(grad.dtype), copy=False),
                                               ctx.x_shape, ctx.window, ctx.strides, ctx.padding)


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


def global_avg_pool2d(x, keepdims=None, *, keepdim=None):
    """The mean over each image's height and width: (N, H, W, C) -> (N, C), or (N, 1, 1, C)
    with ``keepdims`` (or PyTorch's spelling ``keepdim``).

    >>> mg.global_avg_pool2d(mg.ones(2, 5, 5, 3)).shape
    (2, 3)
    """
    x = float_operand(x)
    check_images("global_avg_pool2d", x.shape)
    return GlobalAvgPool2D.apply(x, keepdims=resolve_keepdims(keepdims, keepdim))
