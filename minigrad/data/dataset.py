"""Datasets: anything with a length that returns one sample per index."""

import numpy as np

from ..autograd.tensor import Tensor


class Dataset:
    """The interface a :class:`~minigrad.data.DataLoader` reads: ``len(dataset)`` samples,
    ``dataset[i]`` the i-th (usually a tuple ``(x, y)`` of NumPy arrays or numbers).

    Subclass it and define both methods::

        class Squares(mg.data.Dataset):
            def __len__(self):
                return 100

            def __getitem__(self, i):
                return np.float32(i), np.float32(i * i)
    """

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


class TensorDataset(Dataset):
    """Samples cut from arrays (or tensors) with the same first dimension: ``dataset[i]`` is
    ``(a[i], b[i], ...)``. An array of indices gives whole batches at once, which is how a
    :class:`~minigrad.data.DataLoader` reads it.

    >>> ds = mg.data.TensorDataset(np.zeros((5, 3)), np.arange(5))
    >>> len(ds), ds[2][1]
    (5, np.int64(2))
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays = tuple(a.numpy() if isinstance(a, Tensor) else np.asarray(a)
                            for a in arrays)
        for i, array in enumerate(self.arrays):
            if array.ndim == 0:
                raise ValueError(f"array {i} is a scalar; every array needs a first (sample) "
                                 "dimension")
        counts = [len(a) for a in self.arrays]
        if len(set(counts)) != 1:
            raise ValueError(f"all arrays must have the same first dimension, got {counts}")

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(array[index] for array in self.arrays)
