"""Loss objects with Keras's names, for ``model.compile(loss=...)`` and for training loops:
``loss = MeanSquaredError(); value = loss(y_true, y_pred, sample_weight=None)``.

Each built-in class calls one fused op of :mod:`minigrad.functional.losses` (the per-sample
loss, the weighting and the reduction in one graph node). :func:`get` turns what a user passes to
``compile`` (a name, a class name, a function or an object) into a loss object.
"""

from .. import functional as F
from ..autograd.tensor import Tensor
from ..functional.losses import REDUCTIONS, match_sample_weight
from .naming import snake_case


class Loss:
    """Base class of losses: ``loss(y_true, y_pred, sample_weight=None)`` returns a scalar
    tensor (or the per-sample losses with ``reduction="none"``).

    A subclass defines :meth:`call`, the per-sample losses; ``__call__`` then applies the
    sample weights and the reduction with ordinary (differentiable) ops::

        class Huber(mg.nn.losses.Loss):
            def call(self, y_true, y_pred):
                error = mg.abs(y_pred - y_true)
                return mg.where(error < 1, 0.5 * error * error, error - 0.5).mean(axis=-1)

    Args:
        reduction: ``"mean"`` (Keras's ``"sum_over_batch_size"``: the weighted sum divided by
            the number of samples), ``"sum"`` or ``"none"``.
        name: a name for logs and saved configs (default: the snake-case class name).
    """

    def __init__(self, reduction="mean", name=None):
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be 'mean' (or Keras's "
                             f"'sum_over_batch_size'), 'sum' or 'none', got {reduction!r}")
        self.reduction = REDUCTIONS[reduction]
        self.name = name or snake_case(type(self).__name__)

    def __call__(self, y_true, y_pred, sample_weight=None):
        losses = self.call(y_true, y_pred)
        if not isinstance(losses, Tensor):
            raise TypeError(f"{type(self).__name__}.call must return a tensor of per-sample "
                            f"losses, got {type(losses).__name__}")
        sample_weight = masked_sample_weight(y_pred, sample_weight, self.reduction, self.name)
        if sample_weight is not None:
            weight = sample_weight.detach().data if isinstance(sample_weight, Tensor) \
                else losses._backend.asarray(sample_weight)
            weight = match_sample_weight(weight.astype(losses.dtype, copy=False),
                                         tuple(losses.shape), self.name)
            losses = losses * Tensor._make(weight, losses._backend)
        if self.reduction == "none":
            return losses
        total = losses.sum()
        return total / max(losses.size, 1) if self.reduction == "mean" else total

    def call(self, y_true, y_pred):
        """The per-sample losses, a tensor (e.g. of shape ``(N,)``); defined by subclasses."""
        raise NotImplementedError(f"{type(self).__name__} must define call(y_true, y_pred)")

    def get_config(self):
        """The constructor arguments, a JSON-serializable dict (``cls(**config)`` rebuilds it)."""
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        """A loss built from :meth:`get_config`'s dict."""
        return cls(**config)

    def __repr__(self):
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


def masked_sample_weight(y_pred, sample_weight, reduction, name):
    """The sample weights with the mask of ``y_pred`` folded in (Keras's ``apply_mask``), or
    ``sample_weight`` unchanged when ``y_pred`` carries no mask.

    A model whose output keeps a mask (``Embedding(mask_zero=True)`` ... ``LSTM(...,
    return_sequences=True)``) attaches it to its output, (N, T) beside per-step losses (N, T).
    Padded steps weigh 0; with the ``"mean"`` reduction the real ones weigh ``total / valid``,
    so that the mean is over the real steps alone: ``sum(w * loss) / valid``.
    """
    mask = getattr(y_pred, "_keras_mask", None)
    if mask is None:
        return sample_weight
    backend = y_pred._backend
    mask = (mask.data if isinstance(mask, Tensor) else backend.asarray(mask)).astype(y_pred.dtype)
    if reduction == "mean":
        # All padding (valid = 0) gives weights 0 (Keras's divide_no_nan), without a sync.
        mask = mask * (mask.size / backend.xp.maximum(mask.sum(), 1))
    if sample_weight is None:
        return mask
    weight = sample_weight.detach().data if isinstance(sample_weight, Tensor) \
        else backend.asarray(sample_weight)
    return mask * match_sample_weight(weight.astype(mask.dtype, copy=False), mask.shape, name)


class LossFunctionWrapper(Loss):
    """A loss object around a function ``fn(y_true, y_pred, **kwargs)`` that returns per-sample
    losses; ``compile(loss=my_function)`` wraps the function in one of these.

    >>> def squared_log_error(y_true, y_pred):
    ...     return ((mg.log(y_pred + 1) - mg.log(y_true + 1)) ** 2).mean(axis=-1)
    >>> loss = mg.nn.losses.LossFunctionWrapper(squared_log_error)
    >>> loss(mg.tensor([[0.0], [1.0]]), mg.tensor([[0.0], [1.0]]))
    tensor(0.)
    """

    def __init__(self, fn, reduction="mean", name=None, **kwargs):
        super().__init__(reduction=reduction, name=name or getattr(fn, "__name__", None))
        self.fn = fn
        self.fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        """``fn(y_true, y_pred, **kwargs)``."""
        return self.fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self):
        """``name``, ``reduction`` and the extra keyword arguments (the function itself cannot be
        saved in a config: :func:`serialize` refuses it)."""
        return {"name": self.name, "reduction": self.reduction, **self.fn_kwargs}


class _FusedLoss(Loss):
    """A built-in loss: the whole computation is one fused op of ``minigrad.functional``."""

    _fn = None

    def __call__(self, y_true, y_pred, sample_weight=None):
        sample_weight = masked_sample_weight(y_pred, sample_weight, self.reduction, self.name)
        return type(self)._fn(y_true, y_pred, sample_weight=sample_weight,
                             reduction=self.reduction, **self._options())

    def call(self, y_true, y_pred):
        """The per-sample losses (the fused op with ``reduction="none"``)."""
        return type(self)._fn(y_true, y_pred, reduction="none", **self._options())

    def _options(self):
        return {}


class MeanSquaredError(_FusedLoss):
    """``mean((y_true - y_pred) ** 2, axis=-1)`` per sample, see
    :func:`~minigrad.functional.mean_squared_error` (``"mse"``).

    >>> mse = mg.nn.losses.MeanSquaredError()
    >>> mse(mg.tensor([1.0, 2.0]), mg.tensor([1.0, 4.0]))
    tensor(2.)
    """

    _fn = staticmethod(F.mean_squared_error)

    def __init__(self, reduction="mean", name="mean_squared_error"):
        super().__init__(reduction=reduction, name=name)


class MeanAbsoluteError(_FusedLoss):
    """``mean(abs(y_true - y_pred), axis=-1)`` per sample, see
    :func:`~minigrad.functional.mean_absolute_error` (``"mae"``)."""

    _fn = staticmethod(F.mean_absolute_error)

    def __init__(self, reduction="mean", name="mean_absolute_error"):
        super().__init__(reduction=reduction, name=name)


class Huber(_FusedLoss):
    """The Huber loss, quadratic for errors up to ``delta`` and linear beyond, see
    :func:`~minigrad.functional.huber` (``"huber"``; Keras names the object ``"huber_loss"``).

    Args:
        delta: where the loss turns from quadratic to linear (default 1).

    >>> loss = mg.nn.losses.Huber(delta=1.0)
    >>> loss(mg.tensor([[0.0], [0.0]]), mg.tensor([[0.5], [3.0]]))
    tensor(1.3125)
    """

    _fn = staticmethod(F.huber)

    def __init__(self, delta=1.0, reduction="mean", name="huber_loss"):
        super().__init__(reduction=reduction, name=name)
        if not float(delta) > 0:
            raise ValueError(f"Huber: delta must be a positive number, got {delta!r}")
        self.delta = float(delta)

    def _options(self):
        return {"delta": self.delta}

    def get_config(self):
        """``name``, ``reduction`` and ``delta``."""
        return {"name": self.name, "reduction": self.reduction, "delta": self.delta}


class KLDivergence(_FusedLoss):
    """The Kullback-Leibler divergence ``sum(y_true * log(y_true / y_pred))`` per sample, see
    :func:`~minigrad.functional.kl_divergence` (``"kl_divergence"``, ``"kld"``)."""

    _fn = staticmethod(F.kl_divergence)

    def __init__(self, reduction="mean", name="kl_divergence"):
        super().__init__(reduction=reduction, name=name)


class _CrossentropyLoss(_FusedLoss):
    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="mean",
                 name=None):
        super().__init__(reduction=reduction, name=name)
        self.from_logits = bool(from_logits)
        smoothing = float(label_smoothing)
        if not 0 <= smoothing <= 1:
            raise ValueError(f"{type(self).__name__}: label_smoothing must be a number in "
                             f"[0, 1], got {label_smoothing!r}")
        self.label_smoothing = smoothing
        self.axis = axis

    def _options(self):
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                "axis": self.axis}

    def get_config(self):
        """``name``, ``reduction``, ``from_logits``, ``label_smoothing`` and ``axis``."""
        return {"name": self.name, "reduction": self.reduction, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class BinaryCrossentropy(_CrossentropyLoss):
    """Binary cross-entropy for targets in [0, 1], see
    :func:`~minigrad.functional.binary_crossentropy`.

    Args:
        from_logits: ``y_pred`` holds logits (no sigmoid on the last layer) instead of
            probabilities; more accurate, and finite for any logit.
        label_smoothing: in [0, 1]; the targets become ``t * (1 - s) + s / 2`` (Keras's rule).
        axis: the axis the mean is over; only the last (-1, Keras's default) is supported.

    >>> bce = mg.nn.losses.BinaryCrossentropy(from_logits=True)
    >>> round(float(bce(mg.tensor([[1.0], [0.0]]), mg.tensor([[0.0], [0.0]]))), 4)
    0.6931
    """

    _fn = staticmethod(F.binary_crossentropy)

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="mean",
                 name="binary_crossentropy"):
        super().__init__(from_logits=from_logits, label_smoothing=label_smoothing, axis=axis,
                         reduction=reduction, name=name)


class CategoricalCrossentropy(_CrossentropyLoss):
    """Cross-entropy with one-hot (or probability) targets of ``y_pred``'s shape, see
    :func:`~minigrad.functional.categorical_crossentropy`.

    Args:
        from_logits: ``y_pred`` holds logits (no softmax on the last layer).
        label_smoothing: in [0, 1]; the targets become ``t * (1 - s) + s / C`` for C classes
            (Keras's rule).
        axis: the class axis (default: the last).

    >>> loss = mg.nn.losses.CategoricalCrossentropy(label_smoothing=0.2)
    >>> round(float(loss([[0.0, 1.0]], mg.tensor([[0.5, 0.5]]))), 4)
    0.6931
    """

    _fn = staticmethod(F.categorical_crossentropy)

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="mean",
                 name="categorical_crossentropy"):
        super().__init__(from_logits=from_logits, label_smoothing=label_smoothing, axis=axis,
                         reduction=reduction, name=name)


class SparseCategoricalCrossentropy(_FusedLoss):
    """Cross-entropy with integer class labels, ``(N,)`` beside ``y_pred`` ``(N, C)``, see
    :func:`~minigrad.functional.sparse_categorical_crossentropy`.

    Args:
        from_logits: ``y_pred`` holds logits (no softmax on the last layer).
        axis: the class axis of ``y_pred`` (default: the last).

    There is no ``label_smoothing`` (Keras 3 has none for sparse labels either): smooth one-hot
    labels with :class:`CategoricalCrossentropy` instead.

    >>> loss = mg.nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    >>> round(float(loss([2], mg.tensor([[0.0, 0.0, 0.0]]))), 4)
    1.0986
    """

    _fn = staticmethod(F.sparse_categorical_crossentropy)

    def __init__(self, from_logits=False, axis=-1, reduction="mean",
                 name="sparse_categorical_crossentropy"):
        super().__init__(reduction=reduction, name=name)
        self.from_logits = bool(from_logits)
        self.axis = axis

    def _options(self):
        return {"from_logits": self.from_logits, "axis": self.axis}

    def get_config(self):
        """``name``, ``reduction``, ``from_logits`` and ``axis``."""
        return {"name": self.name, "reduction": self.reduction, "from_logits": self.from_logits,
                "axis": self.axis}


#: The built-in loss classes: the ones :func:`serialize` can save.
BUILTIN_LOSSES = (MeanSquaredError, MeanAbsoluteError, BinaryCrossentropy,
                  CategoricalCrossentropy, SparseCategoricalCrossentropy, Huber, KLDivergence)
# Names are compared in lower case without underscores: "mean_squared_error", "MeanSquaredError"
# and "meansquarederror" are one name.
_BY_NAME = {cls.__name__.lower(): cls for cls in BUILTIN_LOSSES}
_BY_NAME.update({"mse": MeanSquaredError, "mae": MeanAbsoluteError, "kld": KLDivergence,
                 "bce": BinaryCrossentropy})
_BY_FUNCTION = {cls._fn: cls for cls in BUILTIN_LOSSES}


def get(identifier):
    """The loss object for what ``compile(loss=...)`` was given.

    - a name: ``"mse"``, ``"mean_squared_error"``, ``"mae"``, ``"mean_absolute_error"``,
      ``"binary_crossentropy"`` (``"bce"``), ``"categorical_crossentropy"``,
      ``"sparse_categorical_crossentropy"``, ``"huber"``, ``"kl_divergence"`` (``"kld"``), or a
      class name such as ``"MeanSquaredError"`` (in any case: Keras's ``"KLD"`` too);
    - a :class:`Loss` object (returned as it is) or class (instantiated);
    - a function of :mod:`minigrad.functional` above (its class, with default arguments), or
      any function ``fn(y_true, y_pred)`` returning per-sample losses (wrapped in a
      :class:`LossFunctionWrapper`);
    - a dict ``{"class_name": ..., "config": {...}}`` from :func:`serialize`;
    - None, returned as it is.

    >>> mg.nn.losses.get("sparse_categorical_crossentropy")
    SparseCategoricalCrossentropy(name='sparse_categorical_crossentropy', reduction='mean', \
from_logits=False, axis=-1)
    """
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        return _class_named(identifier)()
    if isinstance(identifier, dict):
        if "class_name" not in identifier:
            raise ValueError(f"a loss config must have a 'class_name', got {identifier!r}")
        return _class_named(identifier["class_name"]).from_config(identifier.get("config", {}))
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        cls = _BY_FUNCTION.get(identifier)
        return cls() if cls is not None else LossFunctionWrapper(identifier)
    raise TypeError(f"a loss must be a name, a Loss object or a function loss(y_true, y_pred), "
                    f"got {type(identifier).__name__}: {identifier!r}")


def serialize(loss):
    """``{"class_name": ..., "config": ...}`` for a built-in loss (JSON-serializable; rebuild it
    with :func:`get`). A wrapped custom function cannot be saved: a ValueError says so.

    >>> mg.nn.losses.serialize(mg.nn.losses.BinaryCrossentropy(from_logits=True))
    {'class_name': 'BinaryCrossentropy', 'config': {'name': 'binary_crossentropy', \
'reduction': 'mean', 'from_logits': True, 'label_smoothing': 0.0, 'axis': -1}}
    """
    loss = get(loss)
    if type(loss) not in BUILTIN_LOSSES:
        raise ValueError(f"loss {loss!r} is not a built-in loss: a model that uses it cannot be "
                         "saved with its configuration; use a built-in loss or save the weights")
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def _class_named(name):
    cls = _BY_NAME.get(str(name).lower().replace("_", ""))
    if cls is None:
        known = "mse, mae, bce, kld, " + ", ".join(_keras_name(c) for c in BUILTIN_LOSSES)
        raise ValueError(f"unknown loss {name!r}; choose from {known} (or their class names), "
                         "or pass a function loss(y_true, y_pred) or a Loss object")
    return cls


def _keras_name(cls):
    """The name Keras gives the function of a loss class: ``"huber"``, ``"kl_divergence"``..."""
    return {Huber: "huber", KLDivergence: "kl_divergence"}.get(cls, snake_case(cls.__name__))


__all__ = ["Loss", "LossFunctionWrapper", "MeanSquaredError", "MeanAbsoluteError",
           "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
           "Huber", "KLDivergence", "get", "serialize"]
