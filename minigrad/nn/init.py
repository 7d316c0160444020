"""Weight initializers, by name as in Keras (``"glorot_uniform"``, ``"orthogonal"``, ...).

Each initializer is a function ``init(shape, fan_in, fan_out, dtype, backend) -> array``; the
layer that owns the weight says what its fans are (a Dense kernel (in, out) has fan_in=in,
fan_out=out; a Conv2D kernel (kh, kw, in, out) has fan_in=kh*kw*in, fan_out=kh*kw*out).
Random draws use the backend's generator, so :func:`minigrad.manual_seed` makes them
repeatable.
"""

import math

import numpy as np


def zeros(shape, fan_in, fan_out, dtype, backend):
    """All zeros (Keras's default bias)."""
    return backend.xp.zeros(shape, dtype=dtype)


def ones(shape, fan_in, fan_out, dtype, backend):
    """All ones (BatchNormalization's default scale)."""
    return backend.xp.ones(shape, dtype=dtype)


def _uniform(limit, shape, dtype, backend):
    return (backend.uniform(shape, dtype) * (2 * limit) - limit).astype(dtype)


def _normal(std, shape, dtype, backend):
    return (backend.normal(shape, dtype) * std).astype(dtype)


def glorot_uniform(shape, fan_in, fan_out, dtype, backend):
    """U(-l, l) with l = sqrt(6 / (fan_in + fan_out)) (Xavier; Keras's default kernel)."""
    return _uniform(math.sqrt(6 / (fan_in + fan_out)), shape, dtype, backend)


def glorot_normal(shape, fan_in, fan_out, dtype, backend):
    """N(0, 2 / (fan_in + fan_out))."""
    return _normal(math.sqrt(2 / (fan_in + fan_out)), shape, dtype, backend)


def he_uniform(shape, fan_in, fan_out, dtype, backend):
    """U(-l, l) with l = sqrt(6 / fan_in) (for ReLU layers)."""
    return _uniform(math.sqrt(6 / fan_in), shape, dtype, backend)


def he_normal(shape, fan_in, fan_out, dtype, backend):
    """N(0, 2 / fan_in) (for ReLU layers)."""
    return _normal(math.sqrt(2 / fan_in), shape, dtype, backend)


def lecun_uniform(shape, fan_in, fan_out, dtype, backend):
    """U(-l, l) with l = sqrt(3 / fan_in)."""
    return _uniform(math.sqrt(3 / fan_in), shape, dtype, backend)


def lecun_normal(shape, fan_in, fan_out, dtype, backend):
    """N(0, 1 / fan_in)."""
    return _normal(math.sqrt(1 / fan_in), shape, dtype, backend)


def uniform(shape, fan_in, fan_out, dtype, backend):
    """U(-0.05, 0.05) (Keras's RandomUniform default)."""
    return _uniform(0.05, shape, dtype, backend)


def normal(shape, fan_in, fan_out, dtype, backend):
    """N(0, 0.05^2) (Keras's RandomNormal default)."""
    return _normal(0.05, shape, dtype, backend)


def orthogonal(shape, fan_in, fan_out, dtype, backend):
    """A (semi-)orthogonal matrix over (shape[0], prod(shape[1:])), as Keras's recurrent
    kernels: the QR decomposition of a normal matrix, signs fixed so it is uniform."""
    rows, cols = shape[0], int(np.prod(shape[1:]))
    draw = backend.to_numpy(backend.normal((max(rows, cols), min(rows, cols)), np.float64))
    q, r = np.linalg.qr(draw)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return backend.asarray(q.reshape(shape), dtype=dtype)


INITIALIZERS = {f.__name__: f for f in (zeros, ones, glorot_uniform, glorot_normal, he_uniform,
                                        he_normal, lecun_uniform, lecun_normal, uniform, normal,
                                        orthogonal)}
# Keras's other spellings.
INITIALIZERS.update({"xavier_uniform": glorot_uniform, "xavier_normal": glorot_normal,
                     "random_uniform": uniform, "random_normal": normal,
                     "kaiming_uniform": he_uniform, "kaiming_normal": he_normal})


def get(initializer):
    """The initializer function for a name (``"glorot_uniform"``) or a callable."""
    if callable(initializer):
        return initializer
    try:
        return INITIALIZERS[str(initializer).lower()]
    except KeyError:
        names = ", ".join(sorted(INITIALIZERS))
        raise ValueError(f"unknown initializer {initializer!r}; choose from {names}") from None


def name_of(initializer):
    """``initializer`` as a saved config holds it (the inverse of :func:`get`): a name as it is,
    a function by its ``__name__`` (``"glorot_uniform"``), anything else by its ``repr``."""
    if isinstance(initializer, str):
        return initializer
    return getattr(initializer, "__name__", repr(initializer))
