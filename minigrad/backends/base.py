"""The interface every backend implements."""

import numpy as np


class Backend:
    """One device kind: its array module ``xp`` and its hot-path kernels.

    Everything that ``xp`` (NumPy or CuPy) does well is written once against ``xp`` in the ops;
    the methods here are the few places where the devices really differ.

    The hot-path kernel table, implemented by each backend (Numba or NumPy on the CPU, CUDA
    kernels from ``cuda_kernels/*.cu`` on the GPU); the arguments and results are documented on
    :class:`~minigrad.backends.cpu.CPUBackend`:

    - ``scatter_add``: the backward of indexing (below);
    - ``im2col``, ``col2im``: convolution as a matrix product and its adjoint;
    - ``max_pool2d``, ``max_pool2d_backward``: window maxima with the winners' positions, and
      the gradient sent back to the winners;
    - ``avg_pool2d``, ``avg_pool2d_backward``: window means (padding left out) and their
      gradient;
    - ``lstm_step_forward``/``_backward``, ``gru_step_forward``/``_backward``,
      ``rnn_step_forward``/``_backward``: one time step of a recurrent cell's gate math, in
      place;
    - ``softmax_cross_entropy``/``_backward``, ``sparse_softmax_cross_entropy``/``_backward``:
      the fused softmax + cross-entropy on logits, with targets or integer labels;
    - ``dropout``, ``dropout_backward``: inverted dropout, with a mask reproducible from
      ``mg.manual_seed``;
    - ``sgd_step``, ``adam_step``: the optimizer updates of many parameters at once (SGD with
      momentum, Nesterov and weight decay; Adam/AdamW with amsgrad).
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
