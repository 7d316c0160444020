"""Several inputs or outputs in ``fit``/``evaluate``/``predict``: lists (or dicts by name) of
arrays, as Keras takes them for a functional model with several inputs or outputs. Every array
of one structure has the same first dimension (the samples); batches cut each the same way."""

import numpy as np

from ..autograd.tensor import Tensor


def is_structure(value):
    """Whether ``value`` is a list, tuple or dict of arrays (or tensors)."""
    if isinstance(value, dict):
        items = list(value.values())
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        return False
    return bool(items) and all(isinstance(a, (np.ndarray, Tensor)) for a in items)


def map_structure(function, value):
    """``function`` applied to each array of a list/tuple/dict (a list for a tuple)."""
    if isinstance(value, dict):
        return {key: function(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [function(item) for item in value]
    return function(value)


def leaves(value):
    """The arrays of a structure (the value itself when it is one array)."""
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def batch_length(value):
    """The number of samples in a batch: one array's first dimension, or that of the first
    array of a structure."""
    return len(leaves(value)[0])


class StructuredBatches:
    """Batches of (x, y, sample_weight) where ``x`` and/or ``y`` are structures of arrays;
    each array is cut the same way (see :class:`~minigrad.train.batches.ArrayBatches`)."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, shuffle=False, rng=None):
        def host(a):
            return a.numpy() if isinstance(a, Tensor) else np.asarray(a)

        self.x, self.y = map_structure(host, x), None if y is None else map_structure(host, y)
        self.sample_weight = None if sample_weight is None else host(sample_weight)
        count = batch_length(self.x)
        named = [("x", a) for a in leaves(self.x)]
        named += [("y", a) for a in leaves(self.y)] if self.y is not None else []
        named += [("sample_weight", self.sample_weight)] if sample_weight is not None else []
        for name, array in named:
            if array.ndim == 0 or len(array) != count:
                raise ValueError(f"every array of x, y and sample_weight needs the same first "
                                 f"dimension ({count} samples); an array of {name} has shape "
                                 f"{array.shape}")
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.count, self.batch_size, self.shuffle = count, int(batch_size), shuffle
        self.rng = rng or np.random.default_rng()

    def __len__(self):
        return -(-self.count // self.batch_size)

    def __iter__(self):
        return self.iter_from(0)

    def iter_from(self, step):
        """The batches from batch ``step`` on (the whole epoch's order drawn first)."""
        order = self.rng.permutation(self.count) if self.shuffle else None
        for start in range(step * self.batch_size, self.count, self.batch_size):
            index = order[start:start + self.batch_size] if order is not None \
                else slice(start, start + self.batch_size)
            yield tuple(None if a is None else map_structure(lambda v: v[index], a)
                        for a in (self.x, self.y, self.sample_weight))


def concatenate(outputs):
    """Batches of predictions joined along the samples: arrays, or lists/dicts of them."""
    first = outputs[0]
    if isinstance(first, dict):
        return {key: np.concatenate([o[key] for o in outputs]) for key in first}
    if isinstance(first, (list, tuple)):
        return [np.concatenate([o[i] for o in outputs]) for i in range(len(first))]
    return np.concatenate(outputs)
