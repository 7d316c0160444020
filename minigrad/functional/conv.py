"""conv2d: 2-D convolution of channels-last images, as im2col and one matrix product (a batched
one, group by group, for a grouped convolution).

Layout (Keras's): images are (N, H, W, C) and a kernel is (kh, kw, C, F). im2col turns the
batch into a matrix with one row per output pixel holding the kh*kw*C values its window sees,
in the kernel's (i, j, c) order, so that

    out = im2col(x) @ kernel.reshape(kh*kw*C, F)        # (N*OH*OW, F) = (N, OH, OW, F)

with no transposes. The backward is two more matrix products:

    d kernel = im2col(x)^T @ d out                      # each weight met every window once
    d x      = col2im(d out @ kernel^T)                 # each row's gradient back to its pixels

im2col and col2im are hot loops, so they are backend methods (Numba on the CPU). PyTorch's
(N, C, H, W) corresponds by ``x.permute(0, 2, 3, 1)`` and its (F, C, kh, kw) weight by
``weight.permute(2, 3, 1, 0)``.

The window arithmetic (output sizes, Keras's "same" padding) is shared with pooling.py.
"""

import numbers

import numpy as np

from .. import dtypes
from ..autograd.function import Function
from ._operands import cast_constant

# --- window arithmetic ---------------------------------------------------------------------


def pair(value, name, op_name, minimum=1):
    """``value`` (an int or a pair of ints) as a pair of ints ``>= minimum``."""
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool):
        result = (int(value), int(value))
    elif (isinstance(value, (tuple, list)) and len(value) == 2
          and all(isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, bool)
                  for v in value)):
        result = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"{op_name}: {name} must be an int or a pair of ints, got {value!r}")
    if min(result) < minimum:
        raise ValueError(f"{op_name}: {name} must be >= {minimum}, got {value!r}")
    return result


def same_padding(size, window, stride, dilation=1):
    """Keras's (TensorFlow's) "same" padding of one axis, as (before, after).

    The output has ``ceil(size / stride)`` cells; the padding needed for that is split in two,
    the odd cell going after (bottom/right).
    """
    out = -(-size // stride)
    span = dilation * (window - 1) + 1
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def output_size(size, window, stride, dilation, pad_before, pad_after):
    """How many windows fit along one axis: ``(size + pads - span) // stride + 1`` with
    ``span = dilation * (window - 1) + 1`` (0 or less when even one does not fit)."""
    span = dilation * (window - 1) + 1
    return (size + pad_before + pad_after - span) // stride + 1


def resolve_padding(padding, in_hw, window, strides, dilation, op_name, allow_int=True):
    """``padding`` ("valid", "same", an int or a pair (ph, pw)) as
    ((top, bottom), (left, right))."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return (0, 0), (0, 0)
        if mode == "same":
            return tuple(same_padding(s, k, st, d)
                         for s, k, st, d in zip(in_hw, window, strides, dilation))
    elif allow_int:
        ph, pw = pair(padding, "padding", op_name, minimum=0)
        return (ph, ph), (pw, pw)
    choices = '"valid", "same", an int or a pair (ph, pw)' if allow_int else '"valid" or "same"'
    raise ValueError(f"{op_name}: padding must be {choices}, got {padding!r}")


def window_geometry(op_name, x_shape, window, strides, dilation, padding):
    """Padding ((top, bottom), (left, right)) and output size (OH, OW) of a sliding window over
    images of ``x_shape`` (N, H, W, C); a clear error when not a single window fits."""
    in_hw = x_shape[1:3]
    pads = resolve_padding(padding, in_hw, window, strides, dilation, op_name)
    out_hw = tuple(output_size(s, k, st, d, *p)
                   for s, k, st, d, p in zip(in_hw, window, strides, dilation, pads))
    if min(out_hw) < 1:
        span = tuple(d * (k - 1) + 1 for k, d in zip(window, dilation))
        padded = tuple(s + sum(p) for s, p in zip(in_hw, pads))
        dilated = " (dilated)" if span != tuple(window) else ""
        raise ValueError(
            f"{op_name}: the{dilated} window {span[0]}x{span[1]} is larger than the "
            f"{'padded ' if padded != tuple(in_hw) else ''}input {padded[0]}x{padded[1]} "
            f"(input shape {tuple(x_shape)}), so the output would be empty; use a smaller "
            "kernel or pool, padding=\"same\", or larger images")
    return pads, out_hw


def layout_hint(shape, channels):
    """A hint for the common mistake of passing channels-first (N, C, H, W) images."""
    if len(shape) == 4 and shape[1] == channels and shape[3] != channels:
        return ("; this looks like a channels-first (N, C, H, W) batch, but minigrad images are "
                "channels-last (N, H, W, C): use x.permute(0, 2, 3, 1)")
    return ""


def check_images(op_name, shape, channels=None):
    """Raise a ValueError unless ``shape`` is (N, H, W, C) (with C == ``channels`` if given)."""
    shape = tuple(shape)
    c = "C" if channels is None else str(channels)
    if len(shape) != 4:
        hint = ("; add the batch axis with x[None] (one image) or x.unsqueeze(0)"
                if len(shape) == 3 else "")
        raise ValueError(f"{op_name} expected input of shape (N, H, W, {c}), got {shape}{hint}")
    if channels is not None and shape[3] != channels:
        raise ValueError(f"{op_name} expected input of shape (N, H, W, {c}), got {shape}"
                         + layout_hint(shape, channels))


def sum_rows(a):
    """``a.sum(axis=0)`` of an (M, C) array, fast also for few columns.

    NumPy sums over axis 0 one row of C values at a time, which is slow when C is small (a bias
    gradient: M = N*OH*OW rows of C = filters). Summing a (M/k, k*C) view first and then the k
    blocks is several times faster and, by summing in two stages, also more accurate.
    """
    m, c = a.shape
    k = _row_blocks(m, c)
    return a.reshape(m // k, k * c).sum(axis=0).reshape(k, c).sum(axis=0)


def dot_rows(xp, a, b):
    """``(a * b).sum(axis=0)`` of two C-contiguous (M, C) arrays of module ``xp`` without the
    product array: one pass over both (``einsum``) instead of three, summed in two stages as
    :func:`sum_rows` (so as accurately). A batch norm's variance and gamma gradient."""
    m, c = a.shape
    k = _row_blocks(m, c)
    blocks = xp.einsum("ij,ij->j", a.reshape(m // k, k * c), b.reshape(m // k, k * c))
    return blocks.reshape(k, c).sum(axis=0)


def _row_blocks(m, c):
    """How many consecutive rows of an (M, C) array to sum side by side (as one row of k*C
    values): a power of two dividing M, up to about 512 values in all."""
    k = 1
    while k * c < 512 and m % (2 * k) == 0:
        k *= 2
    return k


# --- the op --------------------------------------------------------------------------------


class Conv2D(Function):
    """``out = im2col(x) @ kernel (+ bias)``, then ``max(out, 0)`` with ``relu``; ``geometry``
    is (window, strides, dilation, padding, out_hw) from :func:`window_geometry`; with
    ``groups`` > 1 the product is a batched one, group by group (see :func:`group_columns`).

    The batch goes through in blocks of whole images (:func:`image_blocks`): a block's columns
    are made, multiplied and forgotten while still in the cache, and the backward makes them
    again rather than keeping the whole batch's (as large as 25 MB for a layer of the CIFAR-10
    CNN at batch 128). On a GPU the block is the whole batch.

    The ReLU is applied in place on the product's output, whose only copy is the result: the
    pre-activation array is never kept (a conv layer's activation cost a second array of the
    output's size, forward and backward), and the backward masks the gradient once before the
    three uses of it (bias, kernel, input)."""

    @staticmethod
    def forward(ctx, x, kernel, bias=None, geometry=None, groups=1, relu=False):
        out_h, out_w = geometry[4]
        n = x.shape[0]
        filters = kernel.shape[3]
        out_dtype = np.result_type(*(a.dtype for a in (x, kernel, bias) if a is not None))
        work = dtypes.compute_dtype(out_dtype)
        xp, backend = ctx.xp, ctx.backend

        x = xp.ascontiguousarray(x.astype(work, copy=False))
        w = kernel.astype(work, copy=False).reshape(-1, filters)  # (kh*kw*C/groups, F)
        out = xp.empty((n * out_h * out_w, filters), dtype=work)
        bias = None if bias is None else bias.astype(work, copy=False)

        def forward_blocks(blocks):  # on one thread, with its own columns buffer
            columns = ColumnMaker(backend, x, geometry)
            for images, rows in blocks:
                part = out[rows]
                columns_times_kernel(xp, columns.make(images), w, groups, x.shape[3], out=part)
                if bias is not None:
                    part += bias
                if relu:
                    xp.maximum(part, 0, out=part)

        backend.run_shares(forward_blocks, image_blocks(backend, x.shape, geometry,
                                                        w[:, 0].nbytes * groups))

        needs = ctx.needs_input_grad
        ctx.save_for_backward(x if needs and needs[1] else None, w,
                              out if relu and needs else None)
        ctx.geometry, ctx.x_shape, ctx.kernel_shape = geometry, x.shape, kernel.shape
        ctx.has_bias, ctx.groups = bias is not None, groups
        return out.reshape(n, out_h, out_w, filters).astype(out_dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, w, out = ctx.saved
        needs, groups, backend = ctx.needs_input_grad, ctx.groups, ctx.backend
        xp, channels = backend.xp, ctx.x_shape[3]
        grad = grad.astype(w.dtype, copy=False).reshape(-1, ctx.kernel_shape[3])  # (N*OH*OW, F)
        grad_x = xp.empty(ctx.x_shape, dtype=w.dtype) if needs[0] else None

        def backward_blocks(blocks):  # on one thread: its part of the sums over the batch
            columns = ColumnMaker(backend, x, ctx.geometry) if needs[1] else None
            grad_kernel = xp.zeros(w.shape, dtype=w.dtype) if needs[1] else None
            grad_bias = xp.zeros(w.shape[1], dtype=w.dtype) if ctx.has_bias and needs[2] else None
            for images, rows in blocks:
                g = grad[rows]
                if out is not None:  # the ReLU's: gradient 0 where the output was 0, as PyTorch
                    g = g * (out[rows] > 0)
                if grad_bias is not None:  # each bias value was added to every output pixel
                    grad_bias += sum_rows(g)
                if grad_kernel is not None:  # each weight met every window once
                    grad_kernel += columns_times_grad(columns.make(images), g, groups, channels)
                if grad_x is not None:  # each window's gradient back to its pixels
                    d_cols = grad_times_kernel(g, w, groups, channels)
                    _col2im(backend, d_cols, grad_x[images], ctx.geometry)
            return grad_kernel, grad_bias

        shares = backend.run_shares(backward_blocks, image_blocks(
            backend, ctx.x_shape, ctx.geometry, w[:, 0].nbytes * groups))
        grad_kernel, grad_bias = (None if parts[0] is None else sum(parts[1:], parts[0])
                                  for parts in zip(*shares))
        if grad_kernel is not None:
            grad_kernel = grad_kernel.reshape(ctx.kernel_shape)
        if ctx.has_bias:
            return grad_x, grad_kernel, grad_bias
        return grad_x, grad_kernel


def image_blocks(backend, x_shape, geometry, row_bytes):
    """(images, rows) slice pairs cutting a batch of ``x_shape`` into blocks of whole images
    whose im2col matrix (``row_bytes`` a row) holds about ``backend.conv_block_bytes`` (at
    least one image a block; one block of the whole batch when the backend says None), as
    many blocks as a multiple of the backend's threads (so that each gets an equal share):
    the images of ``x`` and the matching rows of the (N*OH*OW, ...) output."""
    n = x_shape[0]
    rows = geometry[4][0] * geometry[4][1]  # output pixels per image
    limit = backend.conv_block_bytes
    per_block = n
    if n == 0:  # an empty batch: nothing to do
        return []
    if limit is not None:
        threads = backend.thread_count()
        count = -(-n * rows * row_bytes // limit)  # blocks of at most about the limit
        count = min(n, -(-count // threads) * threads)
        per_block = -(-n // count)
    return [(slice(start, min(start + per_block, n)),
             slice(start * rows, min(start + per_block, n) * rows))
            for start in range(0, n, per_block)]


class ColumnMaker:
    """im2col of blocks of images of ``x``, into one buffer reused for every block (so that
    it stays in the cache); a 1x1 convolution's columns are the images themselves."""

    def __init__(self, backend, x, geometry):
        self.backend, self.x, self.geometry = backend, x, geometry
        self.buffer = None

    def make(self, images):
        """The (rows, kh*kw*C) im2col matrix of ``x[images]``, valid until the next call."""
        block = self.x[images]
        if _is_pointwise(self.geometry):  # a 1x1 convolution is a plain matrix product
            return block.reshape(-1, block.shape[3])
        window, strides, dilation, padding, out_hw = self.geometry
        shape = (block.shape[0] * out_hw[0] * out_hw[1], window[0] * window[1] * block.shape[3])
        if self.buffer is None or self.buffer.size < shape[0] * shape[1]:
            self.buffer = self.backend.xp.empty(shape[0] * shape[1], dtype=block.dtype)
        out = self.buffer[:shape[0] * shape[1]].reshape(shape)
        return self.backend.im2col(block, window, strides, dilation, padding, out_hw, out=out)


# The three matrix products of a convolution, on the (rows, kh*kw*C) columns of a block of
# images with C ``channels``, its (rows, F) output gradient and the (kh*kw*C/groups, F)
# kernel; group by group (one batched product) when ``groups`` > 1.

def columns_times_kernel(xp, cols, w, groups, channels, out):
    """The forward, ``cols @ w``: (rows, F), written into ``out``."""
    if groups == 1:
        return xp.matmul(cols, w, out=out)
    out[...] = ungroup_filters(group_columns(cols, groups, channels) @ group_filters(w, groups))
    return out


def columns_times_grad(cols, grad, groups, channels):
    """The kernel's gradient, ``cols^T @ grad``: (kh*kw*C/groups, F)."""
    if groups == 1:
        return cols.T @ grad
    grouped = group_columns(cols, groups, channels).swapaxes(-1, -2)
    return ungroup_filters(grouped @ group_filters(grad, groups))


def grad_times_kernel(grad, w, groups, channels):
    """The columns' gradient, ``grad @ w^T``: (rows, kh*kw*C)."""
    if groups == 1:
        return grad @ w.T
    grouped = group_filters(grad, groups) @ group_filters(w, groups).swapaxes(-1, -2)
    return ungroup_columns(grouped, channels)


# --- grouped convolution: the channels and the filters cut into groups ---------------------
# Group g convolves input channels [g*C/G, (g+1)*C/G) into filters [g*F/G, (g+1)*F/G), as
# Keras's and PyTorch's groups=. The im2col matrix and the kernel are regrouped so that one
# batched product (G, M, kh*kw*C/G) @ (G, kh*kw*C/G, F/G) does every group at once.

def group_columns(cols, groups, channels):
    """im2col's (M, kh*kw*C) matrix of images with C ``channels``, columns in (i, j, c) order,
    as (G, M, kh*kw*C/G): group g's channels of every cell of the window (a copy)."""
    m = cols.shape[0]
    cells = cols.reshape(m, -1, groups, channels // groups)  # (M, kh*kw, G, C/G)
    return cells.transpose(2, 0, 1, 3).reshape(groups, m, -1)


def ungroup_columns(grouped, channels):
    """The inverse of :func:`group_columns`: (G, M, kh*kw*C/G) -> (M, kh*kw*C) (a copy)."""
    groups, m, _ = grouped.shape
    cells = grouped.reshape(groups, m, -1, channels // groups)  # (G, M, kh*kw, C/G)
    return cells.transpose(1, 2, 0, 3).reshape(m, -1)


def group_filters(a, groups):
    """An (R, F) array (the kernel as (kh*kw*C/G, F), or the output's gradient) as
    (G, R, F/G): group g's filters (a view)."""
    rows, filters = a.shape
    return a.reshape(rows, groups, filters // groups).transpose(1, 0, 2)


def ungroup_filters(grouped):
    """The inverse of :func:`group_filters`: (G, R, F/G) -> (R, F) (a copy)."""
    groups, rows, per_group = grouped.shape
    return grouped.transpose(1, 0, 2).reshape(rows, groups * per_group)


def _is_pointwise(geometry):
    window, strides, _, padding, _ = geometry
    return window == (1, 1) and strides == (1, 1) and padding == ((0, 0), (0, 0))


def _col2im(backend, cols, out, geometry):
    """col2im of ``cols`` into ``out`` (the images' gradient, (n, H, W, C), overwritten)."""
    if _is_pointwise(geometry):
        out[...] = cols.reshape(out.shape)
        return out
    window, strides, dilation, padding, out_hw = geometry
    return backend.col2im(cols, out.shape, window, strides, dilation, padding, out_hw, out=out)


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation=1, groups=1,
           activation=None):
    """2-D convolution (cross-correlation, as in every deep learning library) of channels-last
    images.

    Shapes: ``x`` (N, H, W, C), ``kernel`` (kh, kw, C / groups, F), ``bias`` (F,) or None;
    output (N, OH, OW, F) with ``OH = (H + pad_top + pad_bottom - dilation*(kh - 1) - 1) //
    stride + 1`` (and OW likewise).

    Args:
        strides: an int or a pair (sh, sw).
        padding: ``"valid"`` (none), ``"same"`` (Keras's: the output has ``ceil(H / stride)``
            rows, the odd padding row going at the bottom), an int or a pair (ph, pw) of
            zero rows/columns added on both sides (PyTorch's ``padding=``).
        dilation: an int or a pair; the gap between the kernel's taps (Keras's
            ``dilation_rate``).
        groups: a grouped convolution (Keras's and PyTorch's ``groups=``): the C channels and
            the F filters are cut into ``groups`` consecutive blocks, and filter block g sees
            only channel block g, through ``kernel[..., g*F/G:(g+1)*F/G]``. C and F must be
            divisible by it; ``groups=C`` is a depthwise convolution.
        activation: None, or ``"relu"`` for ``relu(conv2d(...))`` computed in the product's
            own output (no second array of the output's size is made or kept; what a
            ``Conv2D(..., activation="relu")`` layer uses).

    The output has the dtype of ``x`` and ``kernel`` (float16 is computed in float32 and
    rounded). For PyTorch's (N, C, H, W) input and (F, C / groups, kh, kw) weight, ``conv2d(
    x.permute(0, 2, 3, 1), weight.permute(2, 3, 1, 0), groups=groups)`` is ``torch.conv2d(x,
    weight, groups=groups)`` permuted.

    >>> x = mg.ones(2, 5, 5, 3)
    >>> kernel = mg.ones(3, 3, 3, 4)
    >>> mg.conv2d(x, kernel).shape
    (2, 3, 3, 4)
    >>> mg.conv2d(x, kernel, padding="same", strides=2).shape
    (2, 3, 3, 4)
    >>> mg.conv2d(mg.ones(2, 5, 5, 6), kernel, groups=2).shape  # 2 groups of 3 channels
    (2, 3, 3, 4)
    """
    if not dtypes.is_floating(kernel.dtype):
        raise TypeError(f"conv2d: kernel must be floating point, got {kernel.dtype.name}")
    if kernel.ndim != 4:
        raise ValueError(f"conv2d expected a kernel of shape (kh, kw, in_channels, filters), got "
                         f"{tuple(kernel.shape)}")
    groups = check_groups("conv2d", groups)
    kh, kw, group_channels, filters = kernel.shape
    if filters % groups:
        raise ValueError(f"conv2d: the kernel's {filters} filters (its last axis, shape "
                         f"{tuple(kernel.shape)}) are not divisible by groups={groups}")
    if groups > 1 and len(x.shape) == 4 and x.shape[3] != group_channels * groups:
        raise ValueError(f"conv2d with groups={groups} and a kernel of shape "
                         f"{tuple(kernel.shape)} ({group_channels} channels per group) expected "
                         f"input of shape (N, H, W, {group_channels * groups}), got "
                         f"{tuple(x.shape)}")
    check_images("conv2d", x.shape, group_channels * groups)
    if bias is not None and tuple(bias.shape) != (filters,):
        raise ValueError(f"conv2d expected a bias of shape ({filters},) for a kernel of shape "
                         f"{tuple(kernel.shape)}, got {tuple(bias.shape)}")
    if not dtypes.is_floating(x.dtype):
        x = cast_constant(x, kernel.dtype)  # e.g. uint8 pixels: no gradient to keep
    strides = pair(strides, "strides", "conv2d")
    dilation = pair(dilation, "dilation", "conv2d")
    padding, out_hw = window_geometry("conv2d", x.shape, (kh, kw), strides, dilation, padding)
    geometry = ((kh, kw), strides, dilation, padding, out_hw)
    if activation not in (None, "relu"):
        raise ValueError(f'conv2d: activation must be None or "relu", got {activation!r}')
    inputs = (x, kernel) if bias is None else (x, kernel, bias)
    return Conv2D.apply(*inputs, geometry=geometry, groups=groups, relu=activation == "relu")


def check_groups(op_name, groups):
    """``groups`` as a positive int, or a clear error."""
    if isinstance(groups, bool) or not isinstance(groups, (numbers.Integral, np.integer)):
        raise TypeError(f"{op_name}: groups must be a positive int, got {groups!r}")
    if groups < 1:
        raise ValueError(f"{op_name}: groups must be >= 1, got {groups}")
    return int(groups)
