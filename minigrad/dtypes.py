"""The dtypes minigrad supports, and how user spellings ("float32", np.float32, ...) map to them.

minigrad's dtypes *are* NumPy dtypes (CuPy uses the same objects), so ``t.dtype == mg.float32``,
``t.dtype == np.float32`` and ``t.dtype == "float32"`` all hold.
"""

import numpy as np

float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
int8 = np.dtype("int8")
int16 = np.dtype("int16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
uint8 = np.dtype("uint8")
bool_ = np.dtype("bool")

#: The dtype of floating-point tensors created without an explicit dtype (as in PyTorch and Keras).
default_float = float32

#: The floating-point dtypes, the only ones that can require gradients.
FLOAT_DTYPES = frozenset({float16, float32, float64})
#: Every dtype a tensor may have (the floats, signed and unsigned integers, and bool).
SUPPORTED_DTYPES = FLOAT_DTYPES | {int8, int16, int32, int64, uint8, bool_,
                                   np.dtype("uint16"), np.dtype("uint32"), np.dtype("uint64")}


def as_dtype(dtype):
    """Return the NumPy dtype for a user spelling of a dtype, or ``None`` for ``None``.

    Accepts strings (``"float32"``), NumPy dtypes and scalar types (``np.float64``) and the Python
    types ``float`` (float32, the default), ``int`` (int64) and ``bool``.

    >>> as_dtype("float16")
    dtype('float16')
    """
    if dtype is None:
        return None
    if dtype is float:
        return default_float
    if dtype is int:
        return int64
    if dtype is bool:
        return bool_
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{dtype!r} is not a dtype; use e.g. 'float32', 'float64', 'float16' "
                        f"or 'int64'") from None
    if resolved not in SUPPORTED_DTYPES:
        supported = ", ".join(sorted(d.name for d in SUPPORTED_DTYPES))
        raise TypeError(f"dtype {resolved.name!r} is not supported by minigrad; "
                        f"supported: {supported}")
    return resolved


def is_floating(dtype):
    """True for float16, float32 and float64."""
    return dtype in FLOAT_DTYPES


def compute_dtype(dtype):
    """The dtype an op computes in for data of ``dtype``: float16 is widened to float32 (BLAS
    and the kernels have no float16, and ``1 - 1e-7`` rounds to 1 in it) and the result rounded
    back by the caller; every other dtype computes as it is.

    >>> mg.dtypes.compute_dtype(mg.float16), mg.dtypes.compute_dtype(mg.float64)
    (dtype('float32'), dtype('float64'))
    """
    return float32 if dtype == float16 else dtype


def result_dtype(a, b):
    """The dtype of a binary op on arrays of dtypes ``a`` and ``b``, following PyTorch.

    Two floats promote as NumPy does (float32 with float64 gives float64); a float beside an
    integer or bool keeps the float's dtype (NumPy would widen int64 + float32 to float64, which
    is the silent promotion this library avoids); two integers promote as NumPy does.
    """
    if a == b:
        return a
    a_float, b_float = a in FLOAT_DTYPES, b in FLOAT_DTYPES
    if a_float and not b_float:
        return a
    if b_float and not a_float:
        return b
    return np.promote_types(a, b)
