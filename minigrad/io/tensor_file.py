"""minigrad's file format: named arrays plus string metadata in one safetensors file.

It knows nothing of models: :mod:`minigrad.train.saving` decides which arrays and which JSON
go in. What this module guarantees for every file it writes or reads:

- the file is written atomically (a crash never leaves it half-written);
- the metadata carries ``format`` ("minigrad"), ``format_version`` and ``sha256``, the checksum
  of the whole file -- the header with every metadata string (architecture, compile settings,
  optimizer configuration) and every array -- so that any change to any byte is detected;
- reading never executes anything from the file (JSON and raw little-endian arrays only, no
  pickle), reads only regular files, checks every size and offset in the header against the
  file before an array is made, and any problem is a :class:`ModelFileError` that names the
  file.

Format versions. Version 2 (what this minigrad writes): ``sha256`` is the sha256 of the
file's bytes as written, with the 64 characters of the digest itself replaced by 64 ``"0"``
(the writer signs the file that way, the reader undoes it). Version 1 (earlier releases):
``sha256`` covered the arrays only (:func:`~minigrad.io.checksum`). Version 1 files are still
read, with a :class:`ModelFileWarning`, since their header is not protected: saving them
again writes version 2.
"""

import contextlib
import hashlib
import json
import math
import os
import struct
import warnings

import numpy as np

from .atomic import atomic_write_bytes
from .regular_file import UnreadableFileError, open_regular_file

FORMAT = "minigrad"
#: The format version this minigrad writes.
FORMAT_VERSION = "2"
#: The versions :func:`~minigrad.io.read_tensor_file` reads ("1": only the arrays are
#: checksummed).
READABLE_VERSIONS = ("1", "2")
#: Headers larger than this are refused before they are parsed (safetensors' own limit).
MAX_HEADER_BYTES = 100 * 2 ** 20
_PLACEHOLDER = "0" * 64
#: safetensors dtype names and the little-endian NumPy dtypes they are read as.
DTYPES = {"BOOL": "|b1", "U8": "|u1", "I8": "|i1", "U16": "<u2", "I16": "<i2", "F16": "<f2",
          "U32": "<u4", "I32": "<i4", "F32": "<f4", "U64": "<u8", "I64": "<i8", "F64": "<f8"}


class ModelFileError(ValueError):
    """A model file that cannot be loaded: not a minigrad file, truncated, corrupt, or made for
    another architecture. The message names the file and the problem."""


class ModelFileWarning(UserWarning):
    """A model file that loads, but with less protection than a current one (an old format
    version whose checksum does not cover the header)."""


@contextlib.contextmanager
def file_errors(path, problem):
    """Inside, every exception other than :class:`ModelFileError` becomes a
    :class:`ModelFileError` ``"<path>: <problem>: <what went wrong>"``: for code that rebuilds
    objects from a file's contents, where a malformed file can fail in any way (a wrong type,
    a missing key, JSON nested too deeply for the parser)."""
    try:
        yield
    except ModelFileError:
        raise
    except RecursionError:
        raise ModelFileError(f"{os.fspath(path)}: {problem}: nested too deeply") from None
    except Exception as exc:  # a malformed file can break the rebuilding code in any way
        raise ModelFileError(f"{os.fspath(path)}: {problem}: {_describe(exc)}") from exc


def _describe(exc):
    """An exception in words: its message, with the type where the message alone is unclear."""
    if isinstance(exc, KeyError) and exc.args:
        key = exc.args[0]
        return key if isinstance(key, str) and " " in key else f"no entry {key!r}"
    if isinstance(exc, (ValueError, TypeError)) and str(exc):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def write_tensor_file(path, arrays, metadata):
    """Write ``arrays`` (names to NumPy arrays) and ``metadata`` (names to strings) to
    ``path``, atomically, with the format marker and the whole-file checksum added to the
    metadata."""
    from safetensors.numpy import save

    arrays = {name: contiguous(array) for name, array in arrays.items()}
    metadata = dict(metadata, format=FORMAT, format_version=FORMAT_VERSION, sha256=_PLACEHOLDER)
    data = bytearray(save(arrays, metadata=metadata))
    (header_size,) = struct.unpack("<Q", data[:8])
    marker = f'"{_PLACEHOLDER}"'.encode()
    at = data.find(marker, 8, 8 + header_size)
    if at < 0 or data.find(marker, at + 1, 8 + header_size) >= 0:
        raise ValueError(f"cannot write {os.fspath(path)}: a metadata value is the checksum "
                         f"placeholder {_PLACEHOLDER!r}")
    data[at + 1:at + 65] = _file_digest(data, at + 1).encode()
    atomic_write_bytes(path, bytes(data))


def read_tensor_file(path):
    """``(arrays, metadata)`` of a file written by :func:`write_tensor_file`, verified.

    Raises FileNotFoundError when there is no file, and :class:`ModelFileError` naming the
    file when it is not a regular file, not a minigrad file, from an unknown format version,
    truncated, malformed, or does not match the checksum written with it.
    """
    path = os.fspath(path)
    try:
        data = _read(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"no model file at {path!r}") from None
    header, header_end = _header(data, path)
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ModelFileError(f"{path}: not a minigrad model file (its metadata is not a "
                             "table of strings)")
    if metadata.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a minigrad model file (no minigrad format marker)")
    version = metadata.get("format_version")
    if version not in READABLE_VERSIONS:
        raise ModelFileError(f"{path}: format version {version!r} is not supported by this "
                             f"minigrad (it reads {', '.join(READABLE_VERSIONS)})")
    if version != "1":
        _verify_file_checksum(data, header_end, metadata.get("sha256"), path)
    arrays = _arrays(header, memoryview(data)[header_end:], path)
    if version == "1":
        if checksum(arrays) != metadata.get("sha256"):
            raise ModelFileError(f"{path}: corrupt -- its data does not match the checksum "
                                 "written when it was saved")
        warnings.warn(f"{path}: written in format version 1, whose checksum covers the arrays "
                      "but not the architecture and settings; save it again to protect them",
                      ModelFileWarning, stacklevel=2)
    return arrays, metadata


def peek_metadata(path):
    """The metadata of a minigrad file from its header alone (the arrays are not read or
    verified), or None for anything that is not a regular file in minigrad's format. Cheap:
    for recognising model files by their content, whatever their names (``model.h5``,
    ``model``), e.g. when a folder of models is served; :func:`read_tensor_file` verifies."""
    try:
        file, size = open_regular_file(path)
    except (OSError, UnreadableFileError):
        return None
    with file:
        start = file.read(8)
        if len(start) < 8:
            return None
        (header_size,) = struct.unpack("<Q", start)
        if header_size > min(size - 8, MAX_HEADER_BYTES):
            return None
        try:
            header = json.loads(file.read(header_size).decode("utf-8"))
        except (ValueError, RecursionError):
            return None
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        return None
    return metadata


# --- reading, step by step ------------------------------------------------------------------
def _read(path):
    """The file's bytes (a bytearray, so the arrays made from it are writable)."""
    try:
        file, size = open_regular_file(path)
    except UnreadableFileError as exc:
        raise ModelFileError(f"{exc}: it cannot be a model file") from None
    with file:
        data = bytearray(size)
        view, filled = memoryview(data), 0
        while filled < size:
            count = file.readinto(view[filled:])
            if not count:
                break
            filled += count
    del view
    del data[filled:]  # a file that shrank meanwhile: the format checks below see it
    return data


def _header(data, path):
    """``(header dict, offset of the first data byte)``, or ModelFileError."""
    if len(data) < 8:
        raise ModelFileError(f"{path}: not a minigrad model file (only {len(data)} bytes)")
    (header_size,) = struct.unpack("<Q", data[:8])
    if header_size > len(data) - 8:
        raise ModelFileError(f"{path}: truncated or not a safetensors file (the header claims "
                             f"{header_size} bytes, the file has {len(data) - 8})")
    if header_size > MAX_HEADER_BYTES:
        raise ModelFileError(f"{path}: not a minigrad model file (a header of {header_size} "
                             f"bytes; at most {MAX_HEADER_BYTES} are read)")
    try:
        header = json.loads(bytes(data[8:8 + header_size]).decode("utf-8"),
                            object_pairs_hook=_no_duplicate_keys)
    except RecursionError:
        raise ModelFileError(f"{path}: not a minigrad model file (its header is nested too "
                             "deeply)") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, a duplicate key
        raise ModelFileError(f"{path}: not a minigrad model file (unreadable header: "
                             f"{exc})") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: not a minigrad model file (its header is a "
                             f"{type(header).__name__}, not a table)")
    return header, 8 + header_size


def _no_duplicate_keys(pairs):
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate key {next(k for k in keys if keys.count(k) > 1)!r}")
    return dict(pairs)


def _verify_file_checksum(data, header_end, digest, path):
    if not (isinstance(digest, str) and len(digest) == 64
            and all(c in "0123456789abcdef" for c in digest)):
        raise ModelFileError(f"{path}: corrupt -- its checksum field {digest!r} is not a "
                             "sha256")
    marker = f'"{digest}"'.encode()
    at = data.find(marker, 8, header_end)
    if at < 0 or data.find(marker, at + 1, header_end) >= 0:
        raise ModelFileError(f"{path}: corrupt -- its checksum is not where it was written")
    if _file_digest(data, at + 1) != digest:
        raise ModelFileError(f"{path}: corrupt -- its contents do not match the checksum "
                             "written when it was saved (the file was changed or damaged)")


def _file_digest(data, at):
    """The sha256 (hex) of ``data`` with its 64 bytes from ``at`` read as the placeholder."""
    view = memoryview(data)
    digest = hashlib.sha256(view[:at])
    digest.update(_PLACEHOLDER.encode())
    digest.update(view[at + 64:])
    return digest.hexdigest()


def _arrays(header, buffer, path):
    """The arrays the header describes, as views of ``buffer`` (the bytes after the header),
    after checking that every entry is well formed and that together they tile the buffer
    exactly: sizes come from the file, so they are checked before anything is made."""
    entries = []
    for name, entry in header.items():
        if not (isinstance(entry, dict) and set(entry) == {"dtype", "shape", "data_offsets"}):
            raise ModelFileError(f"{path}: malformed header: the entry of tensor {name!r} is "
                                 f"not {{dtype, shape, data_offsets}}")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if not isinstance(dtype, str) or dtype not in DTYPES:
            raise ModelFileError(f"{path}: malformed header: tensor {name!r} has dtype "
                                 f"{dtype!r}; minigrad reads {', '.join(DTYPES)}")
        if not (isinstance(shape, list) and all(_is_count(s) for s in shape)):
            raise ModelFileError(f"{path}: malformed header: tensor {name!r} has shape "
                                 f"{shape!r}, expected a list of sizes >= 0")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_count, offsets))
                and offsets[0] <= offsets[1]):
            raise ModelFileError(f"{path}: malformed header: tensor {name!r} has data_offsets "
                                 f"{offsets!r}, expected [start, end]")
        dtype = np.dtype(DTYPES[dtype])
        needed = math.prod(shape) * dtype.itemsize
        if needed != offsets[1] - offsets[0]:
            raise ModelFileError(f"{path}: malformed header: tensor {name!r} of shape "
                                 f"{tuple(shape)} and dtype {dtype} needs {needed} bytes, its "
                                 f"data_offsets span {offsets[1] - offsets[0]}")
        entries.append((offsets[0], offsets[1], name, dtype, shape))
    end = 0
    for start, stop, name, _, _ in sorted(entries):
        if start != end:
            raise ModelFileError(f"{path}: malformed header: tensor {name!r} starts at byte "
                                 f"{start} of the data, expected {end} (a gap or an overlap)")
        end = stop
    if end != len(buffer):
        raise ModelFileError(f"{path}: truncated or corrupt: the header describes {end} bytes "
                             f"of data, the file has {len(buffer)}")
    arrays = {}
    for start, stop, name, dtype, shape in entries:
        array = np.frombuffer(buffer[start:stop], dtype=dtype).reshape(shape)
        if not array.flags.aligned:  # a hand-made file; compiled kernels want aligned data
            array = array.copy()
        arrays[name] = array.astype(dtype.newbyteorder("="), copy=False)
    return arrays


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def checksum(arrays):
    """The sha256 (hex) of named arrays: names, dtypes, shapes and bytes, in name order (the
    checksum of format version 1, which covers no metadata)."""
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
