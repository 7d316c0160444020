"""Mostly-zero arrays stored compactly in a tensor file: which entries are nonzero as a bitmask
(``np.packbits``, one bit per entry) plus the nonzero values in order -- what a pruned
model's weights need (at 80% zeros a float32 weight takes 0.2 * 4 + 1/8 bytes per entry
instead of 4: about 0.23x).

A file with packed arrays keeps every other array as it is and adds, for each packed array
``name``, the arrays ``packed/<name>/bits`` (uint8) and ``packed/<name>/values`` (its dtype;
absent for a bool array, whose nonzero values are all True), and the metadata entry
``packed``: JSON ``{name: {"shape": [...], "dtype": "<f4"}}``. :func:`unpack_arrays` gives back
exactly the arrays that were packed, after checking that the parts agree (a tampered or
inconsistent file is a :class:`~minigrad.io.ModelFileError`, never a wrong array).

>>> from minigrad.io.packed_arrays import pack_arrays, unpack_arrays
>>> arrays, entry = pack_arrays({"w": np.array([[0.0, 1.5], [0.0, -2.0]])}, ["w"])
>>> sorted(arrays), arrays["packed/w/bits"]
(['packed/w/bits', 'packed/w/values'], array([80], dtype=uint8))
>>> unpack_arrays(arrays, {"packed": entry}, "model.safetensors")["w"]
array([[ 0. ,  1.5],
       [ 0. , -2. ]])
"""

import json
import math

import numpy as np

from .tensor_file import ModelFileError

#: The metadata key that lists the packed arrays.
METADATA_KEY = "packed"
_PREFIX = "packed/"


def pack_arrays(arrays, names):
    """``(arrays, metadata value)``: ``arrays`` (names to NumPy arrays) with each array of
    ``names`` replaced by its bitmask and nonzero values, and the JSON string to store as
    metadata ``"packed"``."""
    packed, described = dict(arrays), {}
    for name in names:
        array = np.asarray(packed.pop(name))
        nonzero = array != 0
        packed[f"{_PREFIX}{name}/bits"] = np.packbits(nonzero.ravel())
        if array.dtype != np.bool_:
            packed[f"{_PREFIX}{name}/values"] = np.ascontiguousarray(array[nonzero])
        described[name] = {"shape": list(array.shape), "dtype": array.dtype.str}
    return packed, json.dumps(described)


def unpack_arrays(arrays, metadata, path):
    """``arrays`` with the packed ones restored to full arrays (the same object when the file
    has none). ``metadata`` is the file's metadata, ``path`` names the file in errors."""
    if METADATA_KEY not in metadata:
        return arrays
    try:
        described = json.loads(metadata[METADATA_KEY])
    except ValueError as exc:
        raise ModelFileError(f"{path}: the list of packed arrays is not JSON ({exc})") from None
    if not isinstance(described, dict):
        raise ModelFileError(f"{path}: the list of packed arrays is not a JSON object")
    unpacked = {name: array for name, array in arrays.items() if not name.startswith(_PREFIX)}
    used = set()
    for name, entry in described.items():
        if name in unpacked:
            raise ModelFileError(f"{path}: {name!r} is stored both packed and in full")
        unpacked[name] = _unpack(arrays, name, entry, path)
        used.update(f"{_PREFIX}{name}/{part}" for part in ("bits", "values"))
    stray = sorted(name for name in arrays if name.startswith(_PREFIX) and name not in used)
    if stray:
        raise ModelFileError(f"{path}: packed parts of no listed array: {', '.join(stray)}")
    return unpacked


def _unpack(arrays, name, entry, path):
    """The full array ``name`` from its bitmask and values, checked against ``entry``."""
    where = f"{path}: packed array {name!r}"
    if not isinstance(entry, dict) or not isinstance(entry.get("shape"), list) or \
            not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                    for d in entry["shape"]):
        raise ModelFileError(f"{where}: its entry must give a shape (a list of sizes >= 0)")
    try:
        if not isinstance(entry.get("dtype"), str):
            raise TypeError
        dtype = np.dtype(entry["dtype"])
    except TypeError:
        raise ModelFileError(f"{where}: unknown dtype {entry.get('dtype')!r}") from None
    if dtype.kind not in "biuf":
        raise ModelFileError(f"{where}: dtype {dtype} is not numeric")
    shape, size = tuple(entry["shape"]), math.prod(entry["shape"])
    bits = arrays.get(f"{_PREFIX}{name}/bits")
    if bits is None or bits.dtype != np.uint8 or bits.shape != (-(-size // 8),):
        raise ModelFileError(f"{where}: needs a uint8 bitmask of {-(-size // 8)} bytes for "
                             f"shape {shape}, the file has "
                             f"{'none' if bits is None else f'{bits.dtype} {bits.shape}'}")
    nonzero = np.unpackbits(bits, count=size).astype(bool)
    if int(np.unpackbits(bits).sum()) != int(nonzero.sum()):
        raise ModelFileError(f"{where}: its bitmask has bits set past its {size} entries")
    count = int(nonzero.sum())
    values = arrays.get(f"{_PREFIX}{name}/values")
    if dtype == np.bool_:
        if values is not None:
            raise ModelFileError(f"{where}: a bool array stores no values")
        return nonzero.reshape(shape)
    if values is None or values.dtype != dtype or values.shape != (count,):
        raise ModelFileError(f"{where}: needs {count} values of dtype {dtype} (the bits set), "
                             f"the file has "
                             f"{'none' if values is None else f'{values.dtype} {values.shape}'}")
    full = np.zeros(size, dtype=dtype)
    full[nonzero] = values
    return full.reshape(shape)
