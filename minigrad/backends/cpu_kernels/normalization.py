"""Numba kernels for batch normalization's backward over (M, C) rows (the features last):
the two sums over the rows it needs, and the input's gradient, each in one pass (NumPy needed
three and five passes over a block)."""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def batch_norm_backward_sums(grad, x, mean, sum_grad, sum_product):
    """Write ``sum(grad, axis=0)`` into ``sum_grad`` and ``sum(grad * (x - mean), axis=0)``
    into ``sum_product`` ((C,) each), adding up in float64."""
    rows, features = grad.shape
    total_grad = np.zeros(features, dtype=np.float64)
    total_product = np.zeros(features, dtype=np.float64)
    for r in range(rows):
        for c in range(features):
            g = np.float64(grad[r, c])
            total_grad[c] += g
            total_product[c] += g * (np.float64(x[r, c]) - np.float64(mean[c]))
    for c in range(features):
        sum_grad[c] = total_grad[c]
        sum_product[c] = total_product[c]


@njit(cache=True, nogil=True)
def batch_norm_input_grad(grad, x, mean, per_centered, mean_grad, scale, out):
    """``out = (grad - mean_grad - (x - mean) * per_centered) * scale``, per row."""
    rows, features = grad.shape
    for r in range(rows):
        for c in range(features):
            out[r, c] = (grad[r, c] - mean_grad[c]
                         - (x[r, c] - mean[c]) * per_centered[c]) * scale[c]
    return out
