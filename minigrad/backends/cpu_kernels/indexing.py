"""Numba kernels for indexing: the scatter-add behind the backward of x[index].

Each kernel is the compiled loop behind one :class:`~minigrad.backends.cpu.CPUBackend` method.
"""

from numba import njit


@njit(cache=True, nogil=True)
def scatter_add_rows(target, rows, values):
    """``target[rows[i], :] += values[i, :]`` for every i, repeated rows added every time.

    target: (R, W) float array, updated in place; rows: (N,) non-negative ints < R;
    values: (N, W) array of target's dtype. The backward of ``x[index]`` (embedding lookups,
    label gathers), where NumPy's ``np.add.at`` is many times slower.
    """
    width = target.shape[1]
    for i in range(rows.shape[0]):
        row = rows[i]
        for j in range(width):
            target[row, j] += values[i, j]
