"""The error function ``erf``, elementwise, for the exact GELU.

NumPy has no ``erf``. Rather than an approximation (whose error would show up as a mismatch
between GELU's forward and its exact backward in a float64 gradient check), this uses the C
library's ``erf``: on the CPU through a Numba ufunc compiled on first use (``import minigrad``
does not pay for importing Numba), on the GPU through CuPy's ``cupyx.scipy.special.erf`` (CUDA's
``erf``). Both are accurate to the last bits of float32 and float64.
"""

import functools
import math

import numpy as np


@functools.lru_cache(maxsize=None)
def _numba_erf():
    from numba import vectorize

    @vectorize(["float32(float32)", "float64(float64)"], cache=True)
    def erf(x):
        return math.erf(x)

    return erf


def erf(xp, x):
    """``erf(x)`` of a float32 or float64 array ``x`` of module ``xp`` (NumPy or CuPy); same
    shape and dtype."""
    if xp is np:
        return _numba_erf()(x)
    from cupyx.scipy import special

    return special.erf(x)
