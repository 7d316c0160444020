"""The CUDA backend: CuPy arrays on the GPU, with our own kernels from ``cuda_kernels/*.cu``.

CuPy is imported when a "cuda" device is first asked for (see
:func:`minigrad.backends.get_backend`), not when this module is.

Each kernel-table method launches a kernel of ``cuda_kernels/<family>.cu`` -- one thread per
element it writes, blocks of :data:`THREADS` -- when its arrays are float32 or float64 and
C-contiguous, and otherwise (float16, odd strides) runs the same computation written against
CuPy (:mod:`minigrad.backends.xp_kernels`). The contract of each method (arguments, results,
what is written in place) is on :class:`~minigrad.backends.Backend`; the docstrings here name
the kernel each one launches.
"""

import functools
import math
from collections import namedtuple
from pathlib import Path

import numpy as np

from . import xp_kernels
from ..extras import install_hint
from .base import Backend

KERNEL_DIR = Path(__file__).with_name("cuda_kernels")

#: Threads per block of every launch (a 1-D grid of ceil(items / THREADS) blocks).
THREADS = 256

_INSTALL_HINT = (f"install CuPy for your CUDA version: {install_hint('gpu')} for CUDA 12, "
                 f"or {install_hint('gpu13')} for CUDA 13")


def _import_cupy():
    try:
        import cupy
    except ImportError as exc:
        raise RuntimeError(f"device 'cuda' needs CuPy, which is not installed ({exc}); "
                           f"{_INSTALL_HINT}") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDARuntimeError: no driver, driver too old, no device
        raise RuntimeError(f"device 'cuda': CuPy is installed but cannot use a GPU: {exc}. "
                           "Check that an NVIDIA GPU is visible (nvidia-smi) and that its driver "
                           "supports the CUDA version of your CuPy wheel; otherwise "
                           f"{_INSTALL_HINT}") from None
    if count == 0:
        raise RuntimeError("device 'cuda': CuPy is installed but no GPU is visible "
                           "(check nvidia-smi and CUDA_VISIBLE_DEVICES)")
    return cupy


def is_available():
    """True if CuPy is installed and a GPU is visible."""
    try:
        _import_cupy()
    except RuntimeError:
        return False
    return True


@functools.lru_cache(maxsize=None)
def load_kernel(file_name, function_name):
    """Compile ``cuda_kernels/<file_name>`` once per process and return one of its kernels."""
    return _module(file_name).get_function(function_name)


@functools.lru_cache(maxsize=None)
def _module(file_name):
    import cupy

    source = (KERNEL_DIR / file_name).read_text()
    # --fmad=false: no fused multiply-adds, so that kernels such as the optimizer updates do the
    # CPU's float arithmetic step by step (they are memory-bound: FMA would not speed them up).
    return cupy.RawModule(code=source, options=("-std=c++14", "--fmad=false"))


#: What the softmax cross-entropy kernels keep for backward: the contiguous (R, C) logits, the
#: per-row shift (max) and log-sum, the labels (int64) or targets, and sum(targets) per row.
SoftmaxRows = namedtuple("SoftmaxRows", "x shift log_sum labels t_sum")


class CUDABackend(Backend):
    """CuPy arrays on the current GPU, using CuPy's memory pool."""

    name = "cuda"
    uniform_method = "random_sample"
    #: ``load_kernel(file, function)``; None: no kernels, the xp formulation everywhere (how the
    #: tests run this class with NumPy standing in for CuPy).
    load_kernel = None

    def __init__(self):
        self.xp = _import_cupy()
        self.load_kernel = load_kernel
        self.seed(None)

    def asarray(self, data, dtype=None):
        return self.xp.asarray(data, dtype=dtype)

    def to_numpy(self, array):
        return self.xp.asnumpy(array)

    def independent(self, array):
        # A view may share memory with another gradient, or be a broadcast view.
        if array.base is None:
            return array
        return array.copy()

    def synchronize(self):
        self.xp.cuda.get_current_stream().synchronize()

    def seed(self, seed):
        """Re-seed cuRAND (``uniform``, ``normal``) and the dropout masks' stream; None: from
        the operating system's entropy."""
        self._rng = self.xp.random.RandomState(seed)
        # dropout.cu's counter-based generator: a 64-bit stream key, and the count of numbers
        # drawn so far (each call starts where the last one ended).
        self._dropout_key = int(np.random.SeedSequence(seed).generate_state(1, np.uint64)[0])
        self._dropout_offset = 0

    def _launch(self, file_name, kernel_name, threads, *args):
        """Run ``kernel_name`` of ``cuda_kernels/<file_name>`` on ``threads`` threads."""
        if threads == 0:
            return
        kernel = self.load_kernel(file_name, kernel_name)
        kernel(((threads + THREADS - 1) // THREADS,), (THREADS,), args)

    def scatter_add(self, target, key, values):
        """``scatter_add_rows_<dtype>`` of scatter_add.cu (``atomicAdd``, one thread per value)
        for a 1-D integer row index into a C-contiguous float32/float64 ``target``; else
        ``xp.add.at`` (``cupyx.scatter_add`` before CuPy 13)."""
        xp = self.xp
        rows = key[0] if isinstance(key, tuple) and len(key) == 1 else key
        if (self.load_kernel is not None and isinstance(rows, xp.ndarray) and rows.ndim == 1
                and rows.dtype.kind in "iu" and target.dtype in (np.float32, np.float64)
                and target.flags.c_contiguous and target.ndim >= 1):
            n_rows = target.shape[0]
            width = target.size // n_rows if n_rows else 0
            rows = xp.ascontiguousarray(xp.where(rows < 0, rows + n_rows, rows), dtype=np.int64)
            values = xp.ascontiguousarray(xp.broadcast_to(values, rows.shape + target.shape[1:]),
                                          dtype=target.dtype)
            self._launch("scatter_add.cu", f"scatter_add_rows_{_SUFFIX[target.dtype.type]}",
                         rows.size * width, target, rows, values, *_ints(rows.size, width))
        elif hasattr(xp.add, "at"):  # NumPy, CuPy >= 13
            xp.add.at(target, key, values)
        else:
            import cupyx

            cupyx.scatter_add(target, key, values)

    # --- convolution and pooling: cuda_kernels/conv.cu and pooling.cu ---------------------------
    # Gathers: one thread per element written, so no atomics and the CPU's order of summation.
    def im2col(self, x, window, strides, dilation, padding, out_hw, out=None):
        """``im2col_<dtype>`` of conv.cu, one thread per element of the matrix."""
        x = self.xp.ascontiguousarray(x)
        suffix = _kernel_suffix(self, x)
        if suffix is None:
            cols = xp_kernels.im2col(self.xp, x, window, strides, dilation, padding, out_hw)
            return _into(out, cols)
        cols = out if out is not None else self.xp.empty(
            (x.shape[0] * out_hw[0] * out_hw[1], window[0] * window[1] * x.shape[3]),
            dtype=x.dtype)
        self._launch("conv.cu", f"im2col_{suffix}", cols.size, x, cols,
                     *_ints(*x.shape, *window, *strides, *dilation, padding[0][0],
                            padding[1][0], *out_hw))
        return cols

    def col2im(self, cols, x_shape, window, strides, dilation, padding, out_hw, out=None):
        """``col2im_<dtype>`` of conv.cu, one thread per pixel gathering from its windows (in
        the CPU's order of summation, so without atomics)."""
        cols = self.xp.ascontiguousarray(cols)
        suffix = _kernel_suffix(self, cols)
        if suffix is None:
            x = xp_kernels.col2im(self.xp, cols, x_shape, window, strides, dilation, padding,
                                  out_hw)
            return _into(out, x)
        x = out if out is not None else self.xp.empty(x_shape, dtype=cols.dtype)
        self._launch("conv.cu", f"col2im_{suffix}", x.size, cols, x,
                     *_ints(*x_shape, *window, *strides, *dilation, padding[0][0],
                            padding[1][0], *out_hw))
        return x

    def batch_norm_backward_sums(self, grad, x, mean):
        """CuPy's reductions (``xp_kernels.batch_norm_backward_sums``)."""
        return xp_kernels.batch_norm_backward_sums(self.xp, grad, x, mean)

    def batch_norm_input_grad(self, grad, x, mean, per_centered, mean_grad, scale, out):
        """CuPy elementwise calls (``xp_kernels.batch_norm_input_grad``)."""
        return xp_kernels.batch_norm_input_grad(self.xp, grad, x, mean, per_centered,
                                                mean_grad, scale, out)

    def max_pool2d(self, x, window, strides, padding, out_hw):
        """``max_pool2d_forward_<dtype>`` of pooling.cu, one thread per output value."""
        x = self.xp.ascontiguousarray(x)
        suffix = _kernel_suffix(self, x)
        if suffix is None:
            return xp_kernels.max_pool2d(self.xp, x, window, strides, padding, out_hw)
        shape = (x.shape[0], *out_hw, x.shape[3])
        out = self.xp.empty(shape, dtype=x.dtype)
        argmax = self.xp.empty(shape, dtype=np.int32)
        self._launch("pooling.cu", f"max_pool2d_forward_{suffix}", out.size, x, out, argmax,
                     *_ints(*x.shape, *window, *strides, padding[0][0], padding[1][0], *out_hw))
        return out, argmax

    def max_pool2d_backward(self, grad, argmax, x_shape, window, strides, padding):
        """``max_pool2d_backward_<dtype>`` of pooling.cu, one thread per input cell gathering
        from the windows that hold it."""
        grad = self.xp.ascontiguousarray(grad)
        suffix = _kernel_suffix(self, grad)
        if suffix is None:
            return xp_kernels.max_pool2d_backward(self.xp, grad, argmax, x_shape, window,
                                                  strides, padding)
        argmax = self.xp.ascontiguousarray(argmax, dtype=np.int32)
        grad_x = self.xp.empty(x_shape, dtype=grad.dtype)
        self._launch("pooling.cu", f"max_pool2d_backward_{suffix}", grad_x.size, grad, argmax,
                     grad_x, *_ints(*x_shape, *window, *strides, padding[0][0], padding[1][0],
                                    *grad.shape[1:3]))
        return grad_x

    def avg_pool2d(self, x, window, strides, padding, out_hw):
        """``avg_pool2d_forward_<dtype>`` of pooling.cu, one thread per output value."""
        x = self.xp.ascontiguousarray(x)
        suffix = _kernel_suffix(self, x)
        if suffix is None:
            return xp_kernels.avg_pool2d(self.xp, x, window, strides, padding, out_hw)
        out = self.xp.empty((x.shape[0], *out_hw, x.shape[3]), dtype=x.dtype)
        self._launch("pooling.cu", f"avg_pool2d_forward_{suffix}", out.size, x, out,
                     *_ints(*x.shape, *window, *strides, padding[0][0], padding[1][0], *out_hw))
        return out

    def avg_pool2d_backward(self, grad, x_shape, window, strides, padding):
        """``avg_pool2d_backward_<dtype>`` of pooling.cu, one thread per input cell."""
        grad = self.xp.ascontiguousarray(grad)
        suffix = _kernel_suffix(self, grad)
        if suffix is None:
            return xp_kernels.avg_pool2d_backward(self.xp, grad, x_shape, window, strides,
                                                  padding)
        grad_x = self.xp.empty(x_shape, dtype=grad.dtype)
        self._launch("pooling.cu", f"avg_pool2d_backward_{suffix}", grad_x.size, grad, grad_x,
                     *_ints(*x_shape, *window, *strides, padding[0][0], padding[1][0],
                            *grad.shape[1:3]))
        return grad_x

    # --- recurrent steps: cuda_kernels/recurrent.cu ---------------------------------------------
    # One thread per (row, unit): it touches element j of each gate of its row only.
    def lstm_step_forward(self, gates, hu, h_prev, c_prev, mask, h, c):
        """``lstm_step_forward_<dtype>`` of recurrent.cu."""
        suffix = _kernel_suffix(self, gates, hu, h_prev, c_prev, h, c)
        if suffix is None:
            return xp_kernels.lstm_step_forward(self.xp, gates, hu, h_prev, c_prev, mask, h, c)
        self._launch("recurrent.cu", f"lstm_step_forward_{suffix}", h.size, gates, hu, h_prev,
                     c_prev, self._flags(mask), h, c, *_ints(*h.shape))

    def lstm_step_backward(self, gates, c, c_prev, d_out, dh, dc, mask):
        """``lstm_step_backward_<dtype>`` of recurrent.cu."""
        suffix = _kernel_suffix(self, gates, c, c_prev, d_out, dh, dc)
        if suffix is None:
            return xp_kernels.lstm_step_backward(self.xp, gates, c, c_prev, d_out, dh, dc, mask)
        self._launch("recurrent.cu", f"lstm_step_backward_{suffix}", dh.size, gates, c, c_prev,
                     d_out, dh, dc, self._flags(mask), *_ints(*dh.shape))

    def gru_step_forward(self, gates, hu, recurrent_bias, h_prev, mask, rh, h):
        """``gru_step_forward_<dtype>`` of recurrent.cu."""
        suffix = _kernel_suffix(self, gates, hu, recurrent_bias, h_prev, rh, h)
        if suffix is None:
            return xp_kernels.gru_step_forward(self.xp, gates, hu, recurrent_bias, h_prev, mask,
                                               rh, h)
        self._launch("recurrent.cu", f"gru_step_forward_{suffix}", h.size, gates, hu,
                     recurrent_bias, h_prev, self._flags(mask), rh, h, *_ints(*h.shape))

    def gru_step_backward(self, gates, rh, h_prev, d_out, dh, mask, d_recurrent):
        """``gru_step_backward_<dtype>`` of recurrent.cu."""
        suffix = _kernel_suffix(self, gates, rh, h_prev, d_out, dh, d_recurrent)
        if suffix is None:
            return xp_kernels.gru_step_backward(self.xp, gates, rh, h_prev, d_out, dh, mask,
                                                d_recurrent)
        self._launch("recurrent.cu", f"gru_step_backward_{suffix}", dh.size, gates, rh, h_prev,
                     d_out, dh, self._flags(mask), d_recurrent, *_ints(*dh.shape))

    def gru_reset_before_gates_forward(self, gates, hu, h_prev, mask, rh):
        """``gru_reset_before_gates_forward_<dtype>`` of recurrent.cu."""
        suffix = _kernel_suffix(self, gates, hu, h_prev, rh)
        if suffix is None:
            return xp_kernels.gru_reset_before_gates_forward(self.xp, gates, hu, h_prev, mask,
                                                             rh)
        self._launch("recurrent.cu", f"gru_reset_before_gates_forward_{suffix}", rh.size, gates,
                     hu, h_prev, self._flags(mask), rh, *_ints(*rh.shape))

    def gru_reset_before_candidate_forward(self, gates, hu, h_prev, mask, h):
        """``gru_reset_before_candidate_forward_<dtype>`` of recurrent.cu."""
        suffix = _kernel_suffix(self, gates, hu, h_prev, h)
        if suffix is None:
            return xp_kernels.gru_reset_before_candidate_forward(self.xp, gates, hu, h_prev,
                                                                 mask, h)
        self._launch("recurrent.cu", f"gru_reset_before_candidate_forward_{suffix}", h.size,
                     gates, hu, h_prev, self._flags(mask), h, *_ints(*h.shape))

    def gru_reset_before_candidate_backward(self, gates, h_prev, d_out, dh, mask):
        """``gru_reset_before_candidate_backward_<dtype>`` of recurrent.cu."""
        suffix = _kernel_suffix(self, gates, h_prev, d_out, dh)
        if suffix is None:
            return xp_kernels.gru_reset_before_candidate_backward(self.xp, gates, h_prev, d_out,
                                                                  dh, mask)
        self._launch("recurrent.cu", f"gru_reset_before_candidate_backward_{suffix}", dh.size,
                     gates, h_prev, d_out, dh, self._flags(mask), *_ints(*dh.shape))

    def gru_reset_before_gates_backward(self, gates, d_rh, h_prev, dh, mask):
        """``gru_reset_before_gates_backward_<dtype>`` of recurrent.cu."""
        suffix = _kernel_suffix(self, gates, d_rh, h_prev, dh)
        if suffix is None:
            return xp_kernels.gru_reset_before_gates_backward(self.xp, gates, d_rh, h_prev, dh,
                                                              mask)
        self._launch("recurrent.cu", f"gru_reset_before_gates_backward_{suffix}", dh.size,
                     gates, d_rh, h_prev, dh, self._flags(mask), *_ints(*dh.shape))

    def rnn_step_forward(self, gates, hu, h_prev, mask, relu, h):
        """``rnn_step_forward_<dtype>`` of recurrent.cu."""
        suffix = _kernel_suffix(self, gates, hu, h_prev, h)
        if suffix is None:
            return xp_kernels.rnn_step_forward(self.xp, gates, hu, h_prev, mask, relu, h)
        self._launch("recurrent.cu", f"rnn_step_forward_{suffix}", h.size, gates, hu, h_prev,
                     self._flags(mask), np.int32(bool(relu)), h, *_ints(*h.shape))

    def rnn_step_backward(self, h, d_out, dh, mask, relu, d_gates):
        """``rnn_step_backward_<dtype>`` of recurrent.cu."""
        suffix = _kernel_suffix(self, h, d_out, dh, d_gates)
        if suffix is None:
            return xp_kernels.rnn_step_backward(self.xp, h, d_out, dh, mask, relu, d_gates)
        self._launch("recurrent.cu", f"rnn_step_backward_{suffix}", dh.size, h, d_out, dh,
                     self._flags(mask), np.int32(bool(relu)), d_gates, *_ints(*dh.shape))

    def _flags(self, mask):
        """A per-row mask as the kernels read it: a C-contiguous bool array."""
        return self.xp.ascontiguousarray(mask, dtype=np.bool_)

    # --- softmax cross-entropy: cuda_kernels/softmax_cross_entropy.cu ---------------------------
    # The forward keeps SoftmaxRows (per-row shift and log-sum) rather than the (R, C)
    # log-softmax; the backward recomputes the softmax from them.
    def softmax_cross_entropy(self, x, targets):
        """``softmax_cross_entropy_<dtype>`` of softmax_cross_entropy.cu, one thread per row;
        ``saved`` is a ``SoftmaxRows`` (the xp fallback's: the log-softmax)."""
        xp = self.xp
        x = xp.ascontiguousarray(x)
        suffix = _kernel_suffix(self, x) if x.ndim and x.shape[-1] else None
        if suffix is None:
            return xp_kernels.softmax_cross_entropy(xp, x, targets)
        targets = xp.ascontiguousarray(targets, dtype=x.dtype)
        loss, shift, log_sum, t_sum = (xp.empty(x.shape[:-1], dtype=x.dtype) for _ in range(4))
        self._launch("softmax_cross_entropy.cu", f"softmax_cross_entropy_{suffix}", loss.size,
                     x, targets, loss, shift, log_sum, t_sum, *_ints(loss.size, x.shape[-1]))
        return loss, SoftmaxRows(x, shift, log_sum, None, t_sum)

    def softmax_cross_entropy_backward(self, saved, targets, grad):
        """``softmax_cross_entropy_backward_<dtype>`` of softmax_cross_entropy.cu, one thread
        per element, recomputing the softmax from the saved rows."""
        xp = self.xp
        if not isinstance(saved, SoftmaxRows):
            return xp_kernels.softmax_cross_entropy_backward(xp, saved, targets, grad)
        x = saved.x
        targets = xp.ascontiguousarray(targets, dtype=x.dtype)
        dx = xp.empty_like(x)
        self._launch("softmax_cross_entropy.cu",
                     f"softmax_cross_entropy_backward_{_SUFFIX[x.dtype.type]}", dx.size, x,
                     saved.shift, saved.log_sum, targets, saved.t_sum,
                     self._rows(grad, saved.shift), dx, *_ints(saved.shift.size, x.shape[-1]))
        return dx

    def sparse_softmax_cross_entropy(self, x, labels):
        """``sparse_softmax_cross_entropy_<dtype>`` of softmax_cross_entropy.cu, one thread per
        row; ``saved`` is a ``SoftmaxRows`` (the xp fallback's: the log-softmax)."""
        xp = self.xp
        x = xp.ascontiguousarray(x)
        suffix = _kernel_suffix(self, x) if x.ndim and x.shape[-1] else None
        if suffix is None:
            return xp_kernels.sparse_softmax_cross_entropy(xp, x, labels)
        labels = xp.ascontiguousarray(labels, dtype=np.int64)
        loss, shift, log_sum = (xp.empty(x.shape[:-1], dtype=x.dtype) for _ in range(3))
        self._launch("softmax_cross_entropy.cu", f"sparse_softmax_cross_entropy_{suffix}",
                     loss.size, x, labels, loss, shift, log_sum, *_ints(loss.size, x.shape[-1]))
        return loss, SoftmaxRows(x, shift, log_sum, labels, None)

    def sparse_softmax_cross_entropy_backward(self, saved, labels, grad):
        """``sparse_softmax_cross_entropy_backward_<dtype>`` of softmax_cross_entropy.cu, one
        thread per element."""
        if not isinstance(saved, SoftmaxRows):
            return xp_kernels.sparse_softmax_cross_entropy_backward(self.xp, saved, labels, grad)
        x = saved.x
        dx = self.xp.empty_like(x)
        self._launch("softmax_cross_entropy.cu",
                     f"sparse_softmax_cross_entropy_backward_{_SUFFIX[x.dtype.type]}", dx.size,
                     x, saved.shift, saved.log_sum, saved.labels, self._rows(grad, saved.shift),
                     dx, *_ints(saved.shift.size, x.shape[-1]))
        return dx

    def _rows(self, grad, like):
        """The per-row gradient as a C-contiguous array of ``like``'s shape and dtype (the op
        passes a broadcast view)."""
        return self.xp.ascontiguousarray(self.xp.broadcast_to(grad, like.shape), dtype=like.dtype)

    # --- dropout: cuda_kernels/dropout.cu ---------------------------------------------------------
    def dropout(self, x, keep):
        """``dropout_forward_<dtype>`` of dropout.cu: the mask from a counter-based generator
        keyed by the seed and the count of numbers drawn so far; ``saved`` is the mask, uint8
        (1: kept) (the xp fallback's: the scale, drawn with ``uniform``)."""
        xp = self.xp
        x = xp.ascontiguousarray(x)
        suffix = _kernel_suffix(self, x)
        if suffix is None:
            return xp_kernels.dropout(xp, x, keep, self.uniform)
        out, mask = xp.empty_like(x), xp.empty(x.shape, dtype=np.uint8)
        self._launch("dropout.cu", f"dropout_forward_{suffix}", x.size, x, out, mask,
                     np.int64(x.size), np.uint64(self._dropout_key),
                     np.uint64(self._dropout_offset % 2 ** 64), np.float64(keep))
        self._dropout_offset += x.size
        return out, mask

    def dropout_backward(self, grad, saved, keep):
        """``dropout_backward_<dtype>`` of dropout.cu, reading the uint8 mask."""
        xp = self.xp
        if saved.dtype != np.uint8:  # the forward's fallback kept the scale itself
            return xp_kernels.dropout_backward(xp, grad, saved, keep)
        grad = xp.ascontiguousarray(grad)
        suffix = _kernel_suffix(self, grad)
        if suffix is None:
            return grad * (saved.astype(grad.dtype) / keep)
        grad_x = xp.empty_like(grad)
        self._launch("dropout.cu", f"dropout_backward_{suffix}", grad.size, grad, saved, grad_x,
                     np.int64(grad.size), np.float64(keep))
        return grad_x

    # --- optimizer updates: cuda_kernels/optimizers.cu, all parameters in one launch ------------
    # The parameters are grouped by dtype (and, for SGD, by whether their momentum buffer exists
    # yet); each group is one launch over tables of device pointers (see optimizers.cu).
    # Parameters the kernels do not cover (float16, not C-contiguous) take the xp formulation.
    def sgd_step(self, params, grads, buffers, lr, weight_decay, momentum, dampening, nesterov):
        """``sgd_step_<dtype>`` of optimizers.cu: one launch per dtype and first-step flag."""
        xp = self.xp
        grads = [xp.ascontiguousarray(g) for g in grads]
        buffers = list(buffers)
        launches, rest = {}, []  # {(suffix, first step): [index, ...]}, [index, ...]
        for k, (param, grad, buf) in enumerate(zip(params, grads, buffers)):
            first = momentum != 0 and buf is None
            arrays = (param, grad) if buf is None else (param, grad, buf)
            suffix = _kernel_suffix(self, *arrays) if param.size else None
            if suffix is None:
                rest.append(k)
                continue
            if first:
                buffers[k] = xp.empty_like(param)
            launches.setdefault((suffix, first), []).append(k)
        for (suffix, first), ks in launches.items():
            tables, starts = self._pointer_tables(_pick(params, ks), _pick(grads, ks),
                                                  _pick(buffers, ks) if momentum != 0 else [])
            self._launch("optimizers.cu", f"sgd_step_{suffix}",
                         int(sum(params[k].size for k in ks)), *tables, starts,
                         np.int64(len(ks)), np.float64(lr), np.float64(weight_decay),
                         np.float64(momentum),
                         np.float64(1.0 - dampening), np.int32(bool(nesterov)),
                         np.int32(first))
        if rest:
            updated = xp_kernels.sgd_step(xp, _pick(params, rest), _pick(grads, rest),
                                          _pick(buffers, rest), lr, weight_decay, momentum,
                                          dampening, nesterov)
            for k, buf in zip(rest, updated):
                buffers[k] = buf
        return buffers

    def adam_step(self, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, step, lr, betas,
                  eps, weight_decay, decoupled, amsgrad):
        """``adam_step_<dtype>`` of optimizers.cu: one launch per dtype."""
        xp = self.xp
        grads = [xp.ascontiguousarray(g) for g in grads]
        launches, rest = {}, []
        for k, param in enumerate(params):
            arrays = [param, grads[k], exp_avgs[k], exp_avg_sqs[k]]
            if amsgrad:
                arrays.append(max_exp_avg_sqs[k])
            suffix = _kernel_suffix(self, *arrays) if param.size else None
            if suffix is None:
                rest.append(k)
            else:
                launches.setdefault(suffix, []).append(k)
        beta1, beta2 = betas
        for suffix, ks in launches.items():
            tables, starts = self._pointer_tables(
                _pick(params, ks), _pick(grads, ks), _pick(exp_avgs, ks), _pick(exp_avg_sqs, ks),
                _pick(max_exp_avg_sqs, ks) if amsgrad else [])
            self._launch("optimizers.cu", f"adam_step_{suffix}",
                         int(sum(params[k].size for k in ks)), *tables, starts,
                         np.int64(len(ks)), np.float64(beta1), np.float64(beta2),
                         np.float64(1.0 - beta1), np.float64(1.0 - beta2), np.float64(eps),
                         np.float64(weight_decay), np.float64(1.0 - lr * weight_decay),
                         np.int32(bool(decoupled)), np.int32(bool(amsgrad)),
                         np.float64(lr / (1.0 - beta1 ** step)),
                         np.float64(math.sqrt(1.0 - beta2 ** step)))
        if rest:
            xp_kernels.adam_step(xp, _pick(params, rest), _pick(grads, rest),
                                 _pick(exp_avgs, rest), _pick(exp_avg_sqs, rest),
                                 _pick(max_exp_avg_sqs, rest) if amsgrad else None, step, lr,
                                 betas, eps, weight_decay, decoupled, amsgrad)

    def _pointer_tables(self, *groups):
        """Device tables of the arrays' addresses (one uint64 table per group, in one copy to
        the device), and the int64 running totals of the first group's sizes."""
        sizes = [a.size for a in groups[0]]
        host = [_address(a) for group in groups for a in group]
        host += np.cumsum([0] + sizes).tolist()
        device = self.xp.asarray(np.array(host, dtype=np.uint64))
        tables, offset = [], 0
        for group in groups:
            tables.append(device[offset:offset + len(group)])
            offset += len(group)
        return tables, device[offset:].view(np.int64)


_SUFFIX = {np.float32: "f32", np.float64: "f64"}


def _into(out, result):
    """``result``, or ``out`` holding it when an ``out=`` array was given."""
    if out is None:
        return result
    out[...] = result
    return out


def _kernel_suffix(backend, *arrays):
    """The kernels' name suffix ("f32" or "f64") if ``backend`` has kernels and ``arrays`` are
    C-contiguous and all of that one dtype; else None, and the caller takes the xp formulation.

    (Backends without ``load_kernel`` get None: the CPU backend borrowing these methods in the
    tests, or this class with NumPy standing in for CuPy.)"""
    if getattr(backend, "load_kernel", None) is None:
        return None
    dtype = arrays[0].dtype
    if dtype.type not in _SUFFIX:
        return None
    if any(a.dtype != dtype or not a.flags.c_contiguous for a in arrays):
        return None
    return _SUFFIX[dtype.type]


def _pick(arrays, indices):
    return [arrays[k] for k in indices]


def _ints(*values):
    """Sizes and offsets as the kernels take them: ``long long`` (np.int64)."""
    return tuple(np.int64(v) for v in values)


def _address(array):
    """The address of an array's first element: CuPy's device pointer (NumPy's, in the
    emulated tests)."""
    data = array.data
    return data.ptr if hasattr(data, "ptr") else array.ctypes.data
