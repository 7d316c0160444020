"""Weight initializers, by name as in Keras (``"glorot_uniform"``, ``"orthogonal"``, ...).

Each initializer is a function ``init(shape, fan_in, fan_out, dtype, backend) -> array``; the
layer that owns the weight says what its fans are (a Dense kernel (in, out) has fan_in=in,
fan_out=out; a Conv2D kernel (kh, kw, in, out) has fan_in=kh*kw*in, fan_out=kh*kw*out).
Random draws use the backend's generator, so :func:`minigrad.manual_seed` makes them
repeatable.

Building a model from a file runs under :func:`allocation_budget`: every initializer checks the
shape it is asked for against the weights the file stores *before* it allocates, so that a
file whose architecture asks for ``Dense(10**12)`` fails at once, naming the shape, instead of
exhausting memory. With the weights and the build input bounded, so is what the one-sample
build pass computes from them, up to what the layers make of the input (a convolution with
many filters over a 4096x4096 input still computes its output).
"""

import contextlib
import contextvars
import math
from collections import Counter

import numpy as np

#: The largest input (elements, batch axis included) that building a model from a file may
#: run through it: 2**24 floats are 64 MiB, far above any tutorial model's sample.
MAX_BUILD_INPUT_ELEMENTS = 2 ** 24


class AllocationBudgetError(ValueError):
    """Building a model asked for a weight or an input that its file does not allow."""


class AllocationBudget:
    """What building a model from a file may allocate: weights only of the shapes in
    ``weight_shapes`` (each stored shape once: the file holds exactly the model's weights),
    and build inputs of at most ``max_input_elements`` elements."""

    def __init__(self, weight_shapes, max_input_elements=MAX_BUILD_INPUT_ELEMENTS):
        self.remaining = Counter(tuple(int(d) for d in shape) for shape in weight_shapes)
        self.max_input_elements = int(max_input_elements)

    def claim(self, shape):
        """Take one weight of ``shape`` from the budget, or raise AllocationBudgetError."""
        shape = tuple(shape)
        if self.remaining[shape] <= 0:
            stored = ", ".join(f"{count} x {s}" for s, count in list(self.remaining.items())[:8]
                               if count > 0)
            raise AllocationBudgetError(f"the architecture asks for a weight of shape {shape}, "
                                        f"which the file does not store (weights left: "
                                        f"{stored or 'none'})")
        self.remaining[shape] -= 1

    def check_input(self, shape, what="the build input"):
        """Raise AllocationBudgetError unless ``shape`` (None for the batch axis or an unknown
        size, counted as 1) is a list of sizes with at most ``max_input_elements`` elements."""
        if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
            shape = [shape]
        if not isinstance(shape, (list, tuple)) or not all(
                d is None or isinstance(d, (int, np.integer)) and not isinstance(d, bool)
                and d >= 0 for d in shape):
            raise AllocationBudgetError(f"{what} {shape!r} is not a list of sizes")
        if math.prod(1 if d is None else int(d) for d in shape) > self.max_input_elements:
            raise AllocationBudgetError(f"{what} {tuple(shape)} has more than "
                                        f"{self.max_input_elements} elements")


_budget = contextvars.ContextVar("minigrad_allocation_budget", default=None)


@contextlib.contextmanager
def allocation_budget(weight_shapes, max_input_elements=MAX_BUILD_INPUT_ELEMENTS):
    """Inside (in this thread or task only), initializers create only weights of the shapes
    in ``weight_shapes``, each once, and :func:`check_input_shape` allows inputs of at most
    ``max_input_elements``; anything else raises :class:`AllocationBudgetError` before memory
    is allocated. Yields the :class:`AllocationBudget`.

    >>> with mg.nn.init.allocation_budget([(3, 2), (2,)]):
    ...     mg.nn.Dense(2).build((None, 3))          # the shapes the budget holds: built
    >>> try:
    ...     with mg.nn.init.allocation_budget([(3, 2), (2,)]):
    ...         mg.nn.Dense(10 ** 12).build((None, 3))
    ... except mg.nn.init.AllocationBudgetError as error:
    ...     print(str(error).split(", which")[0])
    the architecture asks for a weight of shape (3, 1000000000000)
    """
    token = _budget.set(AllocationBudget(weight_shapes, max_input_elements))
    try:
        yield _budget.get()
    finally:
        _budget.reset(token)


def claim(shape):
    """Check ``shape`` against the active :func:`allocation_budget` (nothing outside one)."""
    budget = _budget.get()
    if budget is not None:
        budget.claim(shape)


def check_input_shape(shape, what="the build input"):
    """Check an input ``shape`` against the active :func:`allocation_budget` (nothing outside
    one): a model built from a file runs one sample of it through every layer."""
    budget = _budget.get()
    if budget is not None:
        budget.check_input(shape, what)


def zeros(shape, fan_in, fan_out, dtype, backend):
    """All zeros (Keras's default bias)."""
    claim(shape)
    return backend.xp.zeros(shape, dtype=dtype)


def ones(shape, fan_in, fan_out, dtype, backend):
    """All ones (BatchNormalization's default scale)."""
    claim(shape)
    return backend.xp.ones(shape, dtype=dtype)


def _uniform(limit, shape, dtype, backend):
    claim(shape)
    return (backend.uniform(shape, dtype) * (2 * limit) - limit).astype(dtype)


def _normal(std, shape, dtype, backend):
    claim(shape)
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
    claim(shape)
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
