"""Losses with Keras's names and semantics, each one fused :class:`~minigrad.autograd.Function`:
the per-sample loss, the sample weights and the reduction in one forward, and one hand-written
backward that a reader can check against it.

How every loss here is computed (as in Keras):

1. a loss per sample: for ``mean_squared_error``, ``mean_absolute_error``, ``huber`` and
   ``binary_crossentropy`` the mean over the last axis of ``y_pred`` (a 1-D ``y_pred`` of shape
   ``(N,)`` is N samples of one value each); for ``kl_divergence`` the sum over the last axis;
   for the cross-entropies, the sum over the class axis;
2. times ``sample_weight`` (one weight per sample) if given;
3. reduced: ``"mean"`` (Keras's ``"sum_over_batch_size"``: the weighted sum divided by the
   number of samples, *not* by the sum of the weights), ``"sum"``, or ``"none"`` (the weighted
   per-sample losses).

Probabilities are clipped to ``[EPSILON, 1 - EPSILON]`` (Keras's epsilon, 1e-7) before the
logarithm, so that probabilities of exactly 0 or 1 give finite losses; where the clip is active
the gradient is 0, as in Keras. With ``from_logits=True`` the losses use the log-sum-exp and
softplus forms instead, which are exact and finite for logits of any size (1e4 included).

Labels (``y_true``) are constants: tensors on ``y_pred``'s device or NumPy arrays / lists, never
differentiated. The loss and its gradient have ``y_pred``'s dtype whatever the labels' dtype
(float32 logits with int64 labels give a float32 loss and a float32 gradient). float16 is
computed in float32 and rounded at the end.
"""

import warnings

import numpy as np

from .. import dtypes
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ._operands import array_beside, as_tensor, float_operand, normalize_axes, value_range
from .activations import stable_sigmoid

#: Probabilities are clipped to ``[EPSILON, 1 - EPSILON]`` (Keras's fuzz factor, 1e-7).
EPSILON = 1e-7

#: Each accepted ``reduction=`` spelling and what it means: "mean", "sum" or "none".
REDUCTIONS = {"mean": "mean", "sum_over_batch_size": "mean", "auto": "mean", "sum": "sum",
               "none": "none", None: "none"}


# --- the parts every loss shares: reduction forward, its gradient backward ------------------------

def _reduce(ctx, per_sample, weight, reduction, out_dtype):
    """Weight the per-sample losses and reduce them; remember what backward needs."""
    ctx.per_sample_shape = per_sample.shape
    ctx.weight = weight
    ctx.reduction = reduction
    if weight is not None:
        per_sample = per_sample * weight
    if reduction == "none":
        return per_sample.astype(out_dtype, copy=False)
    total = per_sample.sum()
    if reduction == "mean":
        total = total / max(per_sample.size, 1)
    return ctx.xp.asarray(total, dtype=out_dtype)


def _per_sample_grad(ctx, grad, dtype):
    """d(result)/d(each per-sample loss): the upstream gradient spread back over the samples."""
    g = grad.astype(dtype, copy=False)
    if ctx.reduction == "mean":
        g = g / max(int(np.prod(ctx.per_sample_shape)), 1)
    if ctx.weight is not None:
        g = g * ctx.weight
    return ctx.xp.broadcast_to(g, ctx.per_sample_shape)


def _features(ctx, y_pred, y_true, dtype):
    """``y_pred`` (in ``dtype``) and ``y_true`` as ``(samples..., features)``: a 1-D or 0-d
    input is one feature per sample. Keeps ``y_pred``'s shape for backward."""
    ctx.input_shape = y_pred.shape
    if y_pred.ndim < 2:
        y_pred, y_true = y_pred.reshape(y_pred.shape + (1,)), y_true.reshape(y_true.shape + (1,))
    return y_pred.astype(dtype, copy=False), y_true


# --- regression -----------------------------------------------------------------------------------

class SquaredError(Function):
    """Fused ``mean_squared_error``: mean over the last axis of ``(y_pred - y_true)^2``."""

    @staticmethod
    def forward(ctx, y_pred, y_true, weight, reduction, dtype):
        x, t = _features(ctx, y_pred, y_true, dtype)
        diff = x - t
        ctx.save_for_backward(diff)
        return _reduce(ctx, (diff * diff).mean(axis=-1), weight, reduction, y_pred.dtype)

    @staticmethod
    def backward(ctx, grad):
        (diff,) = ctx.saved
        g = _per_sample_grad(ctx, grad, diff.dtype)[..., None]
        # d/dy_pred of mean_j (y_pred_j - y_true_j)^2 = 2 (y_pred_j - y_true_j) / F
        return (g * (2 / diff.shape[-1]) * diff).reshape(ctx.input_shape)


class AbsoluteError(Function):
    """Fused ``mean_absolute_error``: mean over the last axis of ``|y_pred - y_true|``."""

    @staticmethod
    def forward(ctx, y_pred, y_true, weight, reduction, dtype):
        x, t = _features(ctx, y_pred, y_true, dtype)
        diff = x - t
        ctx.save_for_backward(diff)
        return _reduce(ctx, ctx.xp.abs(diff).mean(axis=-1), weight, reduction, y_pred.dtype)

    @staticmethod
    def backward(ctx, grad):
        (diff,) = ctx.saved
        g = _per_sample_grad(ctx, grad, diff.dtype)[..., None]
        # d|d|/dd = sign(d), 0 at d == 0 (as PyTorch's l1_loss)
        return (g * ctx.xp.sign(diff) / diff.shape[-1]).reshape(ctx.input_shape)


class HuberError(Function):
    """Fused ``huber``: per element ``e^2 / 2`` where ``|e| <= delta``, else
    ``delta (|e| - delta / 2)``, ``e = y_pred - y_true``; mean over the last axis."""

    @staticmethod
    def forward(ctx, y_pred, y_true, weight, reduction, dtype, delta):
        xp = ctx.xp
        x, t = _features(ctx, y_pred, y_true, dtype)
        diff = x - t
        size = xp.abs(diff)
        quadratic = size <= delta
        loss = xp.where(quadratic, 0.5 * diff * diff, delta * size - 0.5 * delta * delta)
        ctx.save_for_backward(diff, quadratic)
        ctx.delta = delta
        return _reduce(ctx, loss.mean(axis=-1), weight, reduction, y_pred.dtype)

    @staticmethod
    def backward(ctx, grad):
        xp = ctx.xp
        diff, quadratic = ctx.saved
        g = _per_sample_grad(ctx, grad, diff.dtype)[..., None]
        # d/de e^2 / 2 = e inside; d/de delta (|e| - delta / 2) = delta sign(e) outside
        d = xp.where(quadratic, diff, ctx.delta * xp.sign(diff))
        return (g * d / diff.shape[-1]).reshape(ctx.input_shape)


# --- divergence between distributions -------------------------------------------------------------

class KLDivergence(Function):
    """Fused ``kl_divergence``: ``sum(t log(t / p))`` over the last axis, with ``t`` and ``p``
    clipped to ``[eps, 1]`` first (Keras's rule)."""

    @staticmethod
    def forward(ctx, y_pred, y_true, weight, reduction, dtype):
        xp = ctx.xp
        p, t = _features(ctx, y_pred, y_true, dtype)
        t = xp.clip(t, EPSILON, 1)
        q = xp.clip(p, EPSILON, 1)
        ctx.save_for_backward(q, t, q == p)  # q == p: where the clip lets the gradient through
        return _reduce(ctx, (t * xp.log(t / q)).sum(axis=-1), weight, reduction, y_pred.dtype)

    @staticmethod
    def backward(ctx, grad):
        q, t, unclipped = ctx.saved
        g = _per_sample_grad(ctx, grad, q.dtype)[..., None]
        # d/dq t (log t - log q) = -t / q; 0 where clipped
        return (g * ctx.xp.where(unclipped, -t / q, 0)).reshape(ctx.input_shape)


# --- binary cross-entropy -------------------------------------------------------------------------

class SigmoidBinaryCrossentropy(Function):
    """Fused ``binary_crossentropy(from_logits=True)``: ``softplus(x) - t x``, mean over the
    last axis."""

    @staticmethod
    def forward(ctx, y_pred, y_true, weight, reduction, dtype):
        xp = ctx.xp
        x, t = _features(ctx, y_pred, y_true, dtype)
        # -(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))) = log(1 + e^x) - t x,
        # with log(1 + e^x) = max(x, 0) + log(1 + e^-|x|): no overflow for x = 1e4.
        loss = xp.maximum(x, 0) - t * x + xp.log1p(xp.exp(-xp.abs(x)))
        ctx.save_for_backward(x, t)
        return _reduce(ctx, loss.mean(axis=-1), weight, reduction, y_pred.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved
        g = _per_sample_grad(ctx, grad, x.dtype)[..., None]
        # d/dx (log(1 + e^x) - t x) = sigmoid(x) - t
        return (g * (stable_sigmoid(ctx.xp, x) - t) / x.shape[-1]).reshape(ctx.input_shape)


class ClippedBinaryCrossentropy(Function):
    """Fused ``binary_crossentropy`` on probabilities ``p`` clipped to ``[eps, 1 - eps]``:
    ``-(t log p + (1 - t) log(1 - p))``, mean over the last axis."""

    @staticmethod
    def forward(ctx, y_pred, y_true, weight, reduction, dtype):
        xp = ctx.xp
        p, t = _features(ctx, y_pred, y_true, dtype)
        q = xp.clip(p, EPSILON, 1 - EPSILON)
        loss = -(t * xp.log(q) + (1 - t) * xp.log(1 - q))
        ctx.save_for_backward(q, t, q == p)  # q == p: where the clip lets the gradient through
        return _reduce(ctx, loss.mean(axis=-1), weight, reduction, y_pred.dtype)

    @staticmethod
    def backward(ctx, grad):
        q, t, unclipped = ctx.saved
        g = _per_sample_grad(ctx, grad, q.dtype)[..., None]
        # d/dq -(t log q + (1 - t) log(1 - q)) = (q - t) / (q (1 - q)); 0 where clipped
        d = ctx.xp.where(unclipped, (q - t) / (q * (1 - q)), 0)
        return (g * d / q.shape[-1]).reshape(ctx.input_shape)


# --- categorical cross-entropy (one-hot or probability targets) -----------------------------------

def _normalized(xp, p):
    """``p / sum(p)`` over the last axis, as Keras does before clipping; a row that sums to 0
    is left as it is (and then clipped), not divided by 0."""
    total = xp.sum(p, axis=-1, keepdims=True)
    total = xp.where(total != 0, total, 1)
    return p / total, total


class SoftmaxCrossentropy(Function):
    """Fused ``categorical_crossentropy(from_logits=True)``: ``-sum(t * log_softmax(x))`` over
    the classes (the last axis; the public function moves the class axis there). The per-row
    losses and their gradient are a backend kernel (``ctx.backend.softmax_cross_entropy``)."""

    @staticmethod
    def forward(ctx, y_pred, y_true, weight, reduction, dtype, axis):
        xp = ctx.xp
        x = xp.moveaxis(y_pred.astype(dtype, copy=False), axis, -1)
        t = xp.moveaxis(y_true, axis, -1)
        per_sample, softmax = ctx.backend.softmax_cross_entropy(x, t)
        ctx.save_for_backward(softmax, t)  # softmax: what the backend's backward needs
        ctx.axis, ctx.dtype = axis, dtype
        return _reduce(ctx, per_sample, weight, reduction, y_pred.dtype)

    @staticmethod
    def backward(ctx, grad):
        softmax, t = ctx.saved
        g = _per_sample_grad(ctx, grad, ctx.dtype)
        # d/dx_j -sum_k t_k log_softmax(x)_k = softmax(x)_j sum_k t_k - t_j
        d = ctx.backend.softmax_cross_entropy_backward(softmax, t, g)
        return ctx.xp.moveaxis(d, -1, ctx.axis)


class ClippedCategoricalCrossentropy(Function):
    """Fused ``categorical_crossentropy`` on probabilities: ``p = y_pred / sum(y_pred)``,
    clipped to ``[eps, 1 - eps]``, then ``-sum(t * log p)`` over the classes."""

    @staticmethod
    def forward(ctx, y_pred, y_true, weight, reduction, dtype, axis):
        xp = ctx.xp
        x = xp.moveaxis(y_pred.astype(dtype, copy=False), axis, -1)
        t = xp.moveaxis(y_true, axis, -1)
        p, total = _normalized(xp, x)
        q = xp.clip(p, EPSILON, 1 - EPSILON)
        ctx.save_for_backward(p, q, t, total)
        ctx.axis = axis
        return _reduce(ctx, -(t * xp.log(q)).sum(axis=-1), weight, reduction, y_pred.dtype)

    @staticmethod
    def backward(ctx, grad):
        xp = ctx.xp
        p, q, t, total = ctx.saved
        g = _per_sample_grad(ctx, grad, p.dtype)[..., None]
        d_p = xp.where(q == p, -t / q, 0)  # d loss / d p, 0 where clipped
        # through p = y / sum(y): d loss / d y_j = (d_p_j - sum_k d_p_k p_k) / sum(y)
        d = (d_p - (d_p * p).sum(axis=-1, keepdims=True)) / total
        return xp.moveaxis(g * d, -1, ctx.axis)


# --- sparse categorical cross-entropy (integer labels) --------------------------------------------

class SparseSoftmaxCrossentropy(Function):
    """Fused ``sparse_categorical_crossentropy(from_logits=True)``: ``-log_softmax(x)[label]``,
    a backend kernel (``ctx.backend.sparse_softmax_cross_entropy``)."""

    @staticmethod
    def forward(ctx, y_pred, labels, weight, reduction, dtype, axis):
        x = ctx.xp.moveaxis(y_pred.astype(dtype, copy=False), axis, -1)
        per_sample, softmax = ctx.backend.sparse_softmax_cross_entropy(x, labels)
        ctx.save_for_backward(softmax, labels)
        ctx.axis, ctx.dtype = axis, dtype
        return _reduce(ctx, per_sample, weight, reduction, y_pred.dtype)

    @staticmethod
    def backward(ctx, grad):
        softmax, labels = ctx.saved
        g = _per_sample_grad(ctx, grad, ctx.dtype)
        # d/dx_j -log_softmax(x)_label = softmax(x)_j - [j == label]
        d = ctx.backend.sparse_softmax_cross_entropy_backward(softmax, labels, g)
        return ctx.xp.moveaxis(d, -1, ctx.axis)


class ClippedSparseCategoricalCrossentropy(Function):
    """Fused ``sparse_categorical_crossentropy`` on probabilities: ``p = y_pred / sum(y_pred)``,
    then ``-log(clip(p[label], eps, 1 - eps))``."""

    @staticmethod
    def forward(ctx, y_pred, labels, weight, reduction, dtype, axis):
        xp = ctx.xp
        x = xp.moveaxis(y_pred.astype(dtype, copy=False), axis, -1)
        p, total = _normalized(xp, x)
        p_label = xp.take_along_axis(p, labels[..., None], axis=-1)[..., 0]
        q_label = xp.clip(p_label, EPSILON, 1 - EPSILON)
        ctx.save_for_backward(p, p_label, q_label, labels, total)
        ctx.axis = axis
        return _reduce(ctx, -xp.log(q_label), weight, reduction, y_pred.dtype)

    @staticmethod
    def backward(ctx, grad):
        xp = ctx.xp
        p, p_label, q_label, labels, total = ctx.saved
        g = _per_sample_grad(ctx, grad, p.dtype)
        # d loss / d p_label = -1 / q (0 where clipped); through p = y / sum(y):
        # d loss / d y_j = (d loss / d p_label) ([j == label] - p_label) / sum(y)
        c = xp.where(q_label == p_label, -1 / q_label, 0) * g
        one_hot = xp.arange(p.shape[-1]) == labels[..., None]
        d = c[..., None] * (one_hot - p_label[..., None]) / total
        return xp.moveaxis(d, -1, ctx.axis)


# --- the public functions: check and convert the arguments, then call the fused op ----------------

def mean_squared_error(y_true, y_pred, sample_weight=None, reduction="mean"):
    """Mean squared error, Keras's ``mean_squared_error`` (``"mse"``): per sample
    ``mean((y_true - y_pred) ** 2, axis=-1)``, then weighted and reduced.

    Shapes: ``y_pred`` ``(N, ..., D)`` or ``(N,)``; ``y_true`` the same shape, or that shape
    without a last axis of size 1 (``(N,)`` beside ``(N, 1)``); ``sample_weight`` ``(N, ...)``
    (one weight per sample) or a scalar. Returns a scalar, or ``(N, ...)`` for
    ``reduction="none"``, of ``y_pred``'s dtype.

    >>> mg.mean_squared_error(mg.tensor([[0.0, 1.0], [1.0, 1.0]]),
    ...                       mg.tensor([[1.0, 1.0], [1.0, 0.0]]))
    tensor(0.5)
    """
    return _pointwise(SquaredError, "mean_squared_error", y_true, y_pred, sample_weight,
                      reduction)


def mean_absolute_error(y_true, y_pred, sample_weight=None, reduction="mean"):
    """Mean absolute error, Keras's ``mean_absolute_error`` (``"mae"``): per sample
    ``mean(abs(y_true - y_pred), axis=-1)``, then weighted and reduced. Shapes as
    :func:`mean_squared_error`. The gradient at ``y_pred == y_true`` is 0.

    >>> mg.mean_absolute_error(mg.tensor([1.0, 2.0]), mg.tensor([2.0, 4.0]), reduction="none")
    tensor([1., 2.])
    """
    return _pointwise(AbsoluteError, "mean_absolute_error", y_true, y_pred, sample_weight,
                      reduction)


def huber(y_true, y_pred, delta=1.0, sample_weight=None, reduction="mean"):
    """Huber loss, Keras's ``huber`` (``Huber``): per element, with ``e = y_pred - y_true``,
    ``e^2 / 2`` where ``|e| <= delta`` and ``delta * (|e| - delta / 2)`` beyond; the mean over
    the last axis per sample, then weighted and reduced. Quadratic near 0, linear (gradient
    ``delta * sign(e)``) for large errors, so outliers pull less than with the squared error.

    Shapes as :func:`mean_squared_error`; ``delta`` a positive number (default 1).

    >>> mg.huber(mg.tensor([[0.0, 1.0], [0.0, 0.0]]), mg.tensor([[0.6, 0.4], [0.4, 0.6]]))
    tensor(0.155)
    """
    name = "huber"
    delta = float(delta)
    if not delta > 0:
        raise ValueError(f"{name}: delta must be a positive number, got {delta}")
    return _pointwise(HuberError, name, y_true, y_pred, sample_weight, reduction, delta=delta)


def kl_divergence(y_true, y_pred, sample_weight=None, reduction="mean"):
    """Kullback-Leibler divergence, Keras's ``kl_divergence`` (``"kld"``, ``KLDivergence``):
    per sample ``sum(t * log(t / p))`` over the last axis, with ``t = clip(y_true, 1e-7, 1)``
    and ``p = clip(y_pred, 1e-7, 1)`` (gradient 0 where ``y_pred`` is clipped), then weighted
    and reduced.

    Both arguments hold probability distributions over the last axis, of one shape (``(N, C)``),
    ``y_true`` the target one. PyTorch's ``kl_div(input, target)`` takes the *log* of the
    prediction first and does not clip.

    >>> y_true = mg.tensor([[0.5, 0.5]])
    >>> round(float(mg.kl_divergence(y_true, mg.tensor([[0.25, 0.75]]))), 6)
    0.143841
    """
    return _pointwise(KLDivergence, "kl_divergence", y_true, y_pred, sample_weight, reduction)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1,
                        sample_weight=None, reduction="mean"):
    """Binary cross-entropy, Keras's ``binary_crossentropy``: per element
    ``-(t log p + (1 - t) log(1 - p))``, averaged over the last axis per sample, then weighted
    and reduced.

    ``y_pred`` holds probabilities (clipped to ``[1e-7, 1 - 1e-7]``, gradient 0 where clipped)
    or, with ``from_logits=True``, logits (``log(1 + e^x) - t x``, finite and exact for any
    logit). ``y_true`` holds targets in [0, 1], of ``y_pred``'s shape or that shape without a
    last axis of size 1 (labels ``(N,)`` for a model with one sigmoid unit, ``(N, 1)``).
    ``label_smoothing`` in [0, 1] squeezes the targets towards 0.5 first, as Keras does:
    ``t * (1 - label_smoothing) + label_smoothing / 2``. ``axis``: the axis of the mean; only
    the last one (Keras's default) is supported.

    >>> y_true = mg.tensor([1.0, 0.0])
    >>> loss = mg.binary_crossentropy(y_true, mg.tensor([1e4, -1e4]), from_logits=True)
    >>> float(loss)
    0.0
    """
    name = "binary_crossentropy"
    smoothing = _label_smoothing(label_smoothing, name)
    ndim = getattr(y_pred, "ndim", np.ndim(y_pred))
    if not isinstance(axis, (int, np.integer)) or axis not in (-1, max(ndim - 1, 0)):
        raise ValueError(f"{name}: only axis=-1 (the last axis, Keras's default) is supported, "
                         f"got axis={axis!r}")
    op = SigmoidBinaryCrossentropy if from_logits else ClippedBinaryCrossentropy
    smooth = (lambda t: t * (1 - smoothing) + 0.5 * smoothing) if smoothing else None
    return _pointwise(op, name, y_true, y_pred, sample_weight, reduction, smooth=smooth)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1,
                             sample_weight=None, reduction="mean"):
    """Categorical cross-entropy, Keras's ``categorical_crossentropy``: per sample
    ``-sum(y_true * log p)`` over the class axis, then weighted and reduced.

    ``y_true`` holds one-hot labels (or any probability distributions) of ``y_pred``'s shape,
    e.g. ``(N, C)``. ``y_pred`` holds probabilities (as in Keras, divided by their sum and
    clipped to ``[1e-7, 1 - 1e-7]``) or, with ``from_logits=True``, logits (a log-softmax
    computed after subtracting the maximum: finite for any logit). ``axis``: the class axis.
    The per-sample losses have ``y_pred``'s shape without ``axis``. ``label_smoothing`` in
    [0, 1] mixes the targets with the uniform distribution first, as Keras does:
    ``t * (1 - label_smoothing) + label_smoothing / C`` for C classes.

    Arguments in PyTorch's order, ``(y_pred, y_true)``, are refused where that can be told
    reliably: a second argument that holds exact one-hot labels beside a first one that is not
    a probability distribution (logits) is an error; beside soft probabilities, a warning (a
    saturated softmax can give exact 0s and 1s, so it may be right). A ``y_pred`` that requires
    grad (a training step) is not checked: there a swap shows as a ``y_true`` that requires
    grad, which is refused.

    >>> y_true = mg.tensor([[0.0, 1.0, 0.0]])
    >>> round(float(mg.categorical_crossentropy(y_true, mg.tensor([[0.2, 0.5, 0.3]]))), 4)
    0.6931
    """
    name = "categorical_crossentropy"
    y_pred = _prediction(y_pred, y_true, name)
    axis = _class_axis(axis, y_pred, name)
    dtype = dtypes.compute_dtype(y_pred.dtype)
    y_true = _constant(y_true, y_pred, "y_true", name)
    if y_true.shape != y_pred.shape:
        hint = ""
        if y_true.shape in (_without(y_pred.shape, axis), _without(y_pred.shape, axis) + (1,)):
            hint = "; for integer class labels use sparse_categorical_crossentropy"
        raise ValueError(f"{name}: y_true (one-hot labels or probabilities) must have the shape "
                         f"of y_pred {tuple(y_pred.shape)}, got {tuple(y_true.shape)}{hint}"
                         f"{ARGUMENT_ORDER}")
    smoothing = _label_smoothing(label_smoothing, name)
    _check_not_swapped(y_true, y_pred, axis, from_logits, name)
    y_true = y_true.astype(dtype, copy=False)
    if smoothing:
        y_true = y_true * (1 - smoothing) + smoothing / y_pred.shape[axis]
    per_sample = _without(y_pred.shape, axis)
    weight = _sample_weight(sample_weight, per_sample, y_pred, dtype, name)
    op = SoftmaxCrossentropy if from_logits else ClippedCategoricalCrossentropy
    return op.apply(y_pred, y_true=y_true, weight=weight, reduction=_reduction(reduction, name),
                    dtype=dtype, axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1,
                                    sample_weight=None, reduction="mean"):
    """Categorical cross-entropy with integer labels, Keras's
    ``sparse_categorical_crossentropy``: per sample ``-log p[label]``, then weighted and
    reduced.

    ``y_true`` holds one class index in ``[0, C)`` per sample: shape ``(N,)`` (or ``(N, 1)``)
    for ``y_pred`` ``(N, C)``; in general ``y_pred``'s shape without the class ``axis``. Integer
    dtypes, or floats with integer values. ``y_pred`` holds probabilities (divided by their sum
    and clipped to ``[1e-7, 1 - 1e-7]``, as in Keras) or, with ``from_logits=True``, logits
    (``logsumexp(x) - x[label]``, finite for any logit). The loss and its gradient have
    ``y_pred``'s dtype.

    >>> logits = mg.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]], requires_grad=True)
    >>> loss = mg.sparse_categorical_crossentropy([0, 2], logits, from_logits=True)
    >>> loss.backward()
    >>> logits.grad.dtype
    dtype('float32')
    """
    name = "sparse_categorical_crossentropy"
    y_pred = _prediction(y_pred, y_true, name)
    axis = _class_axis(axis, y_pred, name)
    dtype = dtypes.compute_dtype(y_pred.dtype)
    labels = _class_labels(_constant(y_true, y_pred, "y_true", name), y_pred, axis, name)
    weight = _sample_weight(sample_weight, labels.shape, y_pred, dtype, name)
    op = SparseSoftmaxCrossentropy if from_logits else ClippedSparseCategoricalCrossentropy
    return op.apply(y_pred, labels=labels, weight=weight, reduction=_reduction(reduction, name),
                    dtype=dtype, axis=axis)


# --- argument checks ----------------------------------------------------------------------------

def _pointwise(op, name, y_true, y_pred, sample_weight, reduction, smooth=None, **options):
    """Check and convert the arguments of a loss whose per-sample value is over the last axis,
    then apply ``op`` (with ``options``); ``smooth`` transforms the targets first."""
    y_pred = _prediction(y_pred, y_true, name)
    dtype = dtypes.compute_dtype(y_pred.dtype)
    y_true = _constant(y_true, y_pred, "y_true", name)
    shape = tuple(y_pred.shape)
    # Keras's squeeze_or_expand_to_same_rank: labels (N,) beside predictions (N, 1), and back.
    if y_true.ndim == len(shape) - 1 and shape[-1] == 1:
        y_true = y_true.reshape(y_true.shape + (1,))
    elif y_true.ndim == len(shape) + 1 and y_true.shape[-1] == 1:
        y_true = y_true.reshape(y_true.shape[:-1])
    if tuple(y_true.shape) != shape:
        raise ValueError(f"{name}: y_true must have the shape of y_pred {shape} (or that shape "
                         f"without a last axis of size 1), got {tuple(y_true.shape)}"
                         f"{ARGUMENT_ORDER}")
    per_sample = shape if len(shape) < 2 else shape[:-1]
    weight = _sample_weight(sample_weight, per_sample, y_pred, dtype, name)
    y_true = y_true.astype(dtype, copy=False)
    if smooth is not None:
        y_true = smooth(y_true)
    return op.apply(y_pred, y_true=y_true, weight=weight,
                    reduction=_reduction(reduction, name), dtype=dtype, **options)


#: Appended to the errors that swapped arguments cause: PyTorch users write loss(input, target).
ARGUMENT_ORDER = (" (losses take (y_true, y_pred), targets first, in Keras's order; PyTorch's "
                  "take (input, target): are the arguments swapped?)")


def _prediction(y_pred, y_true, name):
    """``y_pred`` as a floating tensor; integer predictions beside floating targets are labels
    passed second (PyTorch's order), an error rather than a silent conversion."""
    if not isinstance(y_pred, Tensor):
        y_pred = as_tensor(y_pred)
    if y_pred.dtype.kind in "biu" and _dtype_kind(y_true) == "f":
        raise ValueError(f"{name}: y_pred has dtype {y_pred.dtype}: it holds labels, not "
                         f"predictions{ARGUMENT_ORDER}")
    return float_operand(y_pred)


def _dtype_kind(value):
    dtype = getattr(value, "dtype", None)
    return np.dtype(dtype).kind if dtype is not None else None


def _constant(value, y_pred, what, name):
    """``value`` as a raw array on ``y_pred``'s device, outside the graph."""
    if isinstance(value, Tensor) and value.requires_grad:
        order = ARGUMENT_ORDER if what == "y_true" else ""
        raise ValueError(f"{name}: {what} requires grad, but a loss treats it as a constant "
                         f"(no gradient flows to it){order}; if it really is computed, pass "
                         f"{what}.detach()")
    return array_beside(value, y_pred, name, what)


def _label_smoothing(label_smoothing, name):
    """``label_smoothing`` as a float in [0, 1]."""
    try:
        smoothing = float(label_smoothing)
    except (TypeError, ValueError):
        smoothing = None
    if smoothing is None or not 0 <= smoothing <= 1:
        raise ValueError(f"{name}: label_smoothing must be a number in [0, 1], got "
                         f"{label_smoothing!r}")
    return smoothing


def _check_not_swapped(y_true, y_pred, axis, from_logits, name):
    """Refuse ``categorical_crossentropy(y_pred, y_true)``, PyTorch's order, where it shows:
    the second argument holds exact one-hot labels (every entry 0 or 1, one 1 per sample) and
    the first does not. Targets outside [0, 1] (logits) make it certain: an error. Soft
    probabilities beside one-hot probabilities make it likely (but a saturated softmax gives
    exact 0s and 1s): a warning; beside logits that happen to be 0s and 1s (a toy example),
    nothing. Soft labels beside real predictions or logits pass: those are never all exactly
    one-hot."""
    if y_pred.requires_grad:
        # a computed prediction: swapped labels would not require grad (and a y_true that does
        # is refused earlier), so training steps skip the check and its device sync
        return
    xp = y_pred._backend.xp
    p = y_pred.data
    one_hot = ((p == 0) | (p == 1)) & (p.sum(axis=axis, keepdims=True) == 1)
    if p.size == 0 or not bool(xp.all(one_hot)):
        return
    if bool(xp.all((y_true == 0) | (y_true == 1))):
        return  # one-hot beside one-hot: nothing to tell
    if bool(xp.any((y_true < 0) | (y_true > 1))):
        raise ValueError(f"{name}: y_pred holds exact one-hot labels and y_true values outside "
                         f"[0, 1] (logits?){ARGUMENT_ORDER}")
    if from_logits:
        return
    warnings.warn(f"{name}: y_pred holds exact one-hot labels and y_true soft probabilities"
                  f"{ARGUMENT_ORDER} (if y_pred really is a saturated softmax, ignore this)",
                  stacklevel=3)


def _reduction(reduction, name):
    try:
        return REDUCTIONS[reduction]
    except (KeyError, TypeError):
        raise ValueError(f"{name}: reduction must be 'mean' (or Keras's 'sum_over_batch_size'), "
                         f"'sum' or 'none', got {reduction!r}") from None


def _sample_weight(sample_weight, per_sample_shape, y_pred, dtype, name):
    """``sample_weight`` as an array that broadcasts to the per-sample losses, or None."""
    if sample_weight is None:
        return None
    weight = _constant(sample_weight, y_pred, "sample_weight", name).astype(dtype, copy=False)
    return match_sample_weight(weight, tuple(per_sample_shape), name)


def match_sample_weight(weight, per_sample_shape, name):
    """Keras's rules for sample weights beside per-sample losses of ``per_sample_shape``: a
    scalar; that shape; that shape plus a last axis of size 1 (dropped); or a leading part of it,
    e.g. ``(N,)`` beside ``(N, T)`` (given trailing axes of size 1). Raises a ValueError naming
    both shapes otherwise. Works on NumPy and CuPy arrays."""
    given = tuple(weight.shape)
    if weight.ndim == len(per_sample_shape) + 1 and given[-1] == 1:
        weight = weight.reshape(given[:-1])
    if 0 < weight.ndim < len(per_sample_shape):
        weight = weight.reshape(weight.shape + (1,) * (len(per_sample_shape) - weight.ndim))
    try:
        fits = np.broadcast_shapes(weight.shape, per_sample_shape) == per_sample_shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{name}: sample_weight must hold one weight per sample, shape "
                         f"{per_sample_shape} (or a scalar), got {given}")
    return weight


def _class_axis(axis, y_pred, name):
    if y_pred.ndim == 0:
        raise ValueError(f"{name}: y_pred must have a class axis, got a 0-d tensor")
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name}: axis must be an int (the class axis), got {axis!r}")
    return normalize_axes(int(axis), y_pred.ndim)[0]


def _without(shape, axis):
    return tuple(shape[:axis]) + tuple(shape[axis + 1:])


def _class_labels(labels, y_pred, axis, name):
    """Integer class labels of y_pred's shape without ``axis``, checked to be in [0, C)."""
    expected = _without(y_pred.shape, axis)
    if labels.shape != expected and labels.ndim == y_pred.ndim and labels.shape[axis] == 1:
        labels = labels.reshape(expected)  # Keras accepts (N, 1) labels
    if labels.shape != expected:
        hint = ("; these look like one-hot labels: use categorical_crossentropy"
                if labels.shape == y_pred.shape else "")
        raise ValueError(f"{name}: y_true must hold one integer class label per sample, of shape "
                         f"{expected} for y_pred of shape {tuple(y_pred.shape)} (classes on axis "
                         f"{axis}), got {tuple(labels.shape)}{hint}{ARGUMENT_ORDER}")
    xp = y_pred._backend.xp
    kind = labels.dtype.kind
    if kind == "f":
        if labels.size and not bool(xp.all(labels == xp.floor(labels))):
            raise ValueError(f"{name}: y_true must hold integer class labels, got {labels.dtype} "
                             f"values that are not whole numbers")
        labels = labels.astype(np.int64)
    elif kind not in "iu":
        raise TypeError(f"{name}: y_true must hold integer class labels, got dtype {labels.dtype}")
    classes = y_pred.shape[axis]
    if labels.size:
        low, high = value_range(labels, y_pred._backend)
        if low < 0 or high >= classes:
            bad = low if low < 0 else high
            raise ValueError(f"{name}: class labels must be in [0, {classes}) for y_pred with "
                             f"{classes} classes on axis {axis}, got label {bad}")
    return labels
