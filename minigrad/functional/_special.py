"""The complementary error function ``erfc``, elementwise, for the exact GELU.

GELU needs the normal CDF ``Phi(x) = erfc(-x / sqrt(2)) / 2``; through ``erfc`` rather than
``(1 + erf(x / sqrt(2))) / 2`` it keeps its relative accuracy in the left tail, where ``1 + erf``
cancels (at x = -3 in float32 the sum keeps only four digits).

NumPy has no ``erfc``. Rather than an approximation (whose error would show up as a mismatch
between GELU's forward and its exact backward in a float64 gradient check), this uses the C
library's ``erfc``: on the CPU through a Numba ufunc compiled on first use (``import minigrad``
does not pay for importing Numba), on the GPU through CuPy's ``cupyx.scipy.special.erfc``
(CUDA's ``erfc``). Both are accurate to the last bits of float32 and float64.
"""

import functools
import math

import numpy as np


@functools.lru_cache(maxsize=None)
def _numba_erfc():
    from numba import vectorize

    @vectorize(["float32(float32)", "float64(float64)"], cache=True)
    def erfc(x):
        return math.erfc(x)

    return erfc


def erfc(xp, x):
    """``erfc(x) = 1 - erf(x)`` of a float32 or float64 array ``x`` of module ``xp`` (NumPy or
    CuPy); same shape and dtype."""
    if xp is np:
        return np.asarray(_numba_erfc()(x))  # a ufunc gives a NumPy scalar for a 0-d array
    from cupyx.scipy import special

    return special.erfc(x)
