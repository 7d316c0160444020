"""Feeding ``fit``/``evaluate``/``predict``: NumPy arrays (or tensors) cut into batches, or any
iterable of batches such as a DataLoader."""

import collections.abc
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
    """Batches from an iterable (a DataLoader, a generator, any iterator) yielding ``x``,
    ``(x, y)`` or ``(x, y, sample_weight)``.

    A re-iterable (a DataLoader) gives a fresh pass each time it is iterated; a one-shot
    iterator (a generator: ``one_shot``) is a single stream that :class:`Epochs` shares out
    across the epochs. ``class_weight`` adds per-sample weights computed from each batch's y.
    """

    def __init__(self, iterable, class_weight=None):
        self.iterable = iterable
        self.class_weight = class_weight
        self.one_shot = isinstance(iterable, collections.abc.Iterator)

    def batch_count(self):
        """Batches in a pass: ``len()`` of the iterable, None when it has none."""
        try:
            return len(self.iterable)
        except TypeError:
            return None

    def iter_from(self, step):
        """The batches from batch ``step`` on (the earlier ones are drawn and dropped)."""
        return itertools.islice(iter(self), step, None)

    def __iter__(self):
        return (_standard_batch(batch, self.class_weight) for batch in self.iterable)


class SequenceBatches(IterableBatches):
    """Batches ``dataset[0]``, ``dataset[1]``, ... of an object with ``__getitem__`` and
    ``__len__`` (or a ``num_batches`` that is None when it never ends), as Keras's
    ``PyDataset``/``Sequence``. ``shuffle`` visits the batches of each pass in a new order
    drawn from ``rng`` (Keras shuffles a PyDataset's batch order too); ``on_epoch_end()`` of
    the dataset, if it has one, is called after every epoch."""

    def __init__(self, dataset, shuffle=False, rng=None, class_weight=None):
        super().__init__(dataset, class_weight)
        self.one_shot = False
        self.shuffle = shuffle
        self.rng = rng or np.random.default_rng()

    def batch_count(self):
        """``len(dataset)``, or its ``num_batches`` (None: endless)."""
        count = getattr(self.iterable, "num_batches", None) if not hasattr(
            self.iterable, "__len__") else len(self.iterable)
        return None if count is None else int(count)

    def __iter__(self):
        count = self.batch_count()
        if count is None:
            indices = itertools.count()
        else:
            indices = self.rng.permutation(count) if self.shuffle else range(count)
        return (_standard_batch(self.iterable[int(i)], self.class_weight) for i in indices)

    def on_epoch_end(self):
        hook = getattr(self.iterable, "on_epoch_end", None)
        if callable(hook):
            hook()


def _standard_batch(batch, class_weight=None):
    """A batch as the triple (x, y, sample_weight), None where absent; with ``class_weight``
    the weights come from y's classes."""
    if not isinstance(batch, (tuple, list)):
        batch = (batch,)
    if not 1 <= len(batch) <= 3:
        raise ValueError(f"a batch must be x, (x, y) or (x, y, sample_weight); got "
                         f"{len(batch)} items")
    x, y, weight = tuple(batch) + (None,) * (3 - len(batch))
    if class_weight is not None:
        if weight is not None:
            raise ValueError("give class_weight or sample_weight, not both: the batches "
                             "already carry sample weights")
        if y is None:
            raise ValueError("class_weight needs batches (x, y) that carry the targets")
        weight = class_weights_to_sample_weights(y, class_weight)
    return x, y, weight


class Epochs:
    """The batches of each epoch, from a source of batches (``ArrayBatches``,
    ``IterableBatches``, ...), as Keras's ``steps_per_epoch`` shares them out.

    Without ``steps``, an epoch is one whole pass over the source. With ``steps``, an epoch is
    the next ``steps`` batches of a pass that goes on across epochs: a generator yields
    ``steps * epochs`` batches in all, and a source that restarts (arrays, a DataLoader)
    begins a new pass where the last one ended. An epoch during which a pass ends is shorter
    (``ran_short``), as in Keras. A one-shot source (a generator) that has nothing left is
    ``exhausted``: fit stops there.

    ``batch_count()`` is the number of batches of an epoch, None while unknown (a generator
    without ``steps``: learnt from the first whole pass).
    """

    def __init__(self, source, steps=None, name="steps"):
        self.source = source
        self.steps = None if steps is None else check_count(steps, name, minimum=1)
        self.one_shot = getattr(source, "one_shot", False)
        self.exhausted = False
        self.ran_short = False
        self.taken = 0  # batches of the last epoch
        self._pass_length = None  # learnt from a whole pass when the source has no len()
        self._stream = None  # the pass under way
        self._pending = []  # a batch drawn by has_more() and not yet given out

    def batch_count(self):
        """The batches of an epoch (for the progress bar), None while unknown."""
        if self.steps is not None:
            return self.steps
        length = _batch_count(self.source)
        return self._pass_length if length is None else length

    def __iter__(self):
        return self.iter_from(0)

    def has_more(self):
        """Whether another epoch can start: False once a one-shot source has nothing left
        (draws one batch ahead to know)."""
        if self.exhausted:
            return False
        if self.one_shot and not self._pending:
            try:
                self._pending.append(next(self._current()))
            except StopIteration:
                self.exhausted = True
        return not self.exhausted

    def _current(self):
        if self._stream is None:
            self._stream = iter(self.source)
        return self._stream

    def iter_from(self, step):
        """The batches of one epoch from batch ``step`` on (``step`` > 0: a resumed epoch)."""
        self.ran_short, self.taken = False, step
        if self.steps is None and not self.one_shot:
            for batch in self.source.iter_from(step):  # a whole pass, the source's order
                self.taken += 1
                yield batch
            if _batch_count(self.source) is None:
                self._pass_length = self.taken
            return
        stream, restarted = self._current(), False
        while self.steps is None or self.taken < self.steps:
            if self._pending:
                batch = self._pending.pop()
            else:
                try:
                    batch = next(stream)
                except StopIteration:
                    self._stream = None
                    if self.one_shot:
                        self.exhausted = True
                        self._pass_length = self._pass_length or self.taken
                        self.ran_short = self.steps is not None
                        return
                    if self.taken == step and not restarted:  # the last pass ended with
                        stream, restarted = self._current(), True  # the last epoch
                        continue
                    self.ran_short = True
                    return
            self.taken += 1
            yield batch

    def end_epoch(self):
        """Tell the source an epoch ended (a PyDataset's ``on_epoch_end``)."""
        hook = getattr(self.source, "on_epoch_end", None)
        if callable(hook):
            hook()

    def close(self):
        """End a pass left under way (a DataLoader's prefetching thread); a generator the
        user passed is left as it is, to be read on."""
        if self._stream is not None and not self.one_shot and hasattr(self._stream, "close"):
            self._stream.close()
        self._stream = None


def _batch_count(source):
    """Batches in a pass of a source: ``batch_count()`` where it may be unknown, else
    ``len()`` (arrays)."""
    counter = getattr(source, "batch_count", None)
    return counter() if counter is not None else len(source)


def batches(x, y=None, sample_weight=None, batch_size=32, shuffle=False, rng=None,
            class_weight=None):
    """``ArrayBatches`` for arrays, ``SequenceBatches`` for a PyDataset-like object (batches by
    index), ``IterableBatches`` for anything else iterable (a DataLoader, a generator)."""
    if structures.is_structure(x) or structures.is_structure(y):  # several inputs/outputs
        return structures.StructuredBatches(x, y, sample_weight, batch_size, shuffle, rng)
    if isinstance(x, (np.ndarray, Tensor)) or np.isscalar(x):
        return ArrayBatches(x, y, sample_weight, batch_size, shuffle, rng)
    if y is not None or sample_weight is not None:
        raise ValueError("y and sample_weight must be None when x is an iterable of batches "
                         "(the batches carry the targets and weights: (x, y) or "
                         "(x, y, sample_weight))")
    if x is None or isinstance(x, (str, bytes, dict)):
        raise TypeError(f"x must be arrays or an iterable of batches, got "
                        f"{type(x).__name__}")
    if is_sequence_of_batches(x):
        return SequenceBatches(x, shuffle, rng, class_weight)
    if not isinstance(x, collections.abc.Iterable):
        raise TypeError(f"x must be arrays, an iterable of batches (a generator, a DataLoader) "
                        f"or an object with __getitem__ and __len__, got {type(x).__name__}")
    return IterableBatches(x, class_weight)


def is_sequence_of_batches(x):
    """Whether ``x`` gives its batches by index (``x[i]``) as Keras's PyDataset: it has
    ``__getitem__`` and ``__len__`` (or ``num_batches``) and is no list, tuple or array."""
    if isinstance(x, (list, tuple, np.ndarray, Tensor)):
        return False
    if _is_sample_dataset(x):
        raise TypeError(f"x is a {type(x).__name__}, a dataset of single samples; wrap it in "
                        "mg.data.DataLoader(dataset, batch_size=...) to feed batches")
    return hasattr(x, "__getitem__") and (hasattr(x, "__len__") or hasattr(x, "num_batches"))


def _is_sample_dataset(x):
    from ..data.dataset import Dataset
    return isinstance(x, Dataset)


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
