"""The CPU backend: NumPy arrays, with Numba kernels for the hot loops NumPy does badly."""

import numpy as np

from . import xp_kernels
from .base import Backend

# Numba compiles the kernels on first use, so small index adds are faster in NumPy itself.
_NUMBA_MIN_ROWS = 64


class CPUBackend(Backend):
    """NumPy arrays in host memory; hot loops in :mod:`minigrad.backends.cpu_kernels` (Numba)."""

    name = "cpu"
    uniform_method = "random"
    xp = np

    def __init__(self):
        self._rng = np.random.default_rng()

    def asarray(self, data, dtype=None):
        if hasattr(data, "__cuda_array_interface__") and hasattr(data, "get"):
            data = data.get()  # a CuPy array: copy device -> host
        return np.asarray(data, dtype=dtype)

    def to_numpy(self, array):
        return array

    def independent(self, array):
        # A view may share memory with another gradient; a broadcast view is read-only.
        if array.base is None and array.flags.writeable:
            return array
        return array.copy()

    def seed(self, seed):
        self._rng = np.random.default_rng(seed)

    def scatter_add(self, target, key, values):
        rows = _row_index(key)
        if (rows is not None and rows.size >= _NUMBA_MIN_ROWS and target.ndim >= 1
                and target.dtype in (np.float32, np.float64) and target.flags.c_contiguous):
            from .cpu_kernels.indexing import scatter_add_rows

            width = target[0].size if target.shape[0] else 0
            rows = np.where(rows < 0, rows + target.shape[0], rows)
            values = np.ascontiguousarray(np.broadcast_to(values, rows.shape + target.shape[1:]),
                                          dtype=target.dtype)
            scatter_add_rows(target.reshape(target.shape[0], width), rows,
                             values.reshape(rows.size, width))
        else:
            np.add.at(target, key, values)

    # --- convolution and pooling kernels ---
    # Images are channels-last (N, H, W, C), float32 or float64; ``window``, ``strides`` and
    # ``dilation`` are (h, w) pairs, ``padding`` is ((top, bottom), (left, right)) and
    # ``out_hw`` the output's (OH, OW), as minigrad/functional/conv.py computes them.
    def im2col(self, x, window, strides, dilation, padding, out_hw):
        """The (N*OH*OW, kh*kw*C) matrix of the windows of ``x``, one row per output pixel in
        the kernel's (i, j, c) order; cells in the padding are 0."""
        from .cpu_kernels.conv import im2col

        x = np.ascontiguousarray(x)
        cols = np.empty((x.shape[0] * out_hw[0] * out_hw[1], window[0] * window[1] * x.shape[3]),
                        dtype=x.dtype)
        return im2col(x, *window, *strides, *dilation, padding[0][0], padding[1][0], *out_hw,
                      cols)

    def col2im(self, cols, x_shape, window, strides, dilation, padding, out_hw):
        """The adjoint of :meth:`im2col`: each value of ``cols`` added back to the pixel of an
        (N, H, W, C) array of ``x_shape`` it was read from."""
        from .cpu_kernels.conv import col2im

        x = np.zeros(x_shape, dtype=cols.dtype)
        return col2im(np.ascontiguousarray(cols), *window, *strides, *dilation, padding[0][0],
                      padding[1][0], *out_hw, x)

    def max_pool2d(self, x, window, strides, padding, out_hw):
        """The window maxima (N, OH, OW, C) of ``x`` and the position ``i*pool_w + j`` of each
        winner in its window (int32); ties go to the first, NaN wins (as in PyTorch)."""
        from .cpu_kernels.pooling import max_pool2d_forward

        shape = (x.shape[0], *out_hw, x.shape[3])
        out, argmax = np.empty(shape, dtype=x.dtype), np.empty(shape, dtype=np.int32)
        max_pool2d_forward(np.ascontiguousarray(x), *window, *strides, padding[0][0],
                           padding[1][0], out, argmax)
        return out, argmax

    def max_pool2d_backward(self, grad, argmax, x_shape, window, strides, padding):
        """The gradient wrt the input of :meth:`max_pool2d`: each value of ``grad`` added to
        the cell that won its window."""
        from .cpu_kernels.pooling import max_pool2d_backward, max_pool2d_backward_tiled

        grad = np.ascontiguousarray(grad)
        if tuple(strides) == tuple(window) and not any(padding[0]) and not any(padding[1]):
            return max_pool2d_backward_tiled(grad, argmax, *window,
                                             np.empty(x_shape, dtype=grad.dtype))
        grad_x = np.zeros(x_shape, dtype=grad.dtype)
        return max_pool2d_backward(grad, argmax, window[1], *strides, padding[0][0],
                                   padding[1][0], grad_x)

    def avg_pool2d(self, x, window, strides, padding, out_hw):
        """The window means (N, OH, OW, C) of ``x``, cells in the padding left out (Keras's);
        NumPy, one vectorized step per cell of the window."""
        return xp_kernels.avg_pool2d(np, x, window, strides, padding, out_hw)

    def avg_pool2d_backward(self, grad, x_shape, window, strides, padding):
        """The gradient wrt the input of :meth:`avg_pool2d`: each window's gradient divided
        equally among its cells inside the image, summed where windows overlap."""
        return xp_kernels.avg_pool2d_backward(np, grad, x_shape, window, strides, padding)
    # --- end of convolution and pooling kernels ---

    # --- recurrent kernels ---
    # The gate math of one time step of an LSTM, GRU or simple RNN, between the per-step matrix
    # products of minigrad/functional/recurrent.py: (N, units) rows, C-contiguous float32 or
    # float64 arrays, ``mask`` an (N,) bool array (False: the row skips the step). Each updates
    # its arguments in place; the contracts are in minigrad/backends/cpu_kernels/recurrent.py.
    def lstm_step_forward(self, gates, hu, h_prev, c_prev, mask, h, c):
        """Gate activations into ``gates``, the new state into ``h``, ``c``."""
        from .cpu_kernels.recurrent import lstm_step_forward

        lstm_step_forward(gates, hu, h_prev, c_prev, mask, h, c)

    def lstm_step_backward(self, gates, c, c_prev, d_out, dh, dc, mask):
        """Gate gradients into ``gates``; ``dh``, ``dc`` moved back one step."""
        from .cpu_kernels.recurrent import lstm_step_backward

        lstm_step_backward(gates, c, c_prev, d_out, dh, dc, mask)

    def gru_step_forward(self, gates, hu, recurrent_bias, h_prev, mask, rh, h):
        """Gate activations into ``gates``, the candidate's recurrent part into ``rh``, the new
        state into ``h``."""
        from .cpu_kernels.recurrent import gru_step_forward

        gru_step_forward(gates, hu, recurrent_bias, h_prev, mask, rh, h)

    def gru_step_backward(self, gates, rh, h_prev, d_out, dh, mask, d_recurrent):
        """Input-part gate gradients into ``gates``, recurrent-part ones into ``d_recurrent``;
        ``dh`` moved back one step."""
        from .cpu_kernels.recurrent import gru_step_backward

        gru_step_backward(gates, rh, h_prev, d_out, dh, mask, d_recurrent)

    def rnn_step_forward(self, gates, hu, h_prev, mask, relu, h):
        """The new state ``activation(gates + hu)`` into ``h``."""
        from .cpu_kernels.recurrent import rnn_step_forward

        rnn_step_forward(gates, hu, h_prev, mask, relu, h)

    def rnn_step_backward(self, h, d_out, dh, mask, relu, d_gates):
        """The pre-activation gradient into ``d_gates``; ``dh`` moved back one step."""
        from .cpu_kernels.recurrent import rnn_step_backward

        rnn_step_backward(h, d_out, dh, mask, relu, d_gates)
    # --- end of recurrent kernels ---

    # --- softmax cross-entropy (NumPy) ---
    # Logits ``x`` (..., C), classes last, float32 or float64. Each forward returns the per-row
    # losses (...) and ``saved``, what its backward takes back (each backend chooses: the
    # log-softmax here, two numbers per row on the GPU). ``grad`` (...) is the gradient of the
    # per-row losses; the backwards return the gradient wrt ``x``.
    def softmax_cross_entropy(self, x, targets):
        """``(-sum(targets * log_softmax(x), axis=-1), saved)``; ``targets`` (..., C) of x's
        dtype (one-hot or any distributions). The log-softmax is taken from ``x - max(x)``."""
        return xp_kernels.softmax_cross_entropy(np, x, targets)

    def softmax_cross_entropy_backward(self, saved, targets, grad):
        """``grad * (softmax(x) * sum(targets) - targets)``, (..., C)."""
        return xp_kernels.softmax_cross_entropy_backward(np, saved, targets, grad)

    def sparse_softmax_cross_entropy(self, x, labels):
        """``(-log_softmax(x)[label], saved)``; ``labels`` (...) integers in [0, C)."""
        return xp_kernels.sparse_softmax_cross_entropy(np, x, labels)

    def sparse_softmax_cross_entropy_backward(self, saved, labels, grad):
        """``grad * (softmax(x) - one_hot(labels))``, (..., C)."""
        return xp_kernels.sparse_softmax_cross_entropy_backward(np, saved, labels, grad)

    # --- dropout (NumPy) ---
    def dropout(self, x, keep):
        """Inverted dropout: ``(x * scale, saved)``, where ``scale`` is 1/keep with probability
        ``keep`` and 0 otherwise, per element, drawn from this backend's generator."""
        return xp_kernels.dropout(np, x, keep, self.uniform)

    def dropout_backward(self, grad, saved, keep):
        """``grad * scale``, with the forward's scale."""
        return xp_kernels.dropout_backward(np, grad, saved, keep)

    # --- optimizer updates (NumPy, one parameter after the other) ---
    # ``params`` are the parameters' arrays, updated in place, with their gradients ``grads``
    # and state arrays (also updated in place), one list entry per parameter; the formulas are
    # those of minigrad.optim.SGD and minigrad.optim.Adam. The CUDA backend updates all of them
    # in one kernel launch.
    def sgd_step(self, params, grads, buffers, lr, weight_decay, momentum, dampening, nesterov):
        """One SGD step. ``buffers``: each parameter's momentum buffer, or None before its first
        step (then a copy of the gradient is made). Returns the buffers (all None without
        momentum)."""
        return xp_kernels.sgd_step(np, params, grads, buffers, lr, weight_decay, momentum,
                                   dampening, nesterov)

    def adam_step(self, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, step, lr, betas,
                  eps, weight_decay, decoupled, amsgrad):
        """One Adam step, the ``step``-th (from 1) of every parameter. ``max_exp_avg_sqs`` is
        used with ``amsgrad`` (else None); ``decoupled``: AdamW's weight decay."""
        xp_kernels.adam_step(np, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, step,
                             lr, betas, eps, weight_decay, decoupled, amsgrad)


def _row_index(key):
    """The index array if ``key`` picks whole rows along axis 0 by a 1-D integer array, else
    None."""
    if isinstance(key, tuple):
        if len(key) != 1:
            return None
        key = key[0]
    if isinstance(key, np.ndarray) and key.ndim == 1 and key.dtype.kind in "iu":
        return key
    return None
