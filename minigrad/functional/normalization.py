"""batch_norm: normalize each feature (channel) over the batch, then scale and shift.

For features along ``axis`` (the channels, last in minigrad's (N, H, W, C) images) and every
other axis reduced (m values per feature):

    x_hat = (x - mean) / sqrt(var + epsilon)        y = gamma * x_hat + beta

In training the mean and (biased) variance are the batch's, and the running statistics move
towards them (Keras's momentum: ``running = momentum * running + (1 - momentum) * batch``).
In evaluation the running statistics are used instead, so the op is a fixed affine map.
"""

from .. import dtypes
from ..autograd.function import Function
from ..creation import full
from ._operands import array_beside, as_tensor, float_operand, normalize_axes
from ._blocks import blocks, each_block, sum_over_blocks
from .conv import dot_rows, sum_rows


class BatchNormTrain(Function):
    """Batch statistics; updates ``running`` = (mean, var, momentum) arrays in place.

    ``weights`` (None, or 0/1 of x's shape with 1 along the features: the mask of the real
    steps) makes the statistics those of the real steps alone, Keras's masked moments:
    ``mean = sum(w x) / (sum(w) + 1e-7)``, ``var = sum(w (x - mean)^2) / (sum(w) + 1e-7)``.
    Every step is normalized by them (padded ones too).
    """

    @staticmethod
    def forward(ctx, x, gamma, beta, axes, shape, epsilon, running, weights=None):
        xp = ctx.xp
        xw = x.astype(dtypes.compute_dtype(x.dtype), copy=False)
        gamma = gamma.astype(xw.dtype)  # a copy: kept for the backward
        if weights is None and _features_last(xw, axes):
            rows = RowBlocks(ctx.backend, xp.ascontiguousarray(xw).reshape(-1, gamma.size))
            mean, var, inv_std, out = rows.normalize(gamma, beta.astype(xw.dtype), epsilon)
            count, out = xw.dtype.type(rows.count), out.reshape(xw.shape)
            # x_hat is made again from x in the backward, a block at a time: one array fewer
            # to write here and to keep (x is kept anyway, by whoever made it)
            saved, ctx.in_blocks = (rows.a, mean, inv_std), True
        else:
            mean, var, inv_std, x_hat, out, count = _statistics_and_output(
                xp, xw, gamma, beta, axes, shape, epsilon, weights)
            saved, ctx.in_blocks = (x_hat, inv_std), False
        if running is not None:
            running_mean, running_var, momentum = running
            # In place, so the module's buffers (and their state_dict) see the update.
            running_mean *= momentum
            running_mean += ((1 - momentum) * mean).astype(running_mean.dtype)
            running_var *= momentum
            running_var += ((1 - momentum) * var).astype(running_var.dtype)
        ctx.save_for_backward(gamma, *saved)
        ctx.axes, ctx.shape, ctx.count, ctx.weights = axes, shape, count, weights
        ctx.x_shape = xw.shape
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        xp = ctx.xp
        gamma, *saved = ctx.saved
        axes, shape, count, weights = ctx.axes, ctx.shape, ctx.count, ctx.weights
        if ctx.in_blocks:  # the features last, in blocks of rows
            x, mean, inv_std = saved
            grad = xp.ascontiguousarray(grad.astype(x.dtype, copy=False)).reshape(x.shape)
            rows = RowBlocks(ctx.backend, grad)
            grad_x, grad_gamma, grad_beta = rows.normalize_backward(x, mean, inv_std, gamma)
            return grad_x.reshape(ctx.x_shape), grad_gamma, grad_beta
        x_hat, inv_std = saved
        grad = grad.astype(x_hat.dtype, copy=False)
        grad_beta = feature_sum(xp, grad, axes)
        grad_gamma = feature_dot(xp, grad, x_hat, axes)
        # x_hat depends on x directly and through the batch mean and variance:
        # dx = gamma / std * (grad - mean(grad) - x_hat * mean(grad * x_hat)).
        grad_x = x_hat * (grad_gamma / count).reshape(shape)
        if weights is None:
            xp.subtract(grad, grad_x, out=grad_x)
            grad_x -= (grad_beta / count).reshape(shape)
        else:
            # Only the real steps (w = 1) move the statistics: with S = sum(w x_hat) (0 but
            # for the 1e-7 in the count), dx = gamma / std * (grad - w / count *
            # (grad_beta + x_hat * grad_gamma - grad_gamma * S / count)).
            spread = feature_sum(xp, weights * x_hat, axes)
            grad_x -= (grad_gamma * spread / (count * count) - grad_beta / count).reshape(shape)
            grad_x *= weights
            xp.subtract(grad, grad_x, out=grad_x)
        grad_x *= (gamma * inv_std).reshape(shape)
        return grad_x, grad_gamma, grad_beta


def _statistics_and_output(xp, xw, gamma, beta, axes, shape, epsilon, weights):
    """Batch statistics and the normalized output in whole-array passes (any feature axis, and
    masked statistics): (mean, var, inv_std, x_hat, out, count)."""
    if weights is None:
        count = xw.dtype.type(xw.size // gamma.size)  # values per feature
        mean = feature_sum(xp, xw, axes) / count                 # (C,)
    else:
        weights = weights.astype(xw.dtype, copy=False)
        count = weights.sum() + xw.dtype.type(_MASKED_COUNT_EPSILON)
        mean = feature_sum(xp, xw * weights, axes) / count
    centered = xw - mean.reshape(shape)
    # biased, as Keras; the squares summed without an array of them
    var = feature_dot(xp, centered, centered if weights is None else centered * weights,
                      axes) / count
    inv_std = 1 / xp.sqrt(var + epsilon)
    # The temporary is ours: x_hat is written into it.
    x_hat = xp.multiply(centered, inv_std.reshape(shape), out=centered)
    out = x_hat * gamma.reshape(shape)
    out += beta.astype(xw.dtype).reshape(shape)
    return mean, var, inv_std, x_hat, out, count


# Keras adds its backend.epsilon() to the count of real steps (so that an all-padding batch
# divides by it rather than by 0).
_MASKED_COUNT_EPSILON = 1e-7


class BatchNormEval(Function):
    """Fixed statistics ``mean`` and ``var`` (arrays of the features' shape): per feature the
    affine map ``y = x * scale + shift`` with ``scale = gamma / std``,
    ``shift = beta - mean * scale``."""

    @staticmethod
    def forward(ctx, x, gamma, beta, axes, shape, epsilon, mean, var):
        xp = ctx.xp
        xw = x.astype(dtypes.compute_dtype(x.dtype), copy=False)
        inv_std = 1 / xp.sqrt(var.astype(xw.dtype) + epsilon)
        scale = gamma.astype(xw.dtype) * inv_std
        shift = beta.astype(xw.dtype) - mean.astype(xw.dtype) * scale
        out = xw * scale.reshape(shape)
        out += shift.reshape(shape)
        ctx.save_for_backward(xw, mean.astype(xw.dtype), inv_std, scale)
        ctx.axes, ctx.shape = axes, shape
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        xp = ctx.xp
        x, mean, inv_std, scale = ctx.saved
        axes, shape = ctx.axes, ctx.shape
        grad = grad.astype(x.dtype, copy=False)
        needs = ctx.needs_input_grad
        grad_x = grad * scale.reshape(shape) if needs[0] else None
        grad_gamma = None
        if needs[1]:  # d y / d gamma = x_hat = (x - mean) / std
            x_hat = (x - mean.reshape(shape)) * inv_std.reshape(shape)
            grad_gamma = feature_sum(xp, grad * x_hat, axes)
        grad_beta = feature_sum(xp, grad, axes) if needs[2] else None
        return grad_x, grad_gamma, grad_beta


def _features_last(a, axes):
    return axes == tuple(range(a.ndim - 1)) and a.size > 0


class RowBlocks:
    """Batch normalization's passes over the rows of an (M, C) array ``a`` (the features last),
    a block of rows at a time, the blocks shared out over the backend's threads (see
    ``Backend.run_shares``): each pass reads the array once, and what a step of the pass makes
    from a block is still in the cache for the next step."""

    def __init__(self, backend, a):
        self.backend, self.xp, self.a = backend, backend.xp, a
        self.count = a.shape[0]
        self.blocks = blocks(backend, self.count, a[0].nbytes)

    def _sum_over_shares(self, partial):
        return sum_over_blocks(self.backend, partial, self.blocks)

    def _each_block(self, step):
        each_block(self.backend, step, self.blocks)

    def normalize(self, gamma, beta, epsilon):
        """Training's forward: (mean, biased var, inv_std, out) of ``a`` = x, with ``out =
        gamma * x_hat + beta`` and ``x_hat = (x - mean) * inv_std``, ``inv_std = 1 / sqrt(var
        + epsilon)``; the variance summed as squares of centered values (two passes, as
        accurate as NumPy's ``var``), the output in one multiply-add per block."""
        xp, a = self.xp, self.a
        (total,) = self._sum_over_shares(lambda rows: (sum_rows(a[rows]),))
        mean = total / a.dtype.type(self.count)

        def squares(rows):
            centered = a[rows] - mean
            return (dot_rows(xp, centered, centered),)

        (total,) = self._sum_over_shares(squares)
        var = total / a.dtype.type(self.count)
        inv_std = 1 / xp.sqrt(var + epsilon)
        scale = gamma * inv_std
        shift = beta - mean * scale
        out = xp.empty_like(a)

        def output(rows):
            block = xp.multiply(a[rows], scale, out=out[rows])
            block += shift

        self._each_block(output)
        return mean, var, inv_std, out

    def normalize_backward(self, x, mean, inv_std, gamma):
        """Training's backward with ``a`` = the output's gradient and ``x`` the input (M, C):
        (grad_x, grad_gamma, grad_beta), ``grad_x = gamma * inv_std * (grad - mean(grad) -
        x_hat * mean(grad * x_hat))`` (x_hat depends on x directly and through the batch mean
        and variance), never making x_hat as a whole array."""
        xp, grad, backend = self.xp, self.a, self.backend
        # sum(grad * x_hat) = inv_std * sum(grad * (x - mean)): inv_std applied to the sums
        grad_beta, grad_gamma = self._sum_over_shares(
            lambda rows: backend.batch_norm_backward_sums(grad[rows], x[rows], mean))
        grad_gamma = grad_gamma * inv_std
        count = grad.dtype.type(self.count)
        mean_grad, mean_product = grad_beta / count, grad_gamma / count
        scale = gamma * inv_std
        per_centered = inv_std * mean_product  # x_hat * mean_product = (x - mean) * this
        grad_x = xp.empty_like(grad)

        def gradient(rows):
            backend.batch_norm_input_grad(grad[rows], x[rows], mean, per_centered, mean_grad,
                                          scale, grad_x[rows])

        self._each_block(gradient)
        return grad_x, grad_gamma, grad_beta


def feature_sum(xp, a, axes):
    """The sum of ``a`` over ``axes`` (every axis but the features'), as a (C,) array; with
    the features last, a sum over the rows of ``a.reshape(-1, C)`` (see ``sum_rows``)."""
    if axes == tuple(range(a.ndim - 1)) and a.size:
        return sum_rows(a.reshape(-1, a.shape[-1]))
    return a.sum(axis=axes)


def feature_dot(xp, a, b, axes):
    """``feature_sum(xp, a * b, axes)`` without the product array when the features are last
    (see ``dot_rows``)."""
    if axes == tuple(range(a.ndim - 1)) and a.size:
        features = a.shape[-1]
        return dot_rows(xp, xp.ascontiguousarray(a).reshape(-1, features),
                        xp.ascontiguousarray(b).reshape(-1, features))
    return feature_sum(xp, a * b, axes)


def batch_norm(x, gamma, beta, running_mean, running_var, training, momentum=0.99,
               epsilon=1e-3, axis=-1, mask=None):
    """Batch normalization over every axis but ``axis`` (the channels).

    Shapes: ``x`` (N, ..., C) for ``axis=-1`` (e.g. (N, H, W, C) images or (N, C) features);
    ``gamma``, ``beta``, ``running_mean``, ``running_var`` (C,); output as ``x``. ``gamma``
    and ``beta`` may be None (no scale / no shift).

    With ``training=True`` the batch's mean and variance normalize ``x`` and the running
    statistics (tensors, or None to leave them alone) are updated in place, as Keras does:
    ``running = momentum * running + (1 - momentum) * batch``, with the *biased* batch variance
    (dividing by m). A single value per feature (a batch of one sample) has variance 0, as in
    Keras: the output is ``beta``. With ``training=False`` the running statistics normalize
    ``x``.

    ``mask``: bool, of ``x``'s shape without the feature axis ((N, T) for (N, T, C)), True at
    the real steps: in training the statistics are taken over those alone (Keras's masked
    moments; ``sum(mask) + 1e-7`` values per feature); ignored in evaluation.

    Compared with PyTorch: ``momentum`` here is ``1 - momentum`` there (Keras's 0.99 is
    PyTorch's 0.1), PyTorch's default ``eps`` is 1e-5 (here 1e-3, Keras's), and PyTorch puts
    the unbiased variance (dividing by m - 1) into its running variance.

    >>> x = mg.tensor([[1.0, 10.0], [3.0, 30.0]])
    >>> mean, var = mg.zeros(2), mg.ones(2)
    >>> mg.batch_norm(x, None, None, mean, var, training=True, momentum=0.5, epsilon=0.0)
    tensor([[-1., -1.],
            [ 1.,  1.]])
    >>> mean  # 0.5 * 0 + 0.5 * (the batch mean)
    tensor([ 1., 10.])
    """
    x = float_operand(x)
    ndim = x.ndim
    if ndim < 2:
        raise ValueError(f"batch_norm expected input of shape (N, ..., C) with a batch axis, got "
                         f"{tuple(x.shape)}")
    (axis,) = normalize_axes(axis, ndim)
    features = x.shape[axis]
    shape = tuple(features if i == axis else 1 for i in range(ndim))
    reduce_axes = tuple(i for i in range(ndim) if i != axis)
    work = dtypes.compute_dtype(x.dtype)
    gamma = _feature_tensor(gamma, x, features, "gamma", 1.0, work)
    beta = _feature_tensor(beta, x, features, "beta", 0.0, work)
    stats = [_feature_tensor(s, x, features, name, None, work) if s is not None else None
             for s, name in ((running_mean, "running_mean"), (running_var, "running_var"))]
    common = dict(axes=reduce_axes, shape=shape, epsilon=float(epsilon))
    if training:
        if x.size == 0:
            raise ValueError(f"batch_norm in training needs at least one value per feature, got "
                             f"input of shape {tuple(x.shape)}")
        running = None
        if stats[0] is not None and stats[1] is not None:
            running = (stats[0].data, stats[1].data, float(momentum))
        weights = None if mask is None else _mask_weights(mask, x, axis)
        return BatchNormTrain.apply(x, gamma, beta, running=running, weights=weights, **common)
    if stats[0] is None or stats[1] is None:
        raise ValueError("batch_norm with training=False needs running_mean and running_var")
    return BatchNormEval.apply(x, gamma, beta, mean=stats[0].data, var=stats[1].data, **common)


def _feature_tensor(value, x, features, name, default, dtype):
    """``value`` as a tensor of shape (features,), or a constant ``default`` one if None."""
    if value is None:
        return full(features, default, dtype=dtype, device=x._backend)
    value = as_tensor(value, like=x)
    if tuple(value.shape) != (features,):
        raise ValueError(f"batch_norm expected {name} of shape ({features},) for input of shape "
                         f"{tuple(x.shape)} (features along the channel axis), got "
                         f"{tuple(value.shape)}")
    if not dtypes.is_floating(value.dtype):
        raise TypeError(f"batch_norm: {name} must be floating point, got {value.dtype.name}")
    return value


def _mask_weights(mask, x, axis):
    """``mask`` (x's shape without ``axis``) as 0/1 weights of x's shape with 1 at ``axis``."""
    array = array_beside(mask, x, "batch_norm", "the mask")
    expected = tuple(x.shape[:axis]) + tuple(x.shape[axis + 1:])
    if tuple(array.shape) != expected:
        raise ValueError(f"batch_norm: the mask must have the input's shape without the feature "
                         f"axis, {expected} for input of shape {tuple(x.shape)}, got "
                         f"{tuple(array.shape)}")
    return x._backend.xp.expand_dims(array, axis) != 0
