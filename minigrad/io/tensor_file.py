"""minigrad's file format: named arrays plus string metadata in one safetensors file.

It knows nothing of models: :mod:`minigrad.train.saving` decides which arrays and which JSON
go in. What this module guarantees for every file it writes or reads:

- the file is written atomically (a crash never leaves it half-written);
- the metadata carries ``format`` ("minigrad"), ``format_version`` and ``sha256``, a checksum
  of every array, so corrupted or tampered data is detected on reading;
- reading never executes anything from the file (safetensors and JSON only, no pickle), and
  any problem is a :class:`ModelFileError` that names the file.
"""

import hashlib
import json
import os
import struct

import numpy as np

from .atomic import atomic_write_bytes

FORMAT = "minigrad"
FORMAT_VERSION = "1"


class ModelFileError(ValueError):
    """A model file that cannot be loaded: not a minigrad file, truncated, corrupt, or made for
    another architecture. The message names the file and the problem."""


def write_tensor_file(path, arrays, metadata):
    """Write ``arrays`` (names to NumPy arrays) and ``metadata`` (names to strings) to
    ``path``, atomically, with the format marker and the checksum added to the metadata."""
    from safetensors.numpy import save

    arrays = {name: contiguous(array) for name, array in arrays.items()}
    metadata = dict(metadata, format=FORMAT, format_version=FORMAT_VERSION,
                    sha256=checksum(arrays))
    atomic_write_bytes(path, save(arrays, metadata=metadata))


def read_tensor_file(path):
    """``(arrays, metadata)`` of a file written by :func:`write_tensor_file`, verified.

    Raises FileNotFoundError when there is no file, and :class:`ModelFileError` naming the
    file when it is not a minigrad file, comes from another format version, is truncated, or
    its arrays do not match the checksum written with them.
    """
    from safetensors.numpy import load

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no model file at {path!r}")
    with open(path, "rb") as file:
        data = file.read()
    if len(data) < 8:
        raise ModelFileError(f"{path}: not a minigrad model file (only {len(data)} bytes)")
    (header_size,) = struct.unpack("<Q", data[:8])
    if header_size > len(data) - 8:
        raise ModelFileError(f"{path}: truncated or not a safetensors file (the header claims "
                             f"{header_size} bytes, the file has {len(data) - 8})")
    try:
        header = json.loads(data[8:8 + header_size])
        metadata = header.get("__metadata__") or {}
    except (ValueError, AttributeError):
        raise ModelFileError(f"{path}: not a minigrad model file (unreadable header)") from None
    if metadata.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a minigrad model file (no minigrad format marker)")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{path}: format version {metadata.get('format_version')!r} is not "
                             f"supported by this minigrad (it reads {FORMAT_VERSION})")
    try:
        arrays = load(data)
    except Exception as exc:  # safetensors' own error type
        raise ModelFileError(f"{path}: truncated or corrupt ({exc})") from None
    if checksum(arrays) != metadata.get("sha256"):
        raise ModelFileError(f"{path}: corrupt — its data does not match the checksum written "
                             "when it was saved")
    return arrays, metadata


def checksum(arrays):
    """The sha256 (hex) of named arrays: names, dtypes, shapes and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = contiguous(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def contiguous(array):
    """``array`` as a C-contiguous NumPy array of the same shape (``np.ascontiguousarray``
    would turn a 0-d array, a scalar parameter, into shape (1,))."""
    return np.asarray(array, order="C")


# --- nested state (an optimizer's, say) as JSON plus arrays -------------------------------
def host_array(value):
    """``value`` (a Tensor, a CuPy or NumPy array) as a contiguous NumPy array on the host."""
    if hasattr(value, "_backend") and hasattr(value, "data"):  # a Tensor
        value = value._backend.to_numpy(value.data)
    if hasattr(value, "__cuda_array_interface__") and hasattr(value, "get"):
        value = value.get()
    return contiguous(value)


def split_arrays(value, prefix, arrays):
    """JSON-ready ``value`` with every array in it moved into ``arrays`` under a path that
    starts with ``prefix``, and replaced by ``{"__tensor__": path}``; undone by
    :func:`join_arrays`."""
    if isinstance(value, dict):
        return {str(k): split_arrays(v, f"{prefix}/{k}", arrays) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [split_arrays(v, f"{prefix}/{i}", arrays) for i, v in enumerate(value)]
    if hasattr(value, "_backend") and hasattr(value, "data") or \
            hasattr(value, "__cuda_array_interface__") and hasattr(value, "get"):
        value = host_array(value)
    if isinstance(value, np.ndarray):
        arrays[prefix] = contiguous(value)
        return {"__tensor__": prefix}
    if isinstance(value, np.generic):
        return value.item()
    return value


def join_arrays(value, arrays):
    """The value that :func:`split_arrays` took apart, with its arrays put back."""
    if isinstance(value, dict):
        if set(value) == {"__tensor__"}:
            return arrays[value["__tensor__"]]
        return {k: join_arrays(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [join_arrays(v, arrays) for v in value]
    return value
