"""The interface every backend implements."""

import numpy as np


class Backend:
    """One device kind: its array module ``xp`` and its hot-path kernels.

    Everything that ``xp`` (NumPy or CuPy) does well is written once against ``xp`` in the ops;
    the methods here are the few places where the devices really differ.

    The hot-path kernel table, implemented by each backend (Numba on the CPU, CuPy/CUDA on the
    GPU): ``scatter_add`` (indexing backward); ``im2col``, ``col2im``, ``max_pool2d``,
    ``max_pool2d_backward`` (convolution and pooling, see
    :class:`~minigrad.backends.cpu.CPUBackend`); ``lstm_step_forward``/``_backward``,
    ``gru_step_forward``/``_backward``, ``rnn_step_forward``/``_backward`` (one time step of a
    recurrent cell's gate math).
    """

    #: "cpu" or "cuda".
    name = None
    #: The array module, ``numpy`` or ``cupy``.
    xp = None

    def __repr__(self):
        return f"<minigrad {self.name} backend>"

    # --- moving data ------------------------------------------------------------------------
    def asarray(self, data, dtype=None):
        """Return ``data`` (a NumPy/CuPy array, list or scalar) as an array of this backend."""
        raise NotImplementedError

    def to_numpy(self, array):
        """Return a NumPy array with the contents of ``array`` (a copy when it lives on a GPU)."""
        raise NotImplementedError

    def owns(self, array):
        """True if ``array`` is an array of this backend (``xp.ndarray``)."""
        return isinstance(array, self.xp.ndarray)

    def independent(self, array):
        """Return ``array``, or a copy of it if it is a read-only or broadcast view.

        Used before a gradient is handed to the user as ``tensor.grad``, which they may update
        in place.
        """
        raise NotImplementedError

    def synchronize(self):
        """Wait until all queued work on the device has finished (for timing)."""

    # --- random numbers ---------------------------------------------------------------------
    def seed(self, seed):
        """Re-seed this backend's random generator."""
        raise NotImplementedError

    #: The name of the generator's U[0, 1) method ("random" in NumPy, "random_sample" in CuPy).
    uniform_method = "random"

    def uniform(self, shape, dtype):
        """Samples from U[0, 1) of the given shape and floating dtype."""
        return self._sample(self.uniform_method, shape, dtype)

    def normal(self, shape, dtype):
        """Samples from N(0, 1) of the given shape and floating dtype."""
        return self._sample("standard_normal", shape, dtype)

    def _sample(self, method, shape, dtype):
        # Generators make float32 and float64; float16 is drawn as float32 and rounded.
        draw = getattr(self._rng, method)
        if dtype == np.float16:
            return draw(shape, dtype=np.float32).astype(np.float16)
        return draw(shape, dtype=dtype)

    # --- hot-path kernels -------------------------------------------------------------------
    def scatter_add(self, target, key, values):
        """``target[key] += values`` in place, adding repeated indices once per occurrence.

        ``key`` is any NumPy-style index (it may hold integer or boolean arrays). This is the
        backward of indexing; plain ``target[key] += values`` would add a repeated index once.
        """
        raise NotImplementedError
