"""Tensors on the wire: the Open Inference Protocol's datatypes, and turning a request's input
tensors into NumPy arrays (and outputs back) with every check a client's mistake needs.

A tensor travels either as JSON (``"data"``: the values, flat in row-major order or nested
exactly as the shape) or, with the binary tensor data extension that Triton's clients use by
default, as raw little-endian bytes after the JSON header
(``"parameters": {"binary_data_size": n}``).
"""

import itertools
import math

import numpy as np

from .errors import ServeError, bad_request

#: Protocol datatype -> NumPy dtype (little-endian, as the binary extension sends it).
DATATYPES = {
    "BOOL": np.dtype("?"),
    "UINT8": np.dtype("<u1"), "UINT16": np.dtype("<u2"), "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("<i1"), "INT16": np.dtype("<i2"), "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"), "FP32": np.dtype("<f4"), "FP64": np.dtype("<f8"),
}

# The kinds of values JSON data may hold for each kind of datatype: no strings, no booleans
# for numbers, no fractions for integers.
_JSON_KINDS = {"b": "b", "u": "iu", "i": "iu", "f": "iuf"}


# Keyed by (kind, itemsize): the byte order does not matter (answers are sent little-endian).
_NAME_OF = {(dtype.kind, dtype.itemsize): name for name, dtype in DATATYPES.items()}


def datatype_of(dtype):
    """The protocol name (``"FP32"``, ...) of a NumPy dtype."""
    dtype = np.dtype(dtype)
    name = _NAME_OF.get((dtype.kind, dtype.itemsize))
    if name is None:
        raise TypeError(f"no Open Inference Protocol datatype for NumPy dtype {dtype}")
    return name


class TensorSpec:
    """What a model takes or gives: a ``name``, a protocol ``datatype`` and a ``shape`` with
    -1 for the batch axis (and any other free axis)."""

    def __init__(self, name, datatype, shape):
        self.name = name
        self.datatype = datatype
        self.shape = [int(d) for d in shape]

    @property
    def dtype(self):
        """The NumPy dtype of :attr:`datatype`."""
        return DATATYPES[self.datatype]

    def metadata(self):
        """The tensor's entry in the model metadata."""
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}

    def check_shape(self, shape):
        """Raise a 400 unless ``shape`` (a request's) fits this spec."""
        fits = len(shape) == len(self.shape) and all(
            want in (-1, got) for want, got in zip(self.shape, shape))
        if not fits:
            raise bad_request(f"input '{self.name}': expected shape {self.shape} (-1: any "
                              f"size), got {list(shape)}")
        if shape and shape[0] == 0:
            raise bad_request(f"input '{self.name}': the batch is empty (shape {list(shape)})")


def _field(spec, key, kind, what):
    value = spec.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise bad_request(f"{what}: '{key}' is missing or not a {kind.__name__}")
    return value


def read_tensor_header(spec, what="input"):
    """Check the common fields of a request tensor and return ``(name, datatype, shape,
    binary_size)`` (``binary_size`` None for JSON data)."""
    if not isinstance(spec, dict):
        raise bad_request(f"each {what} must be a JSON object, got {type(spec).__name__}")
    name = _field(spec, "name", str, what)
    what = f"{what} '{name}'"
    datatype = _field(spec, "datatype", str, what)
    shape = _field(spec, "shape", list, what)
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise bad_request(f"{what}: 'shape' must be a list of integers >= 0, got {shape}")
    parameters = spec.get("parameters", {})
    if not isinstance(parameters, dict):
        raise bad_request(f"{what}: 'parameters' must be a JSON object")
    binary_size = parameters.get("binary_data_size")
    if binary_size is not None and (not isinstance(binary_size, int)
                                    or isinstance(binary_size, bool) or binary_size < 0):
        raise bad_request(f"{what}: 'binary_data_size' must be an integer >= 0")
    if binary_size is None and "data" not in spec:
        raise bad_request(f"{what}: no 'data' (and no binary_data_size)")
    return name, datatype, shape, binary_size


def decode_input(spec, expected, binary=None, header=None):
    """The request tensor ``spec`` (its JSON object) as an array of ``expected`` 's dtype and
    the request's shape, or a 400 that says what was expected and what came.

    ``binary`` is the tensor's raw bytes when it came as binary data; ``header`` is what
    :func:`read_tensor_header` returned for ``spec``, when the caller has it already.
    """
    name, datatype, shape, _ = header or read_tensor_header(spec)
    if datatype != expected.datatype:
        raise bad_request(f"input '{name}': expected datatype {expected.datatype}, got "
                          f"{datatype}")
    expected.check_shape(shape)
    count = math.prod(shape)
    dtype = expected.dtype
    if binary is not None:
        if len(binary) != count * dtype.itemsize:
            raise bad_request(f"input '{name}': shape {shape} of {datatype} needs "
                              f"{count * dtype.itemsize} bytes of binary data, got {len(binary)}")
        array = np.frombuffer(binary, dtype=dtype)
    else:
        array = _from_json(spec["data"], dtype, name, shape)
        if array.size != count:
            raise bad_request(f"input '{name}': shape {shape} holds {count} elements, 'data' "
                              f"has {array.size}")
    if dtype.kind == "f" and not np.isfinite(array).all():
        raise bad_request(f"input '{name}': NaN or infinity in the data (out of range of "
                          f"{datatype}?); the model takes finite numbers only")
    return array.reshape(shape)


def _from_json(data, dtype, name, shape):
    """JSON values (a flat list of numbers, or lists nested as ``shape``) as a flat array of
    ``dtype``."""
    if not isinstance(data, list):
        data = [data]
    try:
        values = np.asarray(data)
    except ValueError:  # ragged nesting, or deeper than NumPy's 64 axes
        raise bad_request(f"input '{name}': 'data' must be a flat list of numbers or lists "
                          f"nested as the shape {shape}") from None
    if values.ndim > 1 and list(values.shape) != list(shape):
        # The same count of values in another layout is a client's mistake, not a reshape.
        raise bad_request(f"input '{name}': 'data' is nested as {list(values.shape)} but "
                          f"'shape' is {shape}; send the values flat or nested as the shape")
    if values.dtype.kind in "iuf" and dtype.kind != "b" and bool in _types(data, values.ndim):
        # NumPy reads [true, 1.5] as [1.0, 1.5]: a boolean among numbers is a mistake too.
        raise bad_request(f"input '{name}': 'data' mixes booleans with numbers; the model "
                          f"takes {datatype_of(dtype)} values")
    kind = values.dtype.kind
    # Integers beyond int64 (up to UINT64's 2**64 - 1) make NumPy guess float64 or object:
    # keep them exact as Python ints when every value is one.
    if values.size and (kind == "O" or kind == "f" and dtype.kind in "iu"):
        flat = list(_flatten(data))
        if all(type(v) is int for v in flat):
            values, kind = np.array(flat, dtype=object), "i"
    if values.size and kind not in _JSON_KINDS[dtype.kind]:
        raise bad_request(f"input '{name}': 'data' holds {_describe(values.dtype)}, not the "
                          f"{datatype_of(dtype)} values the model takes")
    out_of_range = bad_request(f"input '{name}': values out of the range of "
                               f"{datatype_of(dtype)}")
    if dtype.kind in "iu" and values.size:
        info = np.iinfo(dtype)
        if values.min() < info.min or values.max() > info.max:
            raise out_of_range
    try:
        with np.errstate(over="ignore"):  # too-large floats become inf, refused by the caller
            return values.astype(dtype).ravel()
    except OverflowError:  # a Python int too large even for float64
        raise out_of_range from None


def _types(data, depth):
    """The Python types of the values in ``data``, a list nested ``depth`` deep."""
    for _ in range(depth - 1):
        data = itertools.chain.from_iterable(data)
    return set(map(type, data))


def _flatten(data):
    for item in data:
        if isinstance(item, list):
            yield from _flatten(item)
        else:
            yield item


def _describe(dtype):
    return {"U": "strings", "b": "booleans", "f": "fractional numbers", "O": "mixed values or "
            "integers too large"}.get(dtype.kind, f"values of type {dtype}")


def encode_output(name, array, binary):
    """The response entry for output ``name`` and, when ``binary``, its raw bytes (else None).

    JSON cannot hold NaN or infinity, so an output that has them must be asked for as binary.
    """
    array = np.ascontiguousarray(array)
    entry = {"name": name, "datatype": datatype_of(array.dtype), "shape": list(array.shape)}
    if binary:
        raw = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        entry["parameters"] = {"binary_data_size": len(raw)}
        return entry, raw
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ServeError(500, f"output '{name}' has NaN or infinity, which JSON cannot carry; "
                              "request it with binary_data")
    entry["data"] = array.ravel().tolist()
    return entry, None
