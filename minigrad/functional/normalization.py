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
from ._operands import as_tensor, float_operand, normalize_axes
from .conv import compute_dtype


class BatchNormTrain(Function):
    """Batch statistics; updates ``running`` = (mean, var, momentum) arrays in place."""

    @staticmethod
    def forward(ctx, x, gamma, beta, axes, shape, epsilon, running):
        xp = ctx.xp
        work = compute_dtype(x.dtype)
        xw = x.astype(work, copy=False)
        mean = xw.mean(axis=axes, keepdims=True)
        centered = xw - mean
        var = (centered * centered).mean(axis=axes, keepdims=True)
        inv_std = 1 / xp.sqrt(var + epsilon)
        x_hat = centered * inv_std
        gamma_b = gamma.astype(work, copy=False).reshape(shape)
        out = x_hat * gamma_b + beta.astype(work, copy=False).reshape(shape)
        if running is not None:
            running_mean, running_var, momentum = running
            # In place, so the module's buffers (and their state_dict) see the update.
            running_mean *= momentum
            running_mean += ((1 - momentum) * mean.reshape(-1)).astype(running_mean.dtype)
            running_var *= momentum
            running_var += ((1 - momentum) * var.reshape(-1)).astype(running_var.dtype)
        ctx.save_for_backward(x_hat, inv_std, gamma_b)
        ctx.axes = axes
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x_hat, inv_std, gamma_b = ctx.saved
        axes = ctx.axes
        grad = grad.astype(x_hat.dtype, copy=False)
        grad_beta = grad.sum(axis=axes)
        grad_gamma = (grad * x_hat).sum(axis=axes)
        # x_hat depends on x directly and through the batch mean and variance; with
        # g = grad * gamma, dx = (g - mean(g) - x_hat * mean(g * x_hat)) / sqrt(var + eps).
        count = x_hat.size // grad_beta.size
        grad_x = (gamma_b * inv_std) * (grad - grad_beta.reshape(inv_std.shape) / count
                                        - x_hat * (grad_gamma.reshape(inv_std.shape) / count))
        return grad_x, grad_gamma, grad_beta


class BatchNormEval(Function):
    """Fixed statistics ``mean`` and ``var`` (arrays of the features' shape)."""

    @staticmethod
    def forward(ctx, x, gamma, beta, axes, shape, epsilon, mean, var):
        xp = ctx.xp
        work = compute_dtype(x.dtype)
        inv_std = (1 / xp.sqrt(var.astype(work) + epsilon)).reshape(shape)
        x_hat = (x.astype(work, copy=False) - mean.astype(work).reshape(shape)) * inv_std
        gamma_b = gamma.astype(work, copy=False).reshape(shape)
        out = x_hat * gamma_b + beta.astype(work, copy=False).reshape(shape)
        ctx.save_for_backward(x_hat, gamma_b * inv_std)
        ctx.axes = axes
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x_hat, scale = ctx.saved
        grad = grad.astype(x_hat.dtype, copy=False)
        # An affine map per feature: y = x * (gamma / std) + const.
        return grad * scale, (grad * x_hat).sum(axis=ctx.axes), grad.sum(axis=ctx.axes)


def batch_norm(x, gamma, beta, running_mean, running_var, training, momentum=0.99,
               epsilon=1e-3, axis=-1):
    """Batch normalization over every axis but ``axis`` (the channels).

    Shapes: ``x`` (N, ..., C) for ``axis=-1`` (e.g. (N, H, W, C) images or (N, C) features);
    ``gamma``, ``beta``, ``running_mean``, ``running_var`` (C,); output as ``x``. ``gamma``
    and ``beta`` may be None (no scale / no shift).

    With ``training=True`` the batch's mean and variance normalize ``x`` and the running
    statistics (tensors, or None to leave them alone) are updated in place, as Keras does:
    ``running = momentum * running + (1 - momentum) * batch``, with the *biased* batch variance
    (dividing by m). With ``training=False`` the running statistics normalize ``x``.

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
    work = compute_dtype(x.dtype)
    gamma = _feature_tensor(gamma, x, features, "gamma", 1.0, work)
    beta = _feature_tensor(beta, x, features, "beta", 0.0, work)
    stats = [_feature_tensor(s, x, features, name, None, work) if s is not None else None
             for s, name in ((running_mean, "running_mean"), (running_var, "running_var"))]
    common = dict(axes=reduce_axes, shape=shape, epsilon=float(epsilon))
    if training:
        if x.size // features < 2 and x.size:
            raise ValueError(f"batch_norm in training needs more than one value per feature to "
                             f"take a variance, got input of shape {tuple(x.shape)}")
        running = None
        if stats[0] is not None and stats[1] is not None:
            running = (stats[0].data, stats[1].data, float(momentum))
        return BatchNormTrain.apply(x, gamma, beta, running=running, **common)
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
