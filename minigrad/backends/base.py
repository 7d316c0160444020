"""The interface every backend implements, and the contract of its hot-path kernels."""

import numpy as np


class Backend:
    """One device kind: its array module ``xp`` and its hot-path kernels.

    Everything that ``xp`` (NumPy or CuPy) does well is written once against ``xp`` in the ops;
    the methods here are the few places where the devices really differ. Each method below that
    raises :class:`NotImplementedError` must be implemented by a backend, with the same
    signature; its docstring here is the contract (shapes, dtypes, results, what is written in
    place), and the implementations say only how they do it.

    The hot-path kernel table (Numba or NumPy on the CPU, CUDA kernels from
    ``cuda_kernels/*.cu`` on the GPU):

    - :meth:`scatter_add`: the backward of indexing;
    - :meth:`im2col`, :meth:`col2im`: convolution as a matrix product and its adjoint;
    - :meth:`batch_norm_backward_sums`, :meth:`batch_norm_input_grad`: batch normalization's
      backward, a pass over the rows each;
    - :meth:`max_pool2d`, :meth:`max_pool2d_backward`, :meth:`avg_pool2d`,
      :meth:`avg_pool2d_backward`: pooling windows and their gradients;
    - :meth:`lstm_step_forward`, :meth:`lstm_step_backward`, :meth:`gru_step_forward`,
      :meth:`gru_step_backward`, :meth:`rnn_step_forward`, :meth:`rnn_step_backward` (and, for
      Keras's ``GRU(reset_after=False)``, :meth:`gru_reset_before_gates_forward`,
      :meth:`gru_reset_before_candidate_forward`, :meth:`gru_reset_before_candidate_backward`,
      :meth:`gru_reset_before_gates_backward`): the gate math of one time step of a recurrent
      cell, in place;
    - :meth:`softmax_cross_entropy`, :meth:`softmax_cross_entropy_backward`,
      :meth:`sparse_softmax_cross_entropy`, :meth:`sparse_softmax_cross_entropy_backward`: the
      fused softmax + cross-entropy on logits, with targets or integer labels;
    - :meth:`dropout`, :meth:`dropout_backward`: inverted dropout, with a mask reproducible
      from ``mg.manual_seed``;
    - :meth:`sgd_step`, :meth:`adam_step`: the optimizer updates of many parameters at once.

    Conventions shared by the kernels:

    - arrays are arrays of this backend (``xp.ndarray``); "float" means float32 or float64 (the
      ops compute float16 in float32 before calling a kernel, except where a kernel says it
      takes float16);
    - images are channels-last, (N, H, W, C); ``window``, ``strides`` and ``dilation`` are
      (h, w) pairs of ints, ``padding`` is ((top, bottom), (left, right)) and ``out_hw`` the
      output's (OH, OW), as ``minigrad/functional/conv.py`` computes them (window (oh, ow)
      starts at image row ``oh*sh - top`` and column ``ow*sw - left``);
    - a kernel writes only the arguments its docstring says it writes, and the arrays it
      returns are new ones (but for the buffers that :meth:`sgd_step` hands back);
    - a ``saved`` value returned by a forward is opaque: it is only handed back to the same
      backend's backward (each backend keeps what suits it).
    """

    #: "cpu" or "cuda".
    name = None
    #: The array module, ``numpy`` or ``cupy``.
    xp = None
    #: The bytes of im2col's matrix that a convolution makes at a time. It goes through the
    #: batch a block of whole images at a time, so that the block's columns are still in the
    #: cache when the matrix product reads them. None means the whole batch at once (a GPU,
    #: where one launch per kernel beats many small ones).
    conv_block_bytes = None
    #: The bytes of a block that a memory-bound pass over a large array (batch normalization,
    #: an activation) handles at a time (``minigrad/functional/_blocks.py``). None means the
    #: whole array at once.
    cache_block_bytes = None

    def __repr__(self):
        return f"<minigrad {self.name} backend>"

    def __reduce__(self):
        # One backend object per device, compared by identity in every op: a pickled or
        # deep-copied tensor must come back on that same object, not on a copy of it.
        from .registry import get_backend
        return get_backend, (self.name,)

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
        """Re-seed this backend's random generators (``uniform``, ``normal`` and the dropout
        masks); None: from the operating system's entropy."""
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

    # --- hot-path kernels: indexing ---------------------------------------------------------
    def scatter_add(self, target, key, values):
        """``target[key] += values`` in place, adding repeated indices once per occurrence.

        The backward of indexing (``x[index]``, embedding lookups), where plain
        ``target[key] += values`` would add a repeated index only once: NumPy's
        ``np.add.at(target, key, values)``.

        Args:
            target: an array of any shape and numeric dtype; updated in place.
            key: any NumPy-style index (ints, slices, ``None``, ``Ellipsis``, integer or boolean
                arrays of this backend, or a tuple of them); negative integers count from the
                end. A 1-D integer array picks whole rows along axis 0 (the fast path).
            values: an array or scalar that broadcasts to ``target[key].shape``, of (or cast
                to) ``target``'s dtype; not written.

        Returns:
            None.
        """
        raise NotImplementedError

    # --- running an op's independent tasks side by side --------------------------------------
    def run_shares(self, function, tasks, take_blas=True):
        """Call ``function(share)`` on contiguous shares (lists) of ``tasks`` that together
        hold every task once, and return the results in order; the shares may run on several
        threads at once. ``take_blas=False`` asks to use threads only where that does not
        change how the BLAS runs other products (see ``cpu_threads.run_shares``). This default
        runs one share of all the tasks on the calling thread: a GPU parallelizes inside each
        kernel instead.
        """
        return [function(list(tasks))]

    def thread_count(self):
        """How many shares :meth:`run_shares` runs side by side (1 here)."""
        return 1

    # --- hot-path kernels: convolution ------------------------------------------------------
    def im2col(self, x, window, strides, dilation, padding, out_hw, out=None):
        """The windows of ``x`` as the rows of a matrix, so that a convolution is one product
        ``im2col(x) @ kernel.reshape(-1, F)``.

        Args:
            x: (N, H, W, C) float images, any strides; not written.
            window: (kh, kw), the kernel's size.
            strides: (sh, sw), the step between windows.
            dilation: (dh, dw), the step between a window's cells.
            padding: ((top, bottom), (left, right)); only top and left are read.
            out_hw: (OH, OW), the output's size.
            out: None, or a C-contiguous (N*OH*OW, kh*kw*C) array of ``x``'s dtype to write
                the result into (and return) instead of a new one.

        Returns:
            A C-contiguous (N*OH*OW, kh*kw*C) array of ``x``'s dtype (new, or ``out``), whose
            row ``(n*OH + oh)*OW + ow``, column ``(i*kw + j)*C + c`` holds
            ``x[n, oh*sh - top + i*dh, ow*sw - left + j*dw, c]``, or 0 where that cell lies in
            the padding. The columns are in the order of a (kh, kw, C, F) kernel reshaped to
            (kh*kw*C, F).
        """
        raise NotImplementedError

    def col2im(self, cols, x_shape, window, strides, dilation, padding, out_hw, out=None):
        """The adjoint of :meth:`im2col` (its backward): each value of ``cols`` added back to
        the pixel it was read from.

        ``sum(im2col(x) * cols) == sum(x * col2im(cols))`` for every ``x`` of ``x_shape``.

        Args:
            cols: (N*OH*OW, kh*kw*C) float array, laid out as :meth:`im2col` returns it (any
                strides); not written.
            x_shape: (N, H, W, C), the shape of the images.
            window: the ``window`` given to :meth:`im2col`.
            strides: the ``strides`` given to :meth:`im2col`.
            dilation: the ``dilation`` given to :meth:`im2col`.
            padding: the ``padding`` given to :meth:`im2col`.
            out_hw: the ``out_hw`` given to :meth:`im2col`.
            out: None, or a C-contiguous ``x_shape`` array of ``cols``' dtype to write the
                result into (and return) instead of a new one; what it held is overwritten.

        Returns:
            An (N, H, W, C) array of ``cols``' dtype (new, or ``out``) holding at each pixel
            the sum of the values of ``cols`` that :meth:`im2col` read from it (0 for a pixel
            no window sees); the values it took from the padding are dropped.
        """
        raise NotImplementedError

    # --- hot-path kernels: batch normalization ---------------------------------------------
    def batch_norm_backward_sums(self, grad, x, mean):
        """The two sums over the rows that batch normalization's backward needs.

        Args:
            grad: (M, C) float array, the output's gradient; not written.
            x: (M, C), the input, of ``grad``'s dtype; not written.
            mean: (C,), the batch mean; not written.

        Returns:
            ``(sum(grad, axis=0), sum(grad * (x - mean), axis=0))``, two new (C,) arrays of
            ``grad``'s dtype (added up at least as accurately as a float64 loop).
        """
        raise NotImplementedError

    def batch_norm_input_grad(self, grad, x, mean, per_centered, mean_grad, scale, out):
        """Batch normalization's input gradient, ``(grad - mean_grad - (x - mean) *
        per_centered) * scale`` (the (C,) arrays broadcast over the rows).

        Args:
            grad, x: (M, C) float arrays of one dtype; not written.
            mean, per_centered, mean_grad, scale: (C,) arrays of that dtype; not written.
            out: a C-contiguous (M, C) array of that dtype, overwritten with the result.

        Returns:
            ``out``.
        """
        raise NotImplementedError

    # --- hot-path kernels: pooling ----------------------------------------------------------
    def max_pool2d(self, x, window, strides, padding, out_hw):
        """Window maxima, and which cell of each window won.

        Cells in the padding never win; every window must hold at least one cell of the image.
        Ties go to the first cell in row-major order, and a NaN wins over any number (a later
        NaN over an earlier one), as in PyTorch.

        Args:
            x: (N, H, W, C) float images, any strides; not written.
            window: (pool_h, pool_w).
            strides: (sh, sw), the step between windows.
            padding: ((top, bottom), (left, right)); only top and left are read.
            out_hw: (OH, OW), the output's size.

        Returns:
            ``(out, argmax)``, two new (N, OH, OW, C) arrays; ``out``, of ``x``'s dtype, the
            maximum of each window over its cells inside the image, and ``argmax`` (int32), the
            winner's position ``i*pool_w + j`` inside its window.
        """
        raise NotImplementedError

    def max_pool2d_backward(self, grad, argmax, x_shape, window, strides, padding):
        """The gradient wrt the input of :meth:`max_pool2d`: each window's gradient sent to the
        cell that won it.

        Args:
            grad: (N, OH, OW, C) float, the gradient of the output; not written.
            argmax: (N, OH, OW, C) int32, as :meth:`max_pool2d` returned it; not written.
            x_shape: (N, H, W, C), the shape of the forward's input.
            window: the forward's ``window``.
            strides: the forward's ``strides``.
            padding: the forward's ``padding``.

        Returns:
            A new (N, H, W, C) array of ``grad``'s dtype holding at each cell the sum of
            ``grad`` over the windows it won (overlapping windows add up); 0 at the other cells.
        """
        raise NotImplementedError

    def avg_pool2d(self, x, window, strides, padding, out_hw):
        """Window means, the cells in the padding left out (Keras's "same" average).

        Args:
            x: (N, H, W, C) float images, any strides; not written.
            window: (pool_h, pool_w).
            strides: (sh, sw), the step between windows.
            padding: ((top, bottom), (left, right)); only top and left are read.
            out_hw: (OH, OW), the output's size.

        Returns:
            A new (N, OH, OW, C) array of ``x``'s dtype, the sum of each window's cells inside
            the image divided by their number.
        """
        raise NotImplementedError

    def avg_pool2d_backward(self, grad, x_shape, window, strides, padding):
        """The gradient wrt the input of :meth:`avg_pool2d`: each window's gradient shared
        equally among its cells inside the image.

        Args:
            grad: (N, OH, OW, C) float, the gradient of the output; not written.
            x_shape: (N, H, W, C), the shape of the forward's input.
            window: the forward's ``window``.
            strides: the forward's ``strides``.
            padding: the forward's ``padding``.

        Returns:
            A new (N, H, W, C) array of ``grad``'s dtype (not necessarily C-contiguous) holding
            at each cell the sum over the windows holding it of the window's gradient divided by the
            window's number of cells inside the image.
        """
        raise NotImplementedError

    # --- hot-path kernels: recurrent steps --------------------------------------------------
    # The gate math of one time step, between the per-step matrix products of
    # minigrad/functional/recurrent.py. Shared contract: N rows, U units, the G gates of a row
    # side by side in (N, G*U) arrays; every float array C-contiguous and of one float dtype;
    # ``mask`` an (N,) bool array (False: the row skips the step); no two arrays overlap.
    def lstm_step_forward(self, gates, hu, h_prev, c_prev, mask, h, c):
        """One LSTM step (gates i, f, g, o; Keras's "c" is g)::

            i, f, o = sigmoid(gates + hu)    g = tanh(gates + hu)
            c = f * c_prev + i * g           h = o * tanh(c)

        Args:
            gates: (N, 4U) ``x_t @ kernel + bias``; overwritten with the activations
                (i, f, g, o) that :meth:`lstm_step_backward` takes (unspecified in skipped rows).
            hu: (N, 4U) ``h_prev @ recurrent_kernel``; not written.
            h_prev: (N, U) the state before the step; not written.
            c_prev: (N, U) the cell before the step; not written.
            mask: (N,) bool; a row where it is False keeps its state: ``h = h_prev``,
                ``c = c_prev``.
            h: (N, U); overwritten with the state after the step.
            c: (N, U); overwritten with the cell after the step.

        Returns:
            None.
        """
        raise NotImplementedError

    def lstm_step_backward(self, gates, c, c_prev, d_out, dh, dc, mask):
        """Backward of one LSTM step::

            dh_t = dh + d_out      dc_t = dc + dh_t * o * (1 - tanh(c)^2)
            d_i = dc_t * g * i(1-i)    d_f = dc_t * c_prev * f(1-f)    d_g = dc_t * i * (1-g^2)
            d_o = dh_t * tanh(c) * o(1-o)      dc_prev = dc_t * f

        Args:
            gates: (N, 4U) the activations written by :meth:`lstm_step_forward`; overwritten
                with the gradient wrt the pre-activations (d_i, d_f, d_g, d_o), 0 in skipped
                rows.
            c: (N, U) the cell after the step; not written.
            c_prev: (N, U) the cell before the step; not written.
            d_out: (N, U) the gradient of this step's output; not written.
            dh: (N, U) in place: on entry the gradient reaching ``h_t`` from later steps, on
                exit the part of the gradient of ``h_{t-1}`` that does not go through the
                recurrent product, which the caller adds (``d_gates @ recurrent_kernel.T``):
                0, as an LSTM's ``h_{t-1}`` acts only through that product. In a skipped row
                it becomes ``dh + d_out``.
            dc: (N, U) in place: from the gradient of ``c_t`` to that of ``c_{t-1}``
                (``dc_prev``); unchanged in a skipped row.
            mask: (N,) bool, the forward's.

        Returns:
            None.
        """
        raise NotImplementedError

    def gru_step_forward(self, gates, hu, recurrent_bias, h_prev, mask, rh, h):
        """One GRU step, Keras's ``reset_after=True`` (PyTorch's GRU); gates z, r, hh::

            u = hu + recurrent_bias
            z = sigmoid(x_z + u_z)    r = sigmoid(x_r + u_r)    hh = tanh(x_h + r * u_h)
            h = z * h_prev + (1 - z) * hh

        Args:
            gates: (N, 3U) ``x_t @ kernel + input_bias`` (x_z, x_r, x_h); overwritten with the
                activations (z, r, hh) (unspecified in skipped rows).
            hu: (N, 3U) ``h_prev @ recurrent_kernel``; not written.
            recurrent_bias: (3U,); not written.
            h_prev: (N, U) the state before the step; not written.
            mask: (N,) bool; a row where it is False keeps its state (``h = h_prev``).
            rh: (N, U); overwritten with ``u_h``, the candidate's recurrent part, which
                :meth:`gru_step_backward` takes (0 in skipped rows).
            h: (N, U); overwritten with the state after the step.

        Returns:
            None.
        """
        raise NotImplementedError

    def gru_step_backward(self, gates, rh, h_prev, d_out, dh, mask, d_recurrent):
        """Backward of one GRU step::

            dh_t = dh + d_out    d_z = dh_t * (h_prev - hh) * z(1-z)
            d_a = dh_t * (1-z) * (1-hh^2)    d_r = d_a * u_h * r(1-r)    dh_prev = dh_t * z

        Args:
            gates: (N, 3U) the activations (z, r, hh) written by :meth:`gru_step_forward`;
                overwritten with the gradient wrt the input part's pre-activations
                (d_z, d_r, d_a), 0 in skipped rows.
            rh: (N, U) ``u_h`` as the forward wrote it; not written.
            h_prev: (N, U) the state before the step; not written.
            d_out: (N, U) the gradient of this step's output; not written.
            dh: (N, U) in place, as in :meth:`lstm_step_backward`: on exit ``dh_prev`` (the
                caller adds ``d_recurrent @ recurrent_kernel.T``); ``dh + d_out`` in a skipped
                row.
            mask: (N,) bool, the forward's.
            d_recurrent: (N, 3U); overwritten with the gradient wrt ``hu + recurrent_bias``,
                (d_z, d_r, d_a * r); 0 in skipped rows.

        Returns:
            None.
        """
        raise NotImplementedError

    # Keras's GRU(reset_after=False) applies r to the state before the recurrent product,
    # ``hh = tanh(x_h + (r * h_prev) @ U_h)``, so each step has two products and the gate math
    # is cut in two kernels around the second one: forward ``h_prev @ U_zr`` ->
    # ``..._gates_forward`` -> ``rh @ U_h`` -> ``..._candidate_forward``; backward the same
    # pieces in the opposite order.
    def gru_reset_before_gates_forward(self, gates, hu, h_prev, mask, rh):
        """The update and reset gates of one GRU step with ``reset_after=False``::

            z = sigmoid(x_z + hu_z)    r = sigmoid(x_r + hu_r)    rh = r * h_prev

        Args:
            gates: (N, 3U) ``x_t @ kernel + bias`` (x_z, x_r, x_h); its first 2U columns are
                overwritten with (z, r), the last U are not written (unspecified in skipped
                rows).
            hu: (N, 2U) ``h_prev @ recurrent_kernel[:, :2U]``; not written.
            h_prev: (N, U) the state before the step; not written.
            mask: (N,) bool; False: the row skips the step.
            rh: (N, U); overwritten with ``r * h_prev``, which the caller multiplies by
                ``recurrent_kernel[:, 2U:]`` (0 in skipped rows).

        Returns:
            None.
        """
        raise NotImplementedError

    def gru_reset_before_candidate_forward(self, gates, hu, h_prev, mask, h):
        """The candidate and the new state of one GRU step with ``reset_after=False``::

            hh = tanh(x_h + hu)    h = z * h_prev + (1 - z) * hh

        Args:
            gates: (N, 3U) as :meth:`gru_reset_before_gates_forward` left it (z, r, x_h); its
                last U columns are overwritten with hh, so that it holds the activations
                (z, r, hh) the backward kernels take (unspecified in skipped rows).
            hu: (N, U) ``rh @ recurrent_kernel[:, 2U:]``; not written.
            h_prev: (N, U) the state before the step; not written.
            mask: (N,) bool; a row where it is False keeps its state (``h = h_prev``).
            h: (N, U); overwritten with the state after the step.

        Returns:
            None.
        """
        raise NotImplementedError

    def gru_reset_before_candidate_backward(self, gates, h_prev, d_out, dh, mask):
        """Backward of :meth:`gru_reset_before_candidate_forward`, the first half of the
        backward of a ``reset_after=False`` GRU step::

            dh_t = dh + d_out    d_z = dh_t * (h_prev - hh) * z(1-z)
            d_a = dh_t * (1-z) * (1-hh^2)    dh = dh_t * z

        Args:
            gates: (N, 3U) the activations (z, r, hh); z and hh are overwritten with the
                gradients of their pre-activations (d_z, r, d_a), r is kept for
                :meth:`gru_reset_before_gates_backward`; the whole row is 0 in skipped rows.
            h_prev: (N, U) the state before the step; not written.
            d_out: (N, U) the gradient of this step's output; not written.
            dh: (N, U) in place: on entry the gradient reaching ``h_t`` from later steps, on
                exit its part that reaches ``h_{t-1}`` through ``z * h_prev``; ``dh + d_out``
                in a skipped row.
            mask: (N,) bool, the forward's.

        Returns:
            None.
        """
        raise NotImplementedError

    def gru_reset_before_gates_backward(self, gates, d_rh, h_prev, dh, mask):
        """The second half of the backward of a ``reset_after=False`` GRU step, after the
        caller has computed ``d_rh = d_a @ recurrent_kernel[:, 2U:].T``::

            d_r = d_rh * h_prev * r(1-r)    dh = dh + d_rh * r

        Args:
            gates: (N, 3U) (d_z, r, d_a) as :meth:`gru_reset_before_candidate_backward` left
                it; r is overwritten with d_r, so that the row holds the gradients of the three
                pre-activations (d_z, d_r, d_a); skipped rows are not written.
            d_rh: (N, U) the gradient of ``rh = r * h_prev``; not written.
            h_prev: (N, U) the state before the step; not written.
            dh: (N, U) in place: ``d_rh * r`` is added (the caller then adds
                ``(d_z, d_r) @ recurrent_kernel[:, :2U].T``); unchanged in a skipped row.
            mask: (N,) bool, the forward's.

        Returns:
            None.
        """
        raise NotImplementedError

    def rnn_step_forward(self, gates, hu, h_prev, mask, relu, h):
        """One simple-RNN step: ``h = tanh(gates + hu)``, or ``max(gates + hu, 0)`` with
        ``relu``.

        Args:
            gates: (N, U) ``x_t @ kernel + bias``; not written.
            hu: (N, U) ``h_prev @ recurrent_kernel``; not written.
            h_prev: (N, U) the state before the step; not written.
            mask: (N,) bool; a row where it is False keeps its state (``h = h_prev``).
            relu: bool, the activation: relu if true, else tanh.
            h: (N, U); overwritten with the state after the step.

        Returns:
            None.
        """
        raise NotImplementedError

    def rnn_step_backward(self, h, d_out, dh, mask, relu, d_gates):
        """Backward of one simple-RNN step, from its output ``h``:
        ``d_gates = (dh + d_out) * (1 - h^2)``, or ``* (h > 0)`` with ``relu``.

        Args:
            h: (N, U) the state the forward wrote; not written.
            d_out: (N, U) the gradient of this step's output; not written.
            dh: (N, U) in place, as in :meth:`lstm_step_backward`: 0 on exit (the whole
                gradient of ``h_{t-1}`` goes through the recurrent product, which the caller
                adds); ``dh + d_out`` in a skipped row.
            mask: (N,) bool, the forward's.
            relu: bool, the forward's.
            d_gates: (N, U); overwritten with the gradient wrt the pre-activation, 0 in skipped
                rows.

        Returns:
            None.
        """
        raise NotImplementedError

    # --- hot-path kernels: softmax cross-entropy --------------------------------------------
    # Logits (..., C), classes last, one row per sample; the log-softmax is taken from
    # x - max(x), so logits of 1e4 give finite losses and gradients.
    def softmax_cross_entropy(self, x, targets):
        """The cross-entropy of ``targets`` and ``softmax(x)``, per row.

        Args:
            x: (..., C) float logits, C >= 1; not written.
            targets: (..., C), the same shape: one-hot rows or any distributions (any real
                dtype; used in ``x``'s dtype); not written.

        Returns:
            ``(loss, saved)``, with ``loss`` a new (...) array of ``x``'s dtype,
            ``-sum(targets * log_softmax(x), axis=-1)``; ``saved`` what
            :meth:`softmax_cross_entropy_backward` takes back (opaque).
        """
        raise NotImplementedError

    def softmax_cross_entropy_backward(self, saved, targets, grad):
        """The gradient wrt the logits of :meth:`softmax_cross_entropy`.

        Args:
            saved: the forward's ``saved``.
            targets: the forward's ``targets``; not written.
            grad: (...) the gradient of the per-row losses, of ``x``'s dtype (a broadcast view
                is fine); not written.

        Returns:
            A new (..., C) array of ``x``'s dtype,
            ``grad[..., None] * (softmax(x) * sum(targets, axis=-1, keepdims=True) - targets)``.
        """
        raise NotImplementedError

    def sparse_softmax_cross_entropy(self, x, labels):
        """The cross-entropy of integer labels and ``softmax(x)``, per row.

        Args:
            x: (..., C) float logits, C >= 1; not written.
            labels: (...) integers in [0, C) (any integer dtype; the caller checks the range);
                not written.

        Returns:
            ``(loss, saved)``, with ``loss`` a new (...) array of ``x``'s dtype,
            ``-log_softmax(x)[..., label]``; ``saved`` what
            :meth:`sparse_softmax_cross_entropy_backward` takes back (opaque).
        """
        raise NotImplementedError

    def sparse_softmax_cross_entropy_backward(self, saved, labels, grad):
        """The gradient wrt the logits of :meth:`sparse_softmax_cross_entropy`.

        Args:
            saved: the forward's ``saved``.
            labels: the forward's ``labels``; not written.
            grad: (...) the gradient of the per-row losses, of ``x``'s dtype (a broadcast view
                is fine); not written.

        Returns:
            A new (..., C) array of ``x``'s dtype,
            ``grad[..., None] * (softmax(x) - one_hot(labels))``.
        """
        raise NotImplementedError

    # --- hot-path kernels: dropout ----------------------------------------------------------
    def dropout(self, x, keep):
        """Inverted dropout: each element kept with probability ``keep`` and scaled by
        ``1/keep``, or zeroed, so that the expected value is unchanged.

        The mask is drawn from this backend's generator, so it is reproducible from
        ``mg.manual_seed`` (each call draws new numbers; the CPU and the GPU draw different
        masks).

        Args:
            x: an array of any shape, float16, float32 or float64; not written.
            keep: the probability of keeping an element, in (0, 1].

        Returns:
            ``(out, saved)``, with ``out`` a new array of ``x``'s shape and dtype, ``x * scale``,
            ``scale`` 1/keep or 0 per element, and ``saved`` what :meth:`dropout_backward`
            takes back (opaque).
        """
        raise NotImplementedError

    def dropout_backward(self, grad, saved, keep):
        """The gradient wrt the input of :meth:`dropout`: ``grad * scale``, with the forward's
        scale.

        Args:
            grad: the gradient of the output, of ``x``'s shape and dtype; not written.
            saved: the forward's ``saved``.
            keep: the forward's ``keep``.

        Returns:
            A new array of ``grad``'s shape and dtype.
        """
        raise NotImplementedError

    # --- hot-path kernels: optimizer updates ------------------------------------------------
    # Many parameters at once: one list entry per parameter, the arrays of an entry of the
    # parameter's shape and dtype (any float dtype, float16 included); hyperparameters are
    # Python numbers. The formulas are those of minigrad.optim.SGD and minigrad.optim.Adam.
    def sgd_step(self, params, grads, buffers, lr, weight_decay, momentum, dampening, nesterov):
        """One SGD step (PyTorch's) of every parameter, in place::

            g = grad + weight_decay * param
            with momentum: b = g (first step) or momentum * b + (1 - dampening) * g,
                           then g = g + momentum * b (Nesterov) or g = b
            param -= lr * g

        Args:
            params: list of parameter arrays; updated in place.
            grads: list of their gradients; not written.
            buffers: list of their momentum buffers (updated in place), each None before the
                parameter's first step with momentum; not read when ``momentum`` is 0.
            lr: float, the learning rate.
            weight_decay: float.
            momentum: float; 0 for none.
            dampening: float.
            nesterov: bool.

        Returns:
            The list of buffers, one per parameter, that the next step takes -- the entries
            of ``buffers`` (updated in place), a new array where an entry was None; with
            ``momentum`` 0, the entries as given.
        """
        raise NotImplementedError

    def adam_step(self, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, step, lr, betas,
                  eps, weight_decay, decoupled, amsgrad):
        """One Adam/AdamW step of every parameter, in place, the ``step``-th of each::

            AdamW (decoupled): param *= 1 - lr * weight_decay;  Adam: g = grad + wd * param
            m = beta1 * m + (1 - beta1) * g      v = beta2 * v + (1 - beta2) * g^2
            amsgrad: v_max = max(v_max, v), used for v below
            param -= lr / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps)

        Args:
            params: list of parameter arrays; updated in place.
            grads: list of their gradients; not written.
            exp_avgs: list of their first moments (m); updated in place.
            exp_avg_sqs: list of their second moments (v); updated in place.
            max_exp_avg_sqs: with ``amsgrad``, the list of their ``v_max`` (updated in place);
                else None.
            step: int >= 1, the step count of every parameter of the call.
            lr: float, the learning rate.
            betas: (beta1, beta2), floats.
            eps: float.
            weight_decay: float.
            decoupled: bool, AdamW's weight decay.
            amsgrad: bool.

        Returns:
            None.
        """
        raise NotImplementedError
