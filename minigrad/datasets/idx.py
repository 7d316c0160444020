"""Reading the IDX format of MNIST and Fashion-MNIST (optionally gzip-compressed).

An IDX file is a big-endian header (two zero bytes, a type code, the number of dimensions,
then each dimension as a 4-byte integer) followed by the values in row-major order.
"""

import gzip
import zlib

import numpy as np

from .files import DatasetError, locate

_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def parse_idx(data, what="IDX data"):
    """A NumPy array from the bytes of an IDX file; :class:`DatasetError` naming ``what`` when
    the header is wrong or the data is truncated."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _TYPES:
        raise DatasetError(f"{what} is not an IDX file (bad magic number {data[:4].hex()})")
    dtype = np.dtype(_TYPES[data[2]])
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{what} is truncated: the header needs {header} bytes, got "
                           f"{len(data)}")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", ndim, 4))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise DatasetError(f"{what} has {len(data)} bytes, but its header {shape} needs "
                           f"{expected} (truncated or corrupt)")
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path):
    """The array in the IDX file ``path`` (``.gz`` files are decompressed)."""
    try:
        with open(path, "rb") as file:
            data = file.read()
        if str(path).endswith(".gz"):
            data = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        if isinstance(error, DatasetError):
            raise
        raise DatasetError(f"{path} could not be decompressed: {error}") from error
    return parse_idx(data, str(path))


def load_idx_dataset(name, files, root, what, image_shape=(28, 28), download=True):
    """((x_train, y_train), (x_test, y_test)) from the four MNIST-style IDX gz files."""
    paths = locate(name, files, root, what, download=download)
    x_train, y_train, x_test, y_test = (read_idx(p) for p in paths)
    for path, x, y in ((paths[0], x_train, y_train), (paths[2], x_test, y_test)):
        if x.ndim != 3 or x.shape[1:] != image_shape or x.dtype != np.uint8:
            raise DatasetError(f"{path} holds {x.dtype} images of shape {x.shape}, expected "
                               f"uint8 (N, {image_shape[0]}, {image_shape[1]})")
        if y.shape != (len(x),):
            raise DatasetError(f"the labels for {path} have shape {y.shape}, expected "
                               f"({len(x)},)")
    return (x_train, y_train), (x_test, y_test)
