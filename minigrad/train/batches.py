"""Feeding ``fit``/``evaluate``/``predict``: NumPy arrays (or tensors) cut into batches, or any
iterable of batches such as a DataLoader."""

import itertools
import numbers

import numpy as np

from .. import dtypes
from ..autograd.tensor import Tensor
from . import structures


def _as_numpy(value, what):
    if value is None:
        return None
    if isinstance(value, Tensor):
        return value.numpy()
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be numeric, got an array of dtype {array.dtype}")
    return array


class ArrayBatches:
    """Batches of (x, y, sample_weight) from arrays with the same first dimension.

    ``shuffle`` draws a new order every epoch from ``rng``; the last batch may be smaller.
    """

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, shuffle=False, rng=None):
        self.x = _as_numpy(x, "x")
        self.y = _as_numpy(y, "y")
        self.sample_weight = _as_numpy(sample_weight, "sample_weight")
        if self.x is None or self.x.ndim == 0:
            raise ValueError("x must be an array with a batch axis")
        count = check_same_length(self.x, self.y, self.sample_weight)
        if count == 0:
            raise ValueError(f"x has no samples (shape {self.x.shape}); there is nothing to "
                             "iterate over")
        self.batch_size = check_batch_size(batch_size)
        self.shuffle = shuffle
        self.rng = rng or np.random.default_rng()

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __iter__(self):
        return self.iter_from(0)

    def iter_from(self, step):
        """The batches of one epoch from batch ``step`` on: the order is drawn whole (so the
        generator advances as for a whole epoch), then the first ``step`` batches are skipped,
        which is how a resumed ``fit`` continues an epoch."""
        count = len(self.x)
        order = self.rng.permutation(count) if self.shuffle else None
        for start in range(step * self.batch_size, count, self.batch_size):
            index = order[start:start + self.batch_size] if order is not None \
                else slice(start, start + self.batch_size)
            yield tuple(None if a is None else a[index]
                        for a in (self.x, self.y, self.sample_weight))


class IterableBatches:
    """Batches from an iterable (e.g. a DataLoader) yielding ``x``, ``(x, y)`` or
    ``(x, y, sample_weight)``; re-iterated every epoch."""

    def __init__(self, iterable):
        self.iterable = iterable

    def __len__(self):
        try:
            return len(self.iterable)
        except TypeError:
            return None

    def iter_from(self, step):
        """The batches from batch ``step`` on (the earlier ones are drawn and dropped)."""
        return itertools.islice(iter(self), step, None)

    def __iter__(self):
        for batch in self.iterable:
            if not isinstance(batch, (tuple, list)):
                batch = (batch,)
            if not 1 <= len(batch) <= 3:
                raise ValueError(f"a batch must be x, (x, y) or (x, y, sample_weight); got "
                                 f"{len(batch)} items")
            yield tuple(batch) + (None,) * (3 - len(batch))


def batches(x, y=None, sample_weight=None, batch_size=32, shuffle=False, rng=None):
    """``ArrayBatches`` for arrays, ``IterableBatches`` for anything else iterable."""
    if structures.is_structure(x) or structures.is_structure(y):  # several inputs/outputs
        return structures.StructuredBatches(x, y, sample_weight, batch_size, shuffle, rng)
    if isinstance(x, (np.ndarray, Tensor)) or np.isscalar(x):
        return ArrayBatches(x, y, sample_weight, batch_size, shuffle, rng)
    if y is not None:
        raise ValueError("y must be None when x is an iterable of batches (the batches carry "
                         "the targets)")
    return IterableBatches(x)


def check_batch_size(batch_size):
    """``batch_size`` as a positive int (None: Keras's 32); anything else is a ValueError
    saying what was given (0 or 2.7 must not quietly train with 32 or 2)."""
    if batch_size is None:
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer (or None for 32), got "
                         f"{batch_size!r}")
    return int(batch_size)


def check_count(value, name, minimum=0):
    """``value`` as an int >= ``minimum`` (epochs, initial_epoch); else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_same_length(x, *others, names=("y", "sample_weight")):
    """The number of samples of ``x``; a ValueError when an array of ``others`` (None is
    skipped) has another first dimension."""
    count = len(x)
    for name, array in zip(names, others):
        if array is not None and len(array) != count:
            raise ValueError(f"x has {count} samples but {name} has {len(array)}; they "
                             "must have the same first dimension")
    return count


def to_tensor(value, backend, float_dtype):
    """A batch as a tensor on ``backend``; floating data converted to ``float_dtype`` (so float64
    NumPy data feeds a float32 model, as in Keras), integers kept (labels, token ids)."""
    if value is None:
        return None
    if structures.is_structure(value):  # several inputs or outputs
        return structures.map_structure(lambda v: to_tensor(v, backend, float_dtype), value)
    if isinstance(value, Tensor):
        if value._backend is not backend:
            value = value.to(backend.name)
        if dtypes.is_floating(value.dtype) and value.dtype != float_dtype:
            value = value.astype(float_dtype)
        return value
    array = np.asarray(value)
    dtype = float_dtype if array.dtype.kind == "f" else None
    return Tensor._make(backend.asarray(array, dtype=dtype), backend)


def split_validation(x, y, sample_weight, fraction):
    """Keras's ``validation_split``: the last ``fraction`` of the samples, before shuffling."""
    check_fraction(fraction)
    if not isinstance(x, (np.ndarray, Tensor)):
        raise ValueError("validation_split needs array inputs; with an iterable of batches, "
                         "pass validation_data")
    x, y, sample_weight = (_as_numpy(a, "data") for a in (x, y, sample_weight))
    if x.ndim == 0:
        raise ValueError("x must be an array with a batch axis")
    check_same_length(x, y, sample_weight)
    cut = int(len(x) * (1 - fraction))
    if cut == 0 or cut == len(x):
        raise ValueError(f"validation_split={fraction} leaves no samples on one side of "
                         f"{len(x)}")

    def part(a, s):
        return None if a is None else a[s]

    train = tuple(part(a, slice(None, cut)) for a in (x, y, sample_weight))
    validation = tuple(part(a, slice(cut, None)) for a in (x, y, sample_weight))
    return train, validation


def check_fraction(fraction):
    """``validation_split`` must be a number in [0, 1); 0 means none."""
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) \
            or not 0 <= fraction < 1:
        raise ValueError(f"validation_split must be a number in [0, 1), got {fraction!r}")
    return float(fraction)


def class_weights_to_sample_weights(y, class_weight):
    """Per-sample weights from a ``{class: weight}`` dict and integer or one-hot labels."""
    labels = _as_numpy(y, "y")
    if labels.ndim > 1 and labels.shape[-1] > 1:
        labels = labels.argmax(axis=-1)
    labels = labels.reshape(len(labels), -1)[:, 0].astype(np.int64)
    weights = np.ones(len(labels), dtype=np.float64)
    for cls, weight in class_weight.items():
        weights[labels == int(cls)] = weight
    return weights
