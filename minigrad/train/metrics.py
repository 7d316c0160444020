"""Streaming metrics with Keras's names, for ``compile(metrics=[...])``, ``fit`` and
``evaluate``.

A metric accumulates counts over the batches of an epoch and gives the value over all the
samples seen, exactly (not an average of per-batch values, which is wrong for uneven batches and
for ratios such as precision)::

    accuracy = SparseCategoricalAccuracy()
    for x, y in batches:
        accuracy.update_state(y, model(x))
    print(accuracy.result())      # over the whole epoch
    accuracy.reset_state()        # before the next one

Labels, predictions and weights may be tensors on any device, NumPy arrays or lists: a metric
copies them to the host (``.numpy()``) and keeps its counters there, in float64. Sample weights
follow Keras: one weight per sample, shape ``(N,)`` (or ``(N, 1)``), or a scalar.
"""

import numpy as np

from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..functional.losses import match_sample_weight
from ..nn import losses
from ..nn.naming import snake_case


def _host(value):
    """``value`` as a NumPy array (a tensor or CuPy array is copied from its device)."""
    if isinstance(value, Tensor):
        return value.numpy()
    if hasattr(value, "__cuda_array_interface__") and hasattr(value, "get"):
        return value.get()
    return np.asarray(value)


def _weights(sample_weight, shape, name):
    """Per-sample weights broadcast to ``shape`` (float64), or ones."""
    if sample_weight is None:
        return np.ones(shape)
    weight = match_sample_weight(_host(sample_weight).astype(np.float64), tuple(shape), name)
    return np.broadcast_to(weight, shape)


def _same_rank(y_true, y_pred):
    """Keras's squeeze_or_expand_to_same_rank: labels (N,) beside predictions (N, 1)."""
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1:] == (1,):
        y_true = y_true[..., None]
    elif y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1:] == (1,):
        y_true = y_true[..., 0]
    return y_true


def _check_same_shape(y_true, y_pred, name):
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{name}: y_true must have the shape of y_pred {y_pred.shape} (or that "
                         f"shape without a last axis of size 1), got {y_true.shape}")


class Metric:
    """Base class of metrics: state updated batch by batch, and a result over all of it.

    Subclasses define :meth:`update_state`, :meth:`result` and :meth:`reset_state`.

    Args:
        name: the key in logs and History (e.g. ``"accuracy"``; default: the snake-case class
            name).

    Attributes:
        name: the metric's name.
    """

    def __init__(self, name=None):
        self.name = name or snake_case(type(self).__name__)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add a batch: labels ``y_true``, predictions ``y_pred``, optional per-sample
        weights."""
        raise NotImplementedError

    def result(self):
        """The metric over everything added since the last reset, a Python float."""
        raise NotImplementedError

    def reset_state(self):
        """Forget everything added (call it at the start of each epoch)."""
        raise NotImplementedError

    def get_config(self):
        """The constructor arguments, a JSON-serializable dict."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        """A metric built from :meth:`get_config`'s dict."""
        return cls(**config)

    def __repr__(self):
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


class Mean(Metric):
    """The weighted mean of the values given: ``sum(w * v) / sum(w)``.

    ``fit`` keeps the epoch's loss in one: ``update_state(batch_loss, sample_weight=batch_size)``
    after each batch gives the exact mean over the samples when batches are uneven.

    >>> loss = mg.train.metrics.Mean(name="loss")
    >>> loss.update_state(1.0, sample_weight=3)
    >>> loss.update_state(3.0, sample_weight=1)
    >>> loss.result()
    1.5
    """

    def __init__(self, name="mean"):
        super().__init__(name=name)
        self.reset_state()

    def update_state(self, values, sample_weight=None):
        """Add ``values`` (a number, array or tensor; every element counts) with weights that
        broadcast to them (default 1 each)."""
        values = _host(values).astype(np.float64)
        weights = _weights(sample_weight, values.shape, self.name)
        self.total += float((values * weights).sum())
        self.count += float(weights.sum())

    def result(self):
        """The weighted mean, 0.0 before any update (or if the weights sum to 0)."""
        return self.total / self.count if self.count else 0.0

    def reset_state(self):
        """Back to no values."""
        self.total = 0.0
        self.count = 0.0


class MeanMetricWrapper(Mean):
    """The weighted mean of ``fn(y_true, y_pred, **kwargs)``, a function that returns one value
    per sample (NumPy array or tensor); ``compile(metrics=[my_function])`` wraps the function
    in one of these.

    >>> def within_one(y_true, y_pred):
    ...     return np.abs(np.asarray(y_true) - np.asarray(y_pred)).max(axis=-1) <= 1
    >>> metric = mg.train.metrics.MeanMetricWrapper(within_one)
    >>> metric.update_state([[1.0], [5.0]], [[1.5], [3.0]])
    >>> metric.result()
    0.5
    """

    def __init__(self, fn, name=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None) or "mean_metric")
        self.fn = fn
        self.fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's per-sample values ``fn(y_true, y_pred)``. A mask that the model
        attached to ``y_pred`` (padded steps of a sequence output) weighs them, as in Keras:
        the mean is over the real steps alone."""
        with no_grad():
            values = _host(self.fn(y_true, y_pred, **self.fn_kwargs))
        mask = getattr(y_pred, "_keras_mask", None)
        if mask is not None:
            mask = _host(mask).astype(np.float64)
            sample_weight = mask if sample_weight is None else \
                mask * _weights(sample_weight, mask.shape, self.name)
        super().update_state(values, sample_weight)

    def get_config(self):
        """``name`` and the extra keyword arguments of ``fn``."""
        return {"name": self.name, **self.fn_kwargs}


# --- accuracies ---------------------------------------------------------------------------------

def _per_sample(matches):
    """Matches (one per element) as per-sample values: the mean over the last axis."""
    matches = matches.astype(np.float64)
    return matches.mean(axis=-1) if matches.ndim >= 2 else matches


def _accuracy(y_true, y_pred):
    y_true, y_pred = _host(y_true), _host(y_pred)
    y_true = _same_rank(y_true, y_pred)
    _check_same_shape(y_true, y_pred, "accuracy")
    return _per_sample(y_true == y_pred)


def _binary_accuracy(y_true, y_pred, threshold=0.5):
    y_true, y_pred = _host(y_true), _host(y_pred)
    y_true = _same_rank(y_true, y_pred)
    _check_same_shape(y_true, y_pred, "binary_accuracy")
    return _per_sample(y_true == (y_pred > threshold))


def _categorical_accuracy(y_true, y_pred):
    y_true, y_pred = _host(y_true), _host(y_pred)
    _check_same_shape(y_true, y_pred, "categorical_accuracy")
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float64)


def _class_labels(y_true, y_pred, name):
    """Sparse labels of shape y_pred.shape[:-1] (``(N, 1)`` is accepted for ``(N,)``)."""
    if y_true.ndim == y_pred.ndim and y_true.shape[-1:] == (1,):
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape[:-1]:
        hint = ("; these look like one-hot labels: use the non-sparse metric"
                if y_true.shape == y_pred.shape else "")
        raise ValueError(f"{name}: y_true must hold one class label per sample, of shape "
                         f"{y_pred.shape[:-1]} for y_pred of shape {y_pred.shape}, got "
                         f"{y_true.shape}{hint}")
    return y_true


def _sparse_categorical_accuracy(y_true, y_pred):
    y_true, y_pred = _host(y_true), _host(y_pred)
    labels = _class_labels(y_true, y_pred, "sparse_categorical_accuracy")
    return (np.argmax(y_pred, axis=-1) == labels).astype(np.float64)


def _in_top_k(labels, y_pred, k, name):
    """True where the label's score is among the ``k`` highest; a tie at the k-th place counts
    as in (as TensorFlow's in_top_k)."""
    labels = labels.astype(np.int64)
    classes = y_pred.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        bad = labels.min() if labels.min() < 0 else labels.max()
        raise ValueError(f"{name}: class labels must be in [0, {classes}), got label {bad}")
    score = np.take_along_axis(y_pred, labels[..., None], axis=-1)
    return ((y_pred > score).sum(axis=-1) < k).astype(np.float64)


def _top_k_categorical_accuracy(y_true, y_pred, k=5):
    y_true, y_pred = _host(y_true), _host(y_pred)
    _check_same_shape(y_true, y_pred, "top_k_categorical_accuracy")
    return _in_top_k(np.argmax(y_true, axis=-1), y_pred, k, "top_k_categorical_accuracy")


def _sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    y_true, y_pred = _host(y_true), _host(y_pred)
    name = "sparse_top_k_categorical_accuracy"
    return _in_top_k(_class_labels(y_true, y_pred, name), y_pred, k, name)


class Accuracy(MeanMetricWrapper):
    """How often ``y_pred == y_true`` exactly (for predictions that are already class labels).

    >>> m = mg.train.metrics.Accuracy()
    >>> m.update_state([1, 2, 3, 4], [0, 2, 3, 4])
    >>> m.result()
    0.75
    """

    def __init__(self, name="accuracy"):
        super().__init__(_accuracy, name=name)


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` equals the 0/1 label ``y_true``.

    Shapes: ``y_pred`` ``(N, 1)`` or ``(N,)`` (or ``(N, D)``, D labels per sample), ``y_true``
    the same or ``(N,)``. For logits (a model without a sigmoid) use ``threshold=0``.

    >>> m = mg.train.metrics.BinaryAccuracy()
    >>> m.update_state([1, 0, 1], mg.tensor([[0.9], [0.6], [0.3]]))
    >>> round(m.result(), 4)
    0.3333
    """

    def __init__(self, threshold=0.5, name="binary_accuracy"):
        super().__init__(_binary_accuracy, name=name, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(MeanMetricWrapper):
    """How often ``argmax(y_pred)`` equals ``argmax(y_true)`` (one-hot labels), over the last
    axis. Logits or probabilities: the argmax is the same."""

    def __init__(self, name="categorical_accuracy"):
        super().__init__(_categorical_accuracy, name=name)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often ``argmax(y_pred)`` equals the integer label: ``y_true`` ``(N,)`` (or
    ``(N, 1)``) beside ``y_pred`` ``(N, C)``.

    >>> m = mg.train.metrics.SparseCategoricalAccuracy()
    >>> m.update_state([2, 0], [[0.1, 0.2, 0.7], [0.3, 0.6, 0.1]])
    >>> m.result()
    0.5
    """

    def __init__(self, name="sparse_categorical_accuracy"):
        super().__init__(_sparse_categorical_accuracy, name=name)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label's class is among the ``k`` highest scores of ``y_pred``
    (``(N, C)``); classes tied with the k-th score count as among them."""

    def __init__(self, k=5, name="top_k_categorical_accuracy"):
        super().__init__(_top_k_categorical_accuracy, name=name, k=k)
        self.k = k


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label (``(N,)``) is among the ``k`` highest scores of ``y_pred``
    (``(N, C)``); classes tied with the k-th score count as among them.

    >>> m = mg.train.metrics.SparseTopKCategoricalAccuracy(k=2)
    >>> m.update_state([0, 1], [[0.5, 0.3, 0.2], [0.5, 0.2, 0.3]])
    >>> m.result()
    0.5
    """

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy"):
        super().__init__(_sparse_top_k_categorical_accuracy, name=name, k=k)
        self.k = k


def _squared_error(y_true, y_pred):
    y_true, y_pred = _host(y_true), _host(y_pred).astype(np.float64)
    y_true = _same_rank(y_true, y_pred)
    _check_same_shape(y_true, y_pred, "mean_squared_error")
    return _per_sample((y_pred - y_true) ** 2)


def _absolute_error(y_true, y_pred):
    y_true, y_pred = _host(y_true), _host(y_pred).astype(np.float64)
    y_true = _same_rank(y_true, y_pred)
    _check_same_shape(y_true, y_pred, "mean_absolute_error")
    return _per_sample(np.abs(y_pred - y_true))


class MeanSquaredError(MeanMetricWrapper):
    """The mean of ``(y_pred - y_true) ** 2`` over all samples (``metrics=["mse"]``)."""

    def __init__(self, name="mean_squared_error"):
        super().__init__(_squared_error, name=name)


class MeanAbsoluteError(MeanMetricWrapper):
    """The mean of ``abs(y_pred - y_true)`` over all samples (``metrics=["mae"]``).

    >>> m = mg.train.metrics.MeanAbsoluteError()
    >>> m.update_state([1.0, 2.0], mg.tensor([[1.5], [4.0]]))
    >>> m.result()
    1.25
    """

    def __init__(self, name="mean_absolute_error"):
        super().__init__(_absolute_error, name=name)


# --- counts of a binary decision: precision, recall, F-scores, AUC ------------------------------

def _binary_inputs(y_true, y_pred, sample_weight, name, check_range=True):
    """Labels (bool), predictions (float64) and weights, of one shape, checked as Keras checks
    them (predictions in [0, 1] unless ``check_range`` is False)."""
    y_true, y_pred = _host(y_true), _host(y_pred)
    y_true = _same_rank(y_true, y_pred)
    _check_same_shape(y_true, y_pred, name)
    weights = _weights(sample_weight, y_pred.shape, name)
    if check_range and y_pred.size and (np.nanmin(y_pred) < 0 or np.nanmax(y_pred) > 1):
        raise ValueError(f"{name}: y_pred must hold probabilities in [0, 1], got values from "
                         f"{np.nanmin(y_pred):.4g} to {np.nanmax(y_pred):.4g}; apply a sigmoid to "
                         "logits first")
    return y_true != 0, y_pred.astype(np.float64), weights


def _thresholds(thresholds, name):
    """``thresholds`` (a number or a list of them, each in [0, 1]) as a list of floats."""
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) \
        else [thresholds]
    if not values or not all(isinstance(t, (int, float, np.number)) and 0 <= t <= 1
                             for t in values):
        raise ValueError(f"{name}: thresholds must be a number in [0, 1] or a list of them, got "
                         f"{thresholds!r}")
    return [float(t) for t in values]


def _top_k_mask(y_pred, k, name):
    """True at the ``k`` highest scores of each row (last axis); ties go to the lower index."""
    if y_pred.ndim < 1 or y_pred.shape[-1] < 1:
        raise ValueError(f"{name}: top_k needs y_pred with a class axis, got shape {y_pred.shape}")
    order = np.argsort(-y_pred, axis=-1, kind="stable")[..., :k]
    mask = np.zeros(y_pred.shape, dtype=bool)
    np.put_along_axis(mask, order, True, axis=-1)
    return mask


class _ConfusionCounts(Metric):
    """Weighted true/false positives and false negatives at each of ``thresholds``, with
    Keras's ``top_k`` and ``class_id``: a prediction is positive where it is among the row's
    ``top_k`` highest scores (if given) and above the threshold; ``class_id`` keeps one column
    of ``(N, C)`` labels and predictions."""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, threshold=None):
        super().__init__(name=name)
        if threshold is not None:  # minigrad's earlier spelling
            if thresholds is not None:
                raise TypeError(f"{type(self).__name__}: give thresholds= (Keras's name) or "
                                "threshold=, not both")
            thresholds = threshold
        if top_k is not None and (not isinstance(top_k, (int, np.integer)) or top_k < 1):
            raise ValueError(f"{self.name}: top_k must be a positive int, got {top_k!r}")
        if class_id is not None and (not isinstance(class_id, (int, np.integer)) or class_id < 0):
            raise ValueError(f"{self.name}: class_id must be a class index >= 0, got "
                             f"{class_id!r}")
        self.init_thresholds = thresholds
        # Keras's defaults: 0.5, or with top_k no threshold at all (the top k are positive)
        default = 0.5 if top_k is None else -np.inf
        self.thresholds = [default] if thresholds is None else _thresholds(thresholds, self.name)
        self.top_k, self.class_id = top_k, class_id
        self.reset_state()

    @property
    def threshold(self):
        """The single threshold (minigrad's earlier attribute); a ValueError for several."""
        if len(self.thresholds) != 1:
            raise ValueError(f"{self.name} has {len(self.thresholds)} thresholds")
        return self.thresholds[0]

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add a batch: 0/1 labels, scores (positive where ``> threshold``), weights."""
        # thresholds=0 is Keras's way to count logits: then any real score is valid
        check = self.top_k is None and min(self.thresholds) > 0
        positive, y_pred, weights = _binary_inputs(y_true, y_pred, sample_weight, self.name,
                                                   check_range=check)
        kept = np.ones(y_pred.shape, dtype=bool)
        if self.top_k is not None:
            kept = _top_k_mask(y_pred, self.top_k, self.name)
        if self.class_id is not None:
            if y_pred.ndim < 2 or self.class_id >= y_pred.shape[-1]:
                raise ValueError(f"{self.name}: class_id={self.class_id} needs y_pred of shape "
                                 f"(N, C) with C > {self.class_id}, got {y_pred.shape}")
            column = (..., self.class_id)
            positive, y_pred, weights, kept = (positive[column], y_pred[column],
                                               weights[column], kept[column])
        positive, weights = positive.reshape(-1), weights.reshape(-1)
        predicted = (y_pred.reshape(-1) > np.array(self.thresholds)[:, None]) & kept.reshape(-1)
        self.true_positives += (weights * (positive & predicted)).sum(axis=-1)
        self.false_positives += (weights * (~positive & predicted)).sum(axis=-1)
        self.false_negatives += (weights * (positive & ~predicted)).sum(axis=-1)

    def reset_state(self):
        """Counts back to 0."""
        size = len(self.thresholds)
        self.true_positives, self.false_positives, self.false_negatives = (
            np.zeros(size), np.zeros(size), np.zeros(size))

    def _values(self, numerator, denominator):
        """``numerator / denominator`` per threshold (0 where the denominator is 0): a float
        for one threshold, a list for several (Keras gives a vector)."""
        safe = np.where(denominator != 0, denominator, 1)
        values = np.where(denominator != 0, numerator / safe, 0.0)
        return float(values[0]) if len(values) == 1 else [float(v) for v in values]

    def get_config(self):
        """``thresholds``, ``top_k``, ``class_id`` and ``name`` (Keras's keys)."""
        return {"thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id, "name": self.name}


class Precision(_ConfusionCounts):
    """``TP / (TP + FP)``: of the predictions counted positive, the fraction that are; 0.0 when
    none is. Keras's arguments:

    Args:
        thresholds: a number in [0, 1] or a list of them (default 0.5); a score above it is a
            positive prediction. With a list, :meth:`result` gives one value per threshold.
            ``thresholds=0`` counts logits (then ``y_pred`` may hold any real number);
            otherwise ``y_pred`` must hold probabilities in [0, 1]. (``threshold=`` is
            accepted too.)
        top_k: only the ``top_k`` highest scores of each row count as positive predictions
            (then the default threshold is none at all).
        class_id: the class (a column of ``(N, C)`` labels and scores) to compute it for; by
            default every element of ``y_pred`` is one decision.

    >>> m = mg.train.metrics.Precision()
    >>> m.update_state([1, 0, 1, 1], [0.9, 0.8, 0.2, 0.7])
    >>> round(m.result(), 4)
    0.6667
    >>> m = mg.train.metrics.Precision(top_k=1, class_id=2)
    >>> m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.2, 0.7], [0.2, 0.3, 0.5]])
    >>> m.result()
    0.5
    """

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="precision",
                 threshold=None):
        super().__init__(thresholds=thresholds, top_k=top_k, class_id=class_id, name=name,
                         threshold=threshold)

    def result(self):
        """``TP / (TP + FP)`` over everything added (a list for several thresholds)."""
        return self._values(self.true_positives, self.true_positives + self.false_positives)


class Recall(_ConfusionCounts):
    """``TP / (TP + FN)``: of the positive labels, the fraction predicted positive; 0.0 when
    there is none. Keras's arguments ``thresholds``, ``top_k`` and ``class_id``, as
    :class:`Precision`.

    >>> m = mg.train.metrics.Recall(thresholds=[0.5, 0.8])
    >>> m.update_state([1, 0, 1, 1], [0.9, 0.8, 0.2, 0.7])
    >>> [round(r, 4) for r in m.result()]
    [0.6667, 0.3333]
    """

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="recall",
                 threshold=None):
        super().__init__(thresholds=thresholds, top_k=top_k, class_id=class_id, name=name,
                         threshold=threshold)

    def result(self):
        """``TP / (TP + FN)`` over everything added (a list for several thresholds)."""
        return self._values(self.true_positives, self.true_positives + self.false_negatives)


class FBetaScore(Metric):
    """The F-beta score ``(1 + beta^2) P R / (beta^2 P + R)`` of precision P and recall R, per
    class, as Keras 3 computes it: ``y_true`` ``(N, C)`` 0/1 labels (one-hot, or several per
    sample), ``y_pred`` ``(N, C)`` scores; a class is predicted where its score is above
    ``threshold``, or, with ``threshold=None``, where it is the highest of its row (ties all
    count; a score of 0 never does).

    Args:
        average: None (one score per class: :meth:`result` gives a list), ``"micro"`` (one
            score from the counts summed over the classes), ``"macro"`` (the mean of the
            per-class scores) or ``"weighted"`` (their mean weighted by each class's number of
            positive labels).
        beta: the weight of recall against precision (> 0; 1 gives the F1 score).
        threshold: a number in (0, 1], or None (the row's highest score).

    Like Keras, the ratios add an epsilon of 1e-7 to their denominators (so 0/0 is 0).

    >>> m = mg.train.metrics.FBetaScore(beta=2.0, average="micro", threshold=0.5)
    >>> m.update_state([[1, 0], [1, 1]], [[0.9, 0.2], [0.3, 0.8]])
    >>> round(m.result(), 4)
    0.7143
    """

    _EPSILON = 1e-7

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score"):
        super().__init__(name=name)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(f"{type(self).__name__}: average must be None, 'micro', 'macro' or "
                             f"'weighted', got {average!r}")
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not beta > 0:
            raise ValueError(f"{type(self).__name__}: beta must be a number > 0, got {beta!r}")
        if threshold is not None and (isinstance(threshold, bool) or
                                      not isinstance(threshold, (int, float)) or
                                      not 0 < threshold <= 1):
            raise ValueError(f"{type(self).__name__}: threshold must be a number in (0, 1] or "
                             f"None (the highest score of each row), got {threshold!r}")
        self.average, self.beta, self.threshold = average, float(beta), threshold
        self.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add a batch: ``(N, C)`` labels and scores (``(N,)`` beside ``(N, 1)`` too), optional
        per-sample weights ``(N,)``."""
        y_true, y_pred = _host(y_true).astype(np.float64), _host(y_pred).astype(np.float64)
        if y_pred.ndim == 1:  # one score per sample (Keras wants (N, 1); both are accepted)
            y_pred, y_true = y_pred[:, None], y_true.reshape(y_true.shape + (1,))
        y_true = _same_rank(y_true, y_pred)  # labels (N,) beside (N, 1)
        if y_true.ndim != 2 or y_pred.ndim != 2:
            raise ValueError(f"{self.name}: y_true and y_pred must be (N, C), got shapes "
                             f"{y_true.shape} and {y_pred.shape}")
        _check_same_shape(y_true, y_pred, self.name)
        if self.threshold is None:
            predicted = (y_pred >= y_pred.max(axis=-1, keepdims=True)) & (np.abs(y_pred) > 1e-9)
        else:
            predicted = y_pred > self.threshold
        predicted = predicted.astype(np.float64)
        weights = _weights(sample_weight, y_pred.shape, self.name)
        axis = None if self.average == "micro" else 0
        self.true_positives = self.true_positives + (weights * predicted * y_true).sum(axis=axis)
        self.false_positives = self.false_positives + \
            (weights * predicted * (1 - y_true)).sum(axis=axis)
        self.false_negatives = self.false_negatives + \
            (weights * (1 - predicted) * y_true).sum(axis=axis)
        self.support = self.support + (weights * y_true).sum(axis=axis)

    def result(self):
        """The score over everything added: a float, or one per class (a list) for
        ``average=None``."""
        eps, tp = self._EPSILON, np.asarray(self.true_positives, dtype=np.float64)
        precision = tp / (tp + self.false_positives + eps)
        recall = tp / (tp + self.false_negatives + eps)
        beta2 = self.beta ** 2
        score = (1 + beta2) * precision * recall / (beta2 * precision + recall + eps)
        if self.average is None:
            return [float(s) for s in np.atleast_1d(score)]
        if self.average == "weighted":
            return float(np.sum(score * self.support / (np.sum(self.support) + eps)))
        return float(np.mean(score))

    def reset_state(self):
        """Counts back to 0 (their shape, per class or summed, is set by the first batch)."""
        self.true_positives = self.false_positives = self.false_negatives = 0.0
        self.support = 0.0

    def get_config(self):
        """``average``, ``beta``, ``threshold`` and ``name`` (Keras's keys)."""
        return {"average": self.average, "beta": self.beta, "threshold": self.threshold,
                "name": self.name}


class F1Score(FBetaScore):
    """The F1 score, ``2 P R / (P + R)``: :class:`FBetaScore` with ``beta=1``, Keras 3's
    arguments (``average``, ``threshold``) and defaults. For one sigmoid unit, ``(N, 1)``,
    give a ``threshold`` (the default, the highest score of each row, would call every sample
    positive, as in Keras).

    >>> m = mg.train.metrics.F1Score(threshold=0.5)
    >>> m.update_state([[1], [0], [1], [1]], [[0.9], [0.8], [0.2], [0.7]])
    >>> [round(f, 4) for f in m.result()]
    [0.6667]
    """

    def __init__(self, average=None, threshold=None, name="f1_score"):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name)

    def get_config(self):
        """``average``, ``threshold`` and ``name``."""
        config = super().get_config()
        config.pop("beta")
        return config


class AUC(Metric):
    """Area under the ROC (or precision-recall) curve, computed as Keras does: the curve's
    points at ``num_thresholds`` thresholds (``-1e-7``, ``1/(n-1)``, ..., ``(n-2)/(n-1)``,
    ``1 + 1e-7``), joined as ``summation_method`` says.

    The counters are two weighted histograms of ``num_thresholds + 1`` bins, so memory does not
    grow with the data. For the ROC the result equals the exact AUC (the probability that a
    random positive scores higher than a random negative, ties counting half) when no positive
    and negative fall between the same two thresholds; otherwise such pairs count half, an error
    below ``1 / (num_thresholds - 1)``-ish for spread-out scores. 0.0 before there are both a
    positive and a negative sample.

    Args:
        num_thresholds: how many thresholds (>= 2), evenly spaced over [0, 1].
        curve: ``"ROC"`` (true- against false-positive rate) or ``"PR"`` (precision against
            recall).
        summation_method: ``"interpolation"`` (trapezoids for the ROC; for PR, Davis and
            Goadrich's interpolation, exact for the step between two thresholds),
            ``"minoring"`` or ``"majoring"`` (rectangles under the lower or upper point).
        thresholds: explicit thresholds in [0, 1] instead of ``num_thresholds`` evenly spaced
            ones (``-1e-7`` and ``1 + 1e-7`` are added at the ends).
        from_logits: ``y_pred`` holds logits (a sigmoid is applied); otherwise probabilities
            in [0, 1].
        multi_label: only False (one curve over every element of ``y_pred``) is supported.

    >>> m = mg.train.metrics.AUC()
    >>> m.update_state([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> m.result()
    0.75
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name="auc", thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        super().__init__(name=name)
        if multi_label or num_labels is not None or label_weights is not None:
            raise NotImplementedError("AUC: multi_label, num_labels and label_weights are not "
                                      "supported (one curve over every element of y_pred); "
                                      "for one class of several, use one AUC per column")
        curve = str(curve).upper()
        if curve not in ("ROC", "PR"):
            raise ValueError(f"AUC: curve must be 'ROC' or 'PR', got {curve!r}")
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f"AUC: summation_method must be 'interpolation', 'minoring' or "
                             f"'majoring', got {summation_method!r}")
        if thresholds is not None:
            inner = sorted(_thresholds(thresholds, "AUC"))
            num_thresholds = len(inner) + 2
        elif num_thresholds < 2:
            raise ValueError(f"AUC needs num_thresholds >= 2, got {num_thresholds}")
        else:
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self.num_thresholds, self.init_thresholds = num_thresholds, thresholds
        self.curve, self.summation_method = curve, summation_method
        self.from_logits = bool(from_logits)
        self.thresholds = np.array([-1e-7] + inner + [1 + 1e-7])
        self.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add a batch: 0/1 labels, scores, optional per-sample weights."""
        if self.from_logits:
            y_pred = 1 / (1 + np.exp(-_host(y_pred).astype(np.float64)))
        positive, y_pred, weights = _binary_inputs(y_true, y_pred, sample_weight, self.name)
        positive, y_pred, weights = positive.reshape(-1), y_pred.reshape(-1), weights.reshape(-1)
        # bin b holds the predictions above exactly the first b thresholds
        bins = np.searchsorted(self.thresholds, y_pred, side="left")
        size = self.num_thresholds + 1
        self.positives += np.bincount(bins[positive], weights[positive], minlength=size)
        self.negatives += np.bincount(bins[~positive], weights[~positive], minlength=size)

    def result(self):
        """The area under the curve over everything added."""
        # predictions > threshold i: those in bins i+1, i+2, ...
        tp = np.cumsum(self.positives[::-1])[::-1][1:]
        fp = np.cumsum(self.negatives[::-1])[::-1][1:]
        total_positives, total_negatives = self.positives.sum(), self.negatives.sum()
        if self.curve == "PR" and self.summation_method == "interpolation":
            return _interpolated_pr_auc(tp, fp, total_positives)
        if self.curve == "ROC":
            x, y = _ratio_array(fp, total_negatives), _ratio_array(tp, total_positives)
        else:
            x, y = _ratio_array(tp, total_positives), _ratio_array(tp, tp + fp)
        heights = {"interpolation": (y[:-1] + y[1:]) / 2, "minoring": np.minimum(y[:-1], y[1:]),
                   "majoring": np.maximum(y[:-1], y[1:])}[self.summation_method]
        return float(np.sum((x[:-1] - x[1:]) * heights))

    def reset_state(self):
        """Histograms back to 0."""
        self.positives = np.zeros(self.num_thresholds + 1)
        self.negatives = np.zeros(self.num_thresholds + 1)

    def get_config(self):
        """Keras's arguments: ``num_thresholds``, ``curve``, ``summation_method``,
        ``thresholds``, ``from_logits`` and ``name``."""
        return {"num_thresholds": self.num_thresholds, "curve": self.curve,
                "summation_method": self.summation_method, "thresholds": self.init_thresholds,
                "from_logits": self.from_logits, "name": self.name}


def _ratio_array(numerator, denominator):
    """``numerator / denominator`` elementwise, 0 where the denominator is 0."""
    denominator = np.broadcast_to(denominator, np.shape(numerator))
    return np.where(denominator != 0, numerator / np.where(denominator != 0, denominator, 1), 0.0)


def _interpolated_pr_auc(tp, fp, total_positives):
    """The area under the precision-recall curve between consecutive thresholds, with
    precision interpolated as Davis and Goadrich (2006) show it must be: between two
    thresholds the true positives grow linearly with the predicted positives ``p = tp + fp``,
    ``tp(p) = slope p + intercept``, so precision is ``slope + intercept / p``; recall grows by
    ``slope dp / positives``, and the area over the step is the integral of their product,
    ``slope (dtp + intercept log(p_i / p_(i+1))) / positives``."""
    if not total_positives:
        return 0.0
    p = tp + fp
    d_tp, d_p = tp[:-1] - tp[1:], p[:-1] - p[1:]
    slope = _ratio_array(d_tp, d_p)
    intercept = tp[1:] - slope * p[1:]
    both = (p[:-1] > 0) & (p[1:] > 0)
    log_ratio = np.log(np.where(both, p[:-1], 1) / np.where(both, p[1:], 1))
    return float(np.sum(slope * (d_tp + intercept * log_ratio) / total_positives))


# --- names ------------------------------------------------------------------------------------

#: The built-in metric classes, the ones :func:`get` finds by name.
BUILTIN_METRICS = (Mean, Accuracy, BinaryAccuracy, CategoricalAccuracy,
                   SparseCategoricalAccuracy, TopKCategoricalAccuracy,
                   SparseTopKCategoricalAccuracy, MeanSquaredError, MeanAbsoluteError, Precision,
                   Recall, F1Score, FBetaScore, AUC)
# Compared in lower case without underscores, so "top_k_categorical_accuracy" and
# "TopKCategoricalAccuracy" are one name.
_BY_NAME = {cls.__name__.lower(): cls for cls in BUILTIN_METRICS}
_BY_NAME.update({"mse": MeanSquaredError, "mae": MeanAbsoluteError})
_LOSS_METRICS = ("binarycrossentropy", "categoricalcrossentropy",
                 "sparsecategoricalcrossentropy", "kldivergence", "kld")


def get(identifier, loss=None, output_shape=None):
    """The metric object for what ``compile(metrics=[...])`` was given.

    - ``"accuracy"`` or ``"acc"``: the accuracy that fits the loss and the output, as Keras
      picks it: :class:`BinaryAccuracy` for ``binary_crossentropy`` or a single output unit
      (threshold 0 when the loss is ``BinaryCrossentropy(from_logits=True)``),
      :class:`SparseCategoricalAccuracy` for ``sparse_categorical_crossentropy``,
      :class:`CategoricalAccuracy` for ``categorical_crossentropy`` or any other loss with
      several output units. If neither ``loss`` nor ``output_shape`` decides, the choice is made
      from the shapes of the first batch (Keras 3's rule). The metric is named as given, so the
      History key is ``"accuracy"`` (or ``"acc"``).
    - another name: ``"binary_accuracy"``, ``"categorical_accuracy"``,
      ``"sparse_categorical_accuracy"``, ``"top_k_categorical_accuracy"``,
      ``"sparse_top_k_categorical_accuracy"``, ``"precision"``, ``"recall"``, ``"f1_score"``,
      ``"auc"``, ``"mse"``, ``"mae"``, ``"mean_squared_error"``, ``"mean_absolute_error"``, the
      cross-entropy loss names and ``"kl_divergence"`` / ``"kld"`` (the mean loss), or a
      class name such as ``"AUC"``. A snake-case name becomes the metric's name (``"mae"`` is
      logged as ``"mae"``).
    - a :class:`Metric` (returned as it is: reset it between epochs) or a Metric class;
    - a function ``fn(y_true, y_pred)`` returning per-sample values (a
      :class:`MeanMetricWrapper`); a dict ``{"class_name": ..., "config": {...}}``; None.

    Args:
        loss: what ``compile`` was given as the loss (a name, a loss object or function).
        output_shape: the shape of the model's output, batch axis included, e.g.
            ``(None, 10)`` or ``(32, 1)``.

    >>> mg.train.metrics.get("accuracy", loss="sparse_categorical_crossentropy")
    SparseCategoricalAccuracy(name='accuracy')
    >>> mg.train.metrics.get("acc", output_shape=(None, 1))
    BinaryAccuracy(name='acc', threshold=0.5)
    """
    if identifier is None or isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier.lower() in ("accuracy", "acc"):
            return _resolve_accuracy(identifier, loss, output_shape)
        key = identifier.lower().replace("_", "")
        # "mae" is logged as "mae"; "MeanAbsoluteError" under the class's own name.
        name = identifier if identifier == identifier.lower() else None
        if key in _LOSS_METRICS:
            loss = losses.get(identifier)  # its call() gives the per-sample losses
            return MeanMetricWrapper(loss.call, name=name or snake_case(identifier))
        cls = _BY_NAME.get(key)
        if cls is None:
            known = ", ".join(["accuracy", "acc", "mse", "mae"] +
                              [snake_case(c.__name__) for c in BUILTIN_METRICS if c is not Mean])
            raise ValueError(f"unknown metric {identifier!r}; choose from {known} (or their "
                             "class names), or pass a Metric object or a function "
                             "fn(y_true, y_pred)")
        return cls(name=name) if name else cls()
    if isinstance(identifier, dict):
        if "class_name" not in identifier:
            raise ValueError(f"a metric config must have a 'class_name', got {identifier!r}")
        cls = _BY_NAME.get(str(identifier["class_name"]).lower())
        if cls is None:
            raise ValueError(f"unknown metric class {identifier['class_name']!r}")
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise TypeError(f"a metric must be a name, a Metric object or a function fn(y_true, y_pred), "
                    f"got {type(identifier).__name__}: {identifier!r}")


def _loss_kind(loss):
    """("binarycrossentropy" | "categoricalcrossentropy" | ..., from_logits) for a loss given to
    compile, or (None, False) when it is not one of the cross-entropies."""
    try:
        loss = losses.get(loss)
    except (ValueError, TypeError):
        return None, False
    if type(loss) in losses.BUILTIN_LOSSES:
        return type(loss).__name__.lower(), getattr(loss, "from_logits", False)
    return None, False


def _resolve_accuracy(name, loss, output_shape):
    kind, from_logits = _loss_kind(loss)
    single_unit = output_shape is not None and (len(output_shape) < 2 or output_shape[-1] == 1)
    if kind == "binarycrossentropy" or single_unit:
        logits = kind == "binarycrossentropy" and from_logits  # sigmoid(x) > 0.5 iff x > 0
        return BinaryAccuracy(threshold=0.0 if logits else 0.5, name=name)
    if kind == "sparsecategoricalcrossentropy":
        return SparseCategoricalAccuracy(name=name)
    if kind == "categoricalcrossentropy" or output_shape is not None:
        return CategoricalAccuracy(name=name)
    return _AccuracyByShape(name=name)


class _AccuracyByShape(Metric):
    """``"accuracy"`` whose kind is chosen from the first batch (Keras 3's rule): binary for one
    output unit, sparse when the labels have fewer axes (or one label per sample), else
    categorical."""

    def __init__(self, name="accuracy"):
        super().__init__(name=name)
        self.chosen = None

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self.chosen is None:
            true_shape, pred_shape = np.shape(_host(y_true)), np.shape(_host(y_pred))
            if len(pred_shape) < 2 or pred_shape[-1] == 1:
                self.chosen = BinaryAccuracy(name=self.name)
            elif len(true_shape) < len(pred_shape) or true_shape[-1] == 1:
                self.chosen = SparseCategoricalAccuracy(name=self.name)
            else:
                self.chosen = CategoricalAccuracy(name=self.name)
        self.chosen.update_state(y_true, y_pred, sample_weight)

    def result(self):
        return self.chosen.result() if self.chosen is not None else 0.0

    def reset_state(self):
        if self.chosen is not None:
            self.chosen.reset_state()


__all__ = ["Metric", "Mean", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy",
           "CategoricalAccuracy", "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
           "SparseTopKCategoricalAccuracy", "MeanSquaredError", "MeanAbsoluteError", "Precision",
           "Recall", "F1Score", "FBetaScore", "AUC", "get"]
