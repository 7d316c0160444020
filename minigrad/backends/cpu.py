"""The CPU backend: NumPy arrays, with Numba kernels for the hot loops NumPy does badly.

The contract of each kernel-table method is on :class:`~minigrad.backends.Backend`; the
docstrings here say how the CPU does it.
"""

import ctypes
import functools
import importlib
import os
import sys

import numpy as np

from . import cpu_threads, xp_kernels
from .base import Backend

# Numba compiles the kernels on first use, so small index adds are faster in NumPy itself.
_NUMBA_MIN_ROWS = 64


class CPUBackend(Backend):
    """NumPy arrays in host memory; hot loops in :mod:`minigrad.backends.cpu_kernels` (Numba)."""

    name = "cpu"
    uniform_method = "random"
    xp = np
    # Two blocks of this size (the columns and their product) fit one core's L2 cache of the
    # machines we measured (2 MiB per core; see benchmarks/README.md, issue 18).
    conv_block_bytes = 2**20
    cache_block_bytes = 2**19

    def __init__(self):
        self._rng = np.random.default_rng()
        keep_large_blocks_in_the_heap()

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
        """Numba (``cpu_kernels.indexing.scatter_add_rows``) for a 1-D integer row index of at
        least 64 rows into a C-contiguous float32/float64 ``target``; ``np.add.at`` otherwise."""
        rows = _row_index(key)
        if (rows is not None and rows.size >= _NUMBA_MIN_ROWS and target.ndim >= 1
                and target.dtype in (np.float32, np.float64) and target.flags.c_contiguous):
            width = target[0].size if target.shape[0] else 0
            rows = np.where(rows < 0, rows + target.shape[0], rows)
            values = np.ascontiguousarray(np.broadcast_to(values, rows.shape + target.shape[1:]),
                                          dtype=target.dtype)
            _kernels("indexing").scatter_add_rows(target.reshape(target.shape[0], width), rows,
                                                  values.reshape(rows.size, width))
        else:
            np.add.at(target, key, values)

    def run_shares(self, function, tasks, take_blas=True):
        """One share per thread, BLAS on one thread inside each (``cpu_threads.run_shares``)."""
        return cpu_threads.run_shares(function, tasks, take_blas)

    def thread_count(self):
        """``cpu_threads.get_num_threads()``."""
        return cpu_threads.get_num_threads()

    # --- convolution and pooling: Numba loops of cpu_kernels/conv.py and pooling.py ----------
    def im2col(self, x, window, strides, dilation, padding, out_hw, out=None):
        """Numba: ``cpu_kernels.conv.im2col`` on a C-contiguous copy of ``x`` if needed."""
        x = np.ascontiguousarray(x)
        cols = out if out is not None else np.empty(
            (x.shape[0] * out_hw[0] * out_hw[1], window[0] * window[1] * x.shape[3]),
            dtype=x.dtype)
        return _kernels("conv").im2col(x, *window, *strides, *dilation, padding[0][0],
                                       padding[1][0], *out_hw, cols)

    def col2im(self, cols, x_shape, window, strides, dilation, padding, out_hw, out=None):
        """Numba: ``cpu_kernels.conv.col2im``, adding into a zeroed array."""
        if out is None:
            x = np.zeros(x_shape, dtype=cols.dtype)
        else:
            x = out
            x.fill(0)
        return _kernels("conv").col2im(np.ascontiguousarray(cols), *window, *strides, *dilation,
                                       padding[0][0], padding[1][0], *out_hw, x)

    # --- batch normalization: Numba loops of cpu_kernels/normalization.py -------------------
    def batch_norm_backward_sums(self, grad, x, mean):
        """Numba: ``cpu_kernels.normalization.batch_norm_backward_sums`` (float64 sums)."""
        sums = np.empty(grad.shape[1], grad.dtype), np.empty(grad.shape[1], grad.dtype)
        _kernels("normalization").batch_norm_backward_sums(grad, x, mean, *sums)
        return sums

    def batch_norm_input_grad(self, grad, x, mean, per_centered, mean_grad, scale, out):
        """Numba: ``cpu_kernels.normalization.batch_norm_input_grad``."""
        return _kernels("normalization").batch_norm_input_grad(grad, x, mean, per_centered,
                                                               mean_grad, scale, out)

    def max_pool2d(self, x, window, strides, padding, out_hw):
        """Numba: ``cpu_kernels.pooling.max_pool2d_forward``, a share of the images per thread."""
        shape = (x.shape[0], *out_hw, x.shape[3])
        out, argmax = np.empty(shape, dtype=x.dtype), np.empty(shape, dtype=np.int32)
        x = np.ascontiguousarray(x)
        kernel = _kernels("pooling").max_pool2d_forward

        def pool(images):
            kernel(x[images], *window, *strides, padding[0][0], padding[1][0], out[images],
                   argmax[images])

        self.run_shares(_on_image_range(pool), range(x.shape[0]))
        return out, argmax

    def max_pool2d_backward(self, grad, argmax, x_shape, window, strides, padding):
        """Numba: ``cpu_kernels.pooling.max_pool2d_backward_tiled`` when the windows tile the
        image (strides equal to the window, no padding: no zeroing, no scattered writes), else
        ``max_pool2d_backward``; a share of the images per thread."""
        pooling = _kernels("pooling")
        grad = np.ascontiguousarray(grad)
        if tuple(strides) == tuple(window) and not any(padding[0]) and not any(padding[1]):
            grad_x = np.empty(x_shape, dtype=grad.dtype)

            def unpool(images):
                pooling.max_pool2d_backward_tiled(grad[images], argmax[images], *window,
                                                  grad_x[images])
        else:
            grad_x = np.zeros(x_shape, dtype=grad.dtype)

            def unpool(images):
                pooling.max_pool2d_backward(grad[images], argmax[images], window[1], *strides,
                                            padding[0][0], padding[1][0], grad_x[images])

        self.run_shares(_on_image_range(unpool), range(grad.shape[0]))
        return grad_x

    def avg_pool2d(self, x, window, strides, padding, out_hw):
        """NumPy (``xp_kernels.avg_pool2d``): one vectorized step per cell of the window."""
        return xp_kernels.avg_pool2d(np, x, window, strides, padding, out_hw)

    def avg_pool2d_backward(self, grad, x_shape, window, strides, padding):
        """NumPy (``xp_kernels.avg_pool2d_backward``)."""
        return xp_kernels.avg_pool2d_backward(np, grad, x_shape, window, strides, padding)

    # --- recurrent steps: Numba loops of cpu_kernels/recurrent.py, fused over a step ---------
    def lstm_step_forward(self, gates, hu, h_prev, c_prev, mask, h, c):
        """Numba: :func:`cpu_kernels.recurrent.lstm_step_forward
        <minigrad.backends.cpu_kernels.recurrent.lstm_step_forward>`."""
        _kernels("recurrent").lstm_step_forward(gates, hu, h_prev, c_prev, mask, h, c)

    def lstm_step_backward(self, gates, c, c_prev, d_out, dh, dc, mask):
        """Numba: :func:`cpu_kernels.recurrent.lstm_step_backward
        <minigrad.backends.cpu_kernels.recurrent.lstm_step_backward>`."""
        _kernels("recurrent").lstm_step_backward(gates, c, c_prev, d_out, dh, dc, mask)

    def gru_step_forward(self, gates, hu, recurrent_bias, h_prev, mask, rh, h):
        """Numba: :func:`cpu_kernels.recurrent.gru_step_forward
        <minigrad.backends.cpu_kernels.recurrent.gru_step_forward>`."""
        _kernels("recurrent").gru_step_forward(gates, hu, recurrent_bias, h_prev, mask, rh, h)

    def gru_step_backward(self, gates, rh, h_prev, d_out, dh, mask, d_recurrent):
        """Numba: :func:`cpu_kernels.recurrent.gru_step_backward
        <minigrad.backends.cpu_kernels.recurrent.gru_step_backward>`."""
        _kernels("recurrent").gru_step_backward(gates, rh, h_prev, d_out, dh, mask, d_recurrent)

    def gru_reset_before_gates_forward(self, gates, hu, h_prev, mask, rh):
        """Numba: :func:`cpu_kernels.recurrent.gru_reset_before_gates_forward
        <minigrad.backends.cpu_kernels.recurrent.gru_reset_before_gates_forward>`."""
        _kernels("recurrent").gru_reset_before_gates_forward(gates, hu, h_prev, mask, rh)

    def gru_reset_before_candidate_forward(self, gates, hu, h_prev, mask, h):
        """Numba: :func:`cpu_kernels.recurrent.gru_reset_before_candidate_forward
        <minigrad.backends.cpu_kernels.recurrent.gru_reset_before_candidate_forward>`."""
        _kernels("recurrent").gru_reset_before_candidate_forward(gates, hu, h_prev, mask, h)

    def gru_reset_before_candidate_backward(self, gates, h_prev, d_out, dh, mask):
        """Numba: :func:`cpu_kernels.recurrent.gru_reset_before_candidate_backward
        <minigrad.backends.cpu_kernels.recurrent.gru_reset_before_candidate_backward>`."""
        _kernels("recurrent").gru_reset_before_candidate_backward(gates, h_prev, d_out, dh, mask)

    def gru_reset_before_gates_backward(self, gates, d_rh, h_prev, dh, mask):
        """Numba: :func:`cpu_kernels.recurrent.gru_reset_before_gates_backward
        <minigrad.backends.cpu_kernels.recurrent.gru_reset_before_gates_backward>`."""
        _kernels("recurrent").gru_reset_before_gates_backward(gates, d_rh, h_prev, dh, mask)

    def rnn_step_forward(self, gates, hu, h_prev, mask, relu, h):
        """Numba: :func:`cpu_kernels.recurrent.rnn_step_forward
        <minigrad.backends.cpu_kernels.recurrent.rnn_step_forward>`."""
        _kernels("recurrent").rnn_step_forward(gates, hu, h_prev, mask, relu, h)

    def rnn_step_backward(self, h, d_out, dh, mask, relu, d_gates):
        """Numba: :func:`cpu_kernels.recurrent.rnn_step_backward
        <minigrad.backends.cpu_kernels.recurrent.rnn_step_backward>`."""
        _kernels("recurrent").rnn_step_backward(h, d_out, dh, mask, relu, d_gates)

    # --- softmax cross-entropy, dropout, optimizer updates: NumPy (xp_kernels) ---------------
    def softmax_cross_entropy(self, x, targets):
        """NumPy; ``saved`` is the (..., C) log-softmax."""
        return xp_kernels.softmax_cross_entropy(np, x, targets)

    def softmax_cross_entropy_backward(self, saved, targets, grad):
        """NumPy, from the saved log-softmax."""
        return xp_kernels.softmax_cross_entropy_backward(np, saved, targets, grad)

    def sparse_softmax_cross_entropy(self, x, labels):
        """NumPy; ``saved`` is the (..., C) log-softmax."""
        return xp_kernels.sparse_softmax_cross_entropy(np, x, labels)

    def sparse_softmax_cross_entropy_backward(self, saved, labels, grad):
        """NumPy, from the saved log-softmax."""
        return xp_kernels.sparse_softmax_cross_entropy_backward(np, saved, labels, grad)

    def dropout(self, x, keep):
        """NumPy, the mask from this backend's generator (``uniform``); ``saved`` is the
        scale, an array of ``x``'s dtype."""
        return xp_kernels.dropout(np, x, keep, self.uniform)

    def dropout_backward(self, grad, saved, keep):
        """NumPy: ``grad * saved``."""
        return xp_kernels.dropout_backward(np, grad, saved, keep)

    def sgd_step(self, params, grads, buffers, lr, weight_decay, momentum, dampening, nesterov):
        """NumPy, one parameter after the other."""
        return xp_kernels.sgd_step(np, params, grads, buffers, lr, weight_decay, momentum,
                                   dampening, nesterov)

    def adam_step(self, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, step, lr, betas,
                  eps, weight_decay, decoupled, amsgrad):
        """NumPy, one parameter after the other."""
        xp_kernels.adam_step(np, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, step,
                             lr, betas, eps, weight_decay, decoupled, amsgrad)


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Blocks up to this size come from the heap and are reused (glibc's largest allowed value on
#: 64-bit machines); larger ones are mapped and unmapped each time.
MMAP_THRESHOLD = 32 * 2**20
#: Free memory at the top of the heap kept for reuse instead of being returned to the kernel.
TRIM_THRESHOLD = 64 * 2**20


def keep_large_blocks_in_the_heap():
    """Set glibc's allocation thresholds so that freed arrays of up to 32 MiB are reused by the
    next allocation instead of going back to the kernel; True when set.

    A training step frees and reallocates the same large arrays every step (im2col matrices,
    activations, gradients). With glibc's defaults most of them were unmapped when freed and
    faulted in again, page by page, when the next step allocated them: 6,833 minor page faults
    per step of the CIFAR-10 CNN at batch 128 (27 MB zeroed by the kernel each step), 0.1 with
    these thresholds. Does nothing (False) off Linux/glibc, or when the user chose the
    thresholds through glibc's environment variables (``MALLOC_MMAP_THRESHOLD_``,
    ``MALLOC_TRIM_THRESHOLD_``).
    """
    if not sys.platform.startswith("linux") or any(
            name in os.environ for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process runs on
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def _on_image_range(function):
    """``function(slice)`` called on a share (a contiguous list) of image indices."""
    def on_share(images):
        if images:
            function(slice(images[0], images[-1] + 1))
    return on_share


@functools.lru_cache(maxsize=None)
def _kernels(family):
    """The Numba module ``cpu_kernels/<family>.py`` ("conv", "indexing", "normalization",
    "pooling" or "recurrent"), imported on first use and then cached: importing it imports
    Numba (a large import), which ``import minigrad`` and NumPy-only work must not pay for."""
    return importlib.import_module(f"{__package__}.cpu_kernels.{family}")


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
