"""Inverted dropout: zero a random fraction of the inputs while training.

Two ways to draw the mask: the backend's kernel (one fresh number per element from the global
generator that ``mg.manual_seed`` seeds: the fast path), or, for ``noise_shape`` or a layer's
own :class:`SeedGenerator`, a mask of the noise shape drawn first and broadcast over the input.
"""

import copy

import numpy as np

from ..autograd.function import Function


class Dropout(Function):
    """The mask and the scaling are a backend kernel (``ctx.backend.dropout``): NumPy's
    generator on the CPU, a counter-based hash on the GPU, both seeded by ``mg.manual_seed``."""

    @staticmethod
    def forward(ctx, x, rate):
        ctx.keep = 1 - rate
        # The kept elements are scaled by 1/keep so that the expected value is unchanged.
        out, mask = ctx.backend.dropout(x, ctx.keep)
        ctx.save_for_backward(mask)
        return out

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved
        return ctx.backend.dropout_backward(grad, mask, ctx.keep)


class DropoutScale(Function):
    """``x * scale`` with a scale drawn beforehand (0 or 1/keep per element of the noise
    shape, which broadcasts to x's shape): the same scale multiplies the gradient."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(scale)
        return x * scale

    @staticmethod
    def backward(ctx, grad):
        (scale,) = ctx.saved
        return grad * scale


class SeedGenerator:
    """A random stream of its own, for a layer whose randomness must not depend on the global
    generator (Keras's ``keras.random.SeedGenerator``): ``Dropout(0.5, seed=1)`` draws the same
    masks in every run, and two layers with different seeds draw different ones.

    One stream per device kind, each started from ``seed`` (None: fresh entropy), drawn from
    one call to the next.

    >>> from minigrad.functional.dropout import SeedGenerator
    >>> x = mg.ones(2, 4)
    >>> a = mg.functional.dropout(x, 0.5, generator=SeedGenerator(7))
    >>> b = mg.functional.dropout(x, 0.5, generator=SeedGenerator(7))
    >>> bool((a == b).all())
    True
    """

    def __init__(self, seed=None):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                                 or seed < 0):
            raise ValueError(f"a seed must be a non-negative int or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self._streams = {}

    def uniform(self, backend, shape, dtype):
        """Samples from U[0, 1) of ``shape`` as an array of ``backend`` (float32 or float64)."""
        stream = self._streams.get(backend.name)
        if stream is None:
            # The generators the backends themselves use (NumPy's Generator, CuPy's RandomState).
            stream = (np.random.default_rng(self.seed) if backend.xp is np
                      else backend.xp.random.RandomState(self.seed))
            self._streams[backend.name] = stream
        return getattr(stream, backend.uniform_method)(shape, dtype=dtype)

    def get_state(self):
        """The CPU stream's position (a JSON-serializable dict; None before its first draw),
        for a backup that must resume the same masks. A GPU stream (CuPy's cuRAND) cannot be
        read: after :meth:`set_state` it starts again from ``seed``."""
        stream = self._streams.get("cpu")
        return None if stream is None else copy.deepcopy(stream.bit_generator.state)

    def set_state(self, state):
        """Continue the CPU stream from a :meth:`get_state` dict (None: from ``seed`` again)."""
        self._streams.clear()
        if state is not None:
            stream = np.random.default_rng()
            stream.bit_generator.state = state
            self._streams["cpu"] = stream

    def __getstate__(self):
        # A GPU stream cannot be pickled (deepcopy, pickle of a model): it restarts from seed.
        return {"seed": self.seed, "_streams": {name: stream for name, stream
                                                 in self._streams.items() if name == "cpu"}}


def noise_shape_of(noise_shape, shape):
    """Keras's ``noise_shape`` for an input of ``shape``: None entries take the input's size;
    each entry must be the input's size or 1 (the mask is shared along that axis)."""
    if noise_shape is None:
        return tuple(shape)
    noise_shape = tuple(noise_shape)
    resolved = tuple(size if want is None else int(want)
                     for want, size in zip(noise_shape, shape))
    if len(noise_shape) != len(shape) or any(w not in (1, s) for w, s in zip(resolved, shape)):
        raise ValueError(f"dropout: noise_shape {noise_shape} does not fit input of shape "
                         f"{tuple(shape)}: it needs one entry per axis, each None, 1 or the "
                         f"input's size")
    return resolved


def dropout(x, rate, training=True, noise_shape=None, generator=None):
    """Zero each element with probability ``rate`` and scale the rest by ``1 / (1 - rate)``
    when ``training``; the identity otherwise. Any shape.

    Args:
        noise_shape: the shape of the mask, broadcast over ``x`` (Keras's): e.g.
            ``(None, 1, None)`` on (N, T, F) drops the same features at every step; None
            entries are ``x``'s sizes. Default: ``x``'s shape.
        generator: a :class:`~minigrad.functional.dropout.SeedGenerator` to draw the mask
            from (reproducible whatever else draws numbers), or None for the global generator
            (``mg.manual_seed``).
    """
    if not 0 <= rate < 1:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
    if not training or rate == 0:
        return x
    if noise_shape is None and generator is None:
        return Dropout.apply(x, rate=float(rate))
    shape = noise_shape_of(noise_shape, x.shape)
    backend, keep = x._backend, 1 - float(rate)
    floating = x.dtype.kind == "f" and x.dtype.itemsize >= 4  # float16 is drawn as float32
    sample_dtype = x.dtype if floating else np.dtype(np.float32)
    uniform = generator.uniform(backend, shape, sample_dtype) if generator is not None \
        else backend.uniform(shape, sample_dtype)
    # The kept elements are scaled by 1/keep so that the expected value is unchanged.
    scale = (uniform < keep).astype(x.dtype) / keep
    return DropoutScale.apply(x, scale=scale)
