"""The CPU backend: NumPy arrays, with Numba kernels for the hot loops NumPy does badly."""

import numpy as np

from .base import Backend

# Numba compiles the kernels on first use, so small index adds are faster in NumPy itself.
_NUMBA_MIN_ROWS = 64


class CPUBackend(Backend):
    """NumPy arrays in host memory; hot loops in :mod:`minigrad.backends.cpu_kernels` (Numba)."""

    name = "cpu"
    uniform_method = "random"
    xp = np

    def __init__(self):
        self._rng = np.random.default_rng()

    def asarray(self, data, dtype=None):
        if hasattr(data, "__cuda_array_interface__") and hasattr(data, "get"):
            data = data.get()  # a CuPy array: copy device -> host
        return np.asarray(data, dtype=dtype)

    def to_numpy(self, array):
        return array

    def independent(self, array):
        # A view may share memory with another gradient; a broadcast view is read-only.
        if array.base is None and array.flags.writeable:
            return array
        return array.copy()

    def seed(self, seed):
        self._rng = np.random.default_rng(seed)

    def scatter_add(self, target, key, values):
        rows = _row_index(key)
        if (rows is not None and rows.size >= _NUMBA_MIN_ROWS and target.ndim >= 1
                and target.dtype in (np.float32, np.float64) and target.flags.c_contiguous):
            from .cpu_kernels.indexing import scatter_add_rows

            width = target[0].size if target.shape[0] else 0
            rows = np.where(rows < 0, rows + target.shape[0], rows)
            values = np.ascontiguousarray(np.broadcast_to(values, rows.shape + target.shape[1:]),
                                          dtype=target.dtype)
            scatter_add_rows(target.reshape(target.shape[0], width), rows,
                             values.reshape(rows.size, width))
        else:
            np.add.at(target, key, values)


def _row_index(key):
    """The index array if ``key`` picks whole rows along axis 0 by a 1-D integer array, else None."""
    if isinstance(key, tuple):
        if len(key) != 1:
            return None
        key = key[0]
    if isinstance(key, np.ndarray) and key.ndim == 1 and key.dtype.kind in "iu":
        return key
    return None
