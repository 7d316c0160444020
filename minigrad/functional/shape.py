"""Shape ops: reshape, transpose/permute/swapaxes, expand/broadcast_to, squeeze/unsqueeze,
flatten and pad. None of them changes a value, so each backward only moves the gradient back
into the input's shape."""

import numpy as np

from ..autograd.broadcast import sum_to
from ..autograd.function import Function
from ._operands import check_broadcastable, normalize_axes, resolve_axis


def _shape_argument(shape):
    """Accept ``f(2, 3)`` and ``f((2, 3))``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.input_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.input_shape)


class Permute(Function):
    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(np.argsort(ctx.axes))  # the inverse permutation


class BroadcastTo(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.input_shape = x.shape
        return ctx.xp.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return sum_to(grad, ctx.input_shape)


class Pad(Function):
    @staticmethod
    def forward(ctx, x, pad_width, value):
        ctx.region = tuple(slice(before, before + size)
                           for (before, _), size in zip(pad_width, x.shape))
        return ctx.xp.pad(x, pad_width, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.region]  # the padding itself got no input


def reshape(x, *shape):
    """The same elements in a new shape (one dimension may be -1: inferred).

    ``mg.reshape(x, 2, 3)`` and ``x.reshape((2, 3))`` are the same.
    """
    shape = _shape_argument(shape)
    known = 1
    for s in shape:
        known *= s if s != -1 else 1
    size = x.data.size
    if shape.count(-1) > 1 or (-1 in shape and (known == 0 or size % known)) or \
            (-1 not in shape and known != size) or any(s < -1 for s in shape):
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} ({size} elements) "
                         f"into shape {shape}")
    if shape == x.data.shape:
        return x
    return Reshape.apply(x, shape=shape)


def flatten(x, start_axis=0, end_axis=-1):
    """Merge the axes ``start_axis..end_axis`` (inclusive) into one.

    ``flatten(x)`` gives a 1-D tensor; ``flatten(x, 1)`` turns (N, C, H, W) into (N, C*H*W).
    """
    ndim = x.data.ndim
    if ndim == 0:
        return reshape(x, 1)
    start, end = normalize_axes(start_axis, ndim)[0], normalize_axes(end_axis, ndim)[0]
    if start > end:
        raise ValueError(f"flatten: start_axis {start_axis} comes after end_axis {end_axis}")
    shape = x.data.shape
    merged = 1
    for s in shape[start:end + 1]:
        merged *= s
    return reshape(x, shape[:start] + (merged,) + shape[end + 1:])


def permute(x, *axes):
    """Reorder the axes: output axis ``i`` is input axis ``axes[i]``."""
    axes = _shape_argument(axes)
    ndim = x.data.ndim
    # Every axis in range and used once: (0, 3) of a matrix is an error, not (0, 3 % 2).
    if len(axes) != ndim or not all(-ndim <= a < ndim for a in axes) or \
            sorted(a % ndim for a in axes) != list(range(ndim)):
        raise ValueError(f"permute: {axes} is not a permutation of the {ndim} axes of a tensor "
                         f"of shape {x.shape}")
    return Permute.apply(x, axes=tuple(a % ndim for a in axes))


def transpose(x, *axes):
    """Transpose: reverse the axes (no arguments), swap two of them (two axes, as PyTorch's
    ``transpose(0, 1)``), or permute them (all ``ndim`` axes of a 3-D or larger tensor, as
    NumPy).

    Two axes always mean a swap, also for a matrix: ``m.transpose(0, 1)`` is ``m.T`` (NumPy
    would read it as the identity permutation, which nobody writes on purpose).
    """
    axes = _shape_argument(axes) if axes else ()
    ndim = x.data.ndim
    if not axes:
        return Permute.apply(x, axes=tuple(reversed(range(ndim))))
    if len(axes) == 2:
        return swapaxes(x, *axes)
    return permute(x, *axes)


def swapaxes(x, axis1, axis2):
    """Exchange two axes."""
    ndim = x.data.ndim
    a, b = normalize_axes(axis1, ndim)[0], normalize_axes(axis2, ndim)[0]
    axes = list(range(ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return Permute.apply(x, axes=tuple(axes))


def broadcast_to(x, shape):
    """Repeat ``x`` along its size-1 (and new leading) axes to ``shape``, as NumPy; the gradient
    sums over the copies."""
    shape = _shape_argument((shape,))
    check_broadcastable("broadcast_to", x.data.shape, shape)
    if len(shape) < x.data.ndim or np.broadcast_shapes(x.data.shape, shape) != shape:
        raise ValueError(f"broadcast_to: a tensor of shape {x.shape} cannot be broadcast to "
                         f"{shape}")
    if shape == x.data.shape:
        return x
    return BroadcastTo.apply(x, shape=shape)


def expand(x, *shape):
    """PyTorch's spelling of :func:`broadcast_to`; -1 keeps a dimension's size."""
    shape = _shape_argument(shape)
    lead = len(shape) - x.data.ndim
    if lead < 0:
        raise ValueError(f"expand: shape {shape} has fewer dimensions than the tensor "
                         f"{x.shape}")
    shape = tuple(x.data.shape[i - lead] if s == -1 and i >= lead else s
                  for i, s in enumerate(shape))
    return broadcast_to(x, shape)


def squeeze(x, axis=None, *, dim=None):
    """Remove axes of size 1: all of them (``axis=None``) or the ones named, which must be 1."""
    axis = resolve_axis(axis, dim)
    shape = x.data.shape
    if axis is None:
        new_shape = tuple(s for s in shape if s != 1)
    else:
        axes = normalize_axes(axis, x.data.ndim)
        for a in axes:
            if shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} of a tensor of shape {shape} has size "
                                 f"{shape[a]}, not 1")
        new_shape = tuple(s for i, s in enumerate(shape) if i not in axes)
    return reshape(x, new_shape)


def unsqueeze(x, axis=None, *, dim=None):
    """Insert an axis of size 1 at position ``axis`` (``expand_dims`` in NumPy).

    (3,) -> ``unsqueeze(x, 0)`` -> (1, 3); ``unsqueeze(x, -1)`` -> (3, 1).
    """
    axis = resolve_axis(axis, dim)
    if axis is None:
        raise TypeError("unsqueeze needs an axis")
    ndim = x.data.ndim + 1
    a = normalize_axes(axis, ndim)[0]
    shape = x.data.shape
    return reshape(x, shape[:a] + (1,) + shape[a:])


def pad(x, pad_width, value=0.0):
    """Pad with a constant, as :func:`numpy.pad` with ``mode="constant"``.

    ``pad_width`` is ``((before_0, after_0), (before_1, after_1), ...)`` with one pair per axis,
    or one pair or one int for all axes. (N, H, W) padded by ``((0, 0), (1, 1), (1, 1))`` is
    (N, H+2, W+2).
    """
    ndim = x.data.ndim
    try:
        widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (ndim, 2))
    except ValueError:
        raise ValueError(f"pad: pad_width {pad_width!r} does not fit a tensor of shape "
                         f"{x.shape}: give one (before, after) pair per axis") from None
    if (widths < 0).any():
        raise ValueError(f"pad: pad_width must not be negative, got {pad_width!r}")
    widths = tuple((int(b), int(a)) for b, a in widths)
    return Pad.apply(x, pad_width=widths, value=value)
