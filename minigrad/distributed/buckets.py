"""Buckets: many small arrays sent as a few large flat messages.

One collective per parameter costs a latency each (tens of microseconds on a network, more with
many ranks); one collective per ~25 MB bucket costs it a few times per step. The plan depends
only on the arrays' shapes, dtypes and order, so every rank that holds the same model makes the
same plan and the messages match up without being described to each other.

>>> import numpy as np
>>> arrays = [np.ones((2, 3), "float32"), np.ones(4, "float64"), np.ones(5, "float32")]
>>> [(b.dtype.name, b.indices, b.size) for b in mg.distributed.plan_buckets(arrays, 1024)]
[('float32', (0, 2), 11), ('float64', (1,), 4)]
"""

from dataclasses import dataclass

import numpy as np

#: PyTorch DDP's default bucket size, and ours: 25 MiB.
DEFAULT_BUCKET_BYTES = 25 * 2**20


@dataclass(frozen=True)
class Bucket:
    """One flat message: the arrays at ``indices`` (positions in the list that was planned),
    raveled one after another, all of ``dtype``; array ``indices[k]`` sits at
    ``flat[offsets[k]:offsets[k] + sizes[k]]``."""

    dtype: np.dtype
    indices: tuple
    offsets: tuple
    sizes: tuple

    @property
    def size(self):
        """Elements in the flat message."""
        return self.offsets[-1] + self.sizes[-1] if self.indices else 0

    @property
    def nbytes(self):
        """The message's size in bytes."""
        return self.size * self.dtype.itemsize


def plan_buckets(arrays, bucket_bytes=DEFAULT_BUCKET_BYTES):
    """Group ``arrays`` (anything with ``.shape`` and ``.dtype``, in a fixed order) into
    buckets of one dtype each, of at most ``bucket_bytes`` (an array larger than that gets a
    bucket of its own). Dtypes come in the order of their first array; inside a dtype, the
    arrays keep their order, so the plan is the same on every rank.

    Returns a list of :class:`~minigrad.distributed.Bucket`. Raises ``ValueError`` for
    ``bucket_bytes < 1``.
    """
    if isinstance(bucket_bytes, bool) or not isinstance(bucket_bytes, (int, np.integer)) \
            or bucket_bytes < 1:
        raise ValueError(f"bucket_bytes must be a positive number of bytes, got "
                         f"{bucket_bytes!r}")
    by_dtype = {}
    for i, array in enumerate(arrays):
        by_dtype.setdefault(np.dtype(array.dtype), []).append((i, int(np.prod(array.shape))))
    buckets = []
    for dtype, members in by_dtype.items():
        limit = max(1, bucket_bytes // dtype.itemsize)     # elements per bucket
        current = []
        filled = 0
        for i, size in members:
            if current and filled + size > limit:
                buckets.append(_bucket(dtype, current))
                current, filled = [], 0
            current.append((i, size))
            filled += size
        if current:
            buckets.append(_bucket(dtype, current))
    return buckets


def _bucket(dtype, members):
    offsets, total = [], 0
    for _, size in members:
        offsets.append(total)
        total += size
    return Bucket(dtype, tuple(i for i, _ in members), tuple(offsets),
                  tuple(size for _, size in members))


def pack(bucket, arrays, xp, scale=None):
    """The bucket's arrays (taken from the full list ``arrays``; ``None`` stands for zeros)
    raveled into one new contiguous 1-D array of ``xp`` (NumPy or CuPy), times ``scale`` if
    given."""
    flat = xp.empty(bucket.size, dtype=bucket.dtype)
    factor = None if scale is None else bucket.dtype.type(scale)
    for i, offset, size in zip(bucket.indices, bucket.offsets, bucket.sizes):
        part = flat[offset:offset + size]
        if arrays[i] is None:
            part[...] = 0
        elif factor is None:
            part[...] = arrays[i].reshape(-1)
        else:                            # scaled while copied: one pass over the memory
            xp.multiply(arrays[i].reshape(-1), factor, out=part, casting="same_kind")
    return flat


def unpack(bucket, flat, shapes):
    """``{index: view}``: the bucket's pieces of ``flat`` as arrays of ``shapes[index]``
    (views into ``flat``: no copy)."""
    return {i: flat[offset:offset + size].reshape(shapes[i])
            for i, offset, size in zip(bucket.indices, bucket.offsets, bucket.sizes)}
