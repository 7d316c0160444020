"""The CUDA backend: CuPy arrays on the GPU, with our own kernels from ``cuda_kernels/*.cu``.

This module imports CuPy, so it is only imported when a "cuda" device is first asked for
(see :func:`minigrad.backends.get_backend`).
"""

import functools
from pathlib import Path

import numpy as np

from .base import Backend

KERNEL_DIR = Path(__file__).with_name("cuda_kernels")

_INSTALL_HINT = ("install CuPy for your CUDA version: pip install 'minigrad[gpu]' (CUDA 12) or "
                 "pip install 'minigrad[gpu13]' (CUDA 13)")


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
    import cupy

    source = (KERNEL_DIR / file_name).read_text()
    module = cupy.RawModule(code=source, options=("-std=c++14",))
    return module.get_function(function_name)


class CUDABackend(Backend):
    """CuPy arrays on the current GPU, using CuPy's memory pool."""

    name = "cuda"
    uniform_method = "random_sample"

    def __init__(self):
        self.xp = _import_cupy()
        self._rng = self.xp.random.RandomState()  # cuRAND; takes dtype= directly

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
        self._rng = self.xp.random.RandomState(seed)

    def scatter_add(self, target, key, values):
        xp = self.xp
        rows = key[0] if isinstance(key, tuple) and len(key) == 1 else key
        if (isinstance(rows, xp.ndarray) and rows.ndim == 1 and rows.dtype.kind in "iu"
                and target.dtype in (np.float32, np.float64) and target.flags.c_contiguous
                and target.ndim >= 1):
            n_rows = target.shape[0]
            width = target.size // n_rows if n_rows else 0
            rows = xp.where(rows < 0, rows + n_rows, rows).astype(np.int64)
            values = xp.ascontiguousarray(xp.broadcast_to(values, rows.shape + target.shape[1:]),
                                          dtype=target.dtype)
            total = rows.size * width
            if total == 0:
                return
            suffix = "f32" if target.dtype == np.float32 else "f64"
            kernel = load_kernel("scatter_add.cu", f"scatter_add_rows_{suffix}")
            threads = 256
            blocks = (total + threads - 1) // threads
            kernel((blocks,), (threads,), (target, rows, values, np.int64(rows.size),
                                           np.int64(width)))
        elif hasattr(xp.add, "at"):  # CuPy >= 13
            xp.add.at(target, key, values)
        else:
            import cupyx

            cupyx.scatter_add(target, key, values)

    # --- convolution and pooling kernels ---
    # Written against ``self.xp`` only, one vectorized step per cell of the window (never per
    # pixel), until CUDA kernels replace them; the arguments are those of the CPU backend's
    # methods (minigrad/backends/cpu.py). The tests run them with NumPy as ``xp``.
    def im2col(self, x, window, strides, dilation, padding, out_hw):
        """The (N*OH*OW, kh*kw*C) matrix of the windows of ``x`` (see the CPU backend)."""
        xp = self.xp
        n, _, _, channels = x.shape
        (kh, kw), (dh, dw), (out_h, out_w) = window, dilation, out_hw
        padded = self._pad_images(xp, x, padding, 0)
        cols = xp.empty((n, out_h, out_w, kh, kw, channels), dtype=x.dtype)
        for i in range(kh):
            for j in range(kw):
                cells = self._window_cells(i * dh, j * dw, strides, out_hw)
                cols[:, :, :, i, j, :] = padded[cells]
        return cols.reshape(n * out_h * out_w, kh * kw * channels)

    def col2im(self, cols, x_shape, window, strides, dilation, padding, out_hw):
        """The adjoint of :meth:`im2col` (see the CPU backend)."""
        xp = self.xp
        n, height, width, channels = x_shape
        (kh, kw), (dh, dw), ((top, bottom), (left, right)) = window, dilation, padding
        grad = xp.zeros((n, height + top + bottom, width + left + right, channels),
                        dtype=cols.dtype)
        cols = cols.reshape(n, out_hw[0], out_hw[1], kh, kw, channels)
        for i in range(kh):
            for j in range(kw):
                cells = self._window_cells(i * dh, j * dw, strides, out_hw)
                grad[cells] += cols[:, :, :, i, j, :]
        return xp.ascontiguousarray(grad[:, top:top + height, left:left + width, :])

    def max_pool2d(self, x, window, strides, padding, out_hw):
        """The window maxima and the winners' positions ``i*pool_w + j`` (see the CPU
        backend): ties go to the first cell, NaN wins, padding never wins."""
        xp = self.xp
        n, height, width, channels = x.shape
        (kh, kw), (sh, sw), (out_h, out_w) = window, strides, out_hw
        top, left = padding[0][0], padding[1][0]
        padded = self._pad_images(xp, x, padding, -np.inf)
        out = xp.full((n, out_h, out_w, channels), -np.inf, dtype=x.dtype)
        argmax = xp.zeros((n, out_h, out_w, channels), dtype=np.int32)
        seen = np.zeros((out_h, out_w), dtype=bool)  # some earlier cell of the window was inside
        for i in range(kh):
            h = np.arange(out_h) * sh - top + i  # the image row of cell i of each window
            rows = (h >= 0) & (h < height)
            for j in range(kw):
                w = np.arange(out_w) * sw - left + j
                columns = (w >= 0) & (w < width)
                inside = rows[:, None] & columns[None, :]
                values = padded[self._window_cells(i, j, strides, out_hw)]
                first = xp.asarray((inside & ~seen)[None, :, :, None])
                take = xp.asarray(inside[None, :, :, None]) & (
                    first | (values > out) | xp.isnan(values))
                out = xp.where(take, values, out)
                argmax = xp.where(take, np.int32(i * kw + j), argmax)
                seen |= inside
        return out, argmax

    def max_pool2d_backward(self, grad, argmax, x_shape, window, strides, padding):
        """Each value of ``grad`` added to the cell that won its window (see the CPU backend)."""
        xp = self.xp
        n, height, width, channels = x_shape
        (kh, kw), ((top, bottom), (left, right)) = window, padding
        out_hw = grad.shape[1:3]
        grad_x = xp.zeros((n, height + top + bottom, width + left + right, channels),
                          dtype=grad.dtype)
        for i in range(kh):
            for j in range(kw):
                won = argmax == i * kw + j
                grad_x[self._window_cells(i, j, strides, out_hw)] += xp.where(won, grad, 0)
        return xp.ascontiguousarray(grad_x[:, top:top + height, left:left + width, :])

    @staticmethod
    def _pad_images(xp, x, padding, value):
        """(N, H, W, C) images with ``padding`` ((top, bottom), (left, right)) of ``value``."""
        if not any(padding[0]) and not any(padding[1]):
            return x
        return xp.pad(x, ((0, 0), tuple(padding[0]), tuple(padding[1]), (0, 0)),
                      constant_values=value)

    @staticmethod
    def _window_cells(i, j, strides, out_hw):
        """The index of cell (i, j) (offsets into the padded image) of every window: an
        (N, OH, OW, C) strided view of the padded images."""
        (sh, sw), (out_h, out_w) = strides, out_hw
        return (slice(None), slice(i, i + sh * (out_h - 1) + 1, sh),
                slice(j, j + sw * (out_w - 1) + 1, sw), slice(None))
    # --- end of convolution and pooling kernels ---

    # --- recurrent kernels ---
    # The CPU backend's step kernels (minigrad/backends/cpu.py, same arguments, same in-place
    # contract) written against ``self.xp``, a few vectorized expressions per step, until fused
    # CUDA kernels replace them. sigmoid(x) = (1 + tanh(x / 2)) / 2 cannot overflow. Every new
    # value is computed before the first write, since the gate slices are views of ``gates``.
    # The tests run them with NumPy as ``xp``.
    def lstm_step_forward(self, gates, hu, h_prev, c_prev, mask, h, c):
        """One LSTM step (see the CPU backend)."""
        xp, units, keep = self.xp, h.shape[1], mask[:, None]
        a = gates + hu
        i_f = 0.5 * xp.tanh(0.5 * a[:, :2 * units]) + 0.5
        g = xp.tanh(a[:, 2 * units:3 * units])
        o = 0.5 * xp.tanh(0.5 * a[:, 3 * units:]) + 0.5
        c_new = i_f[:, units:] * c_prev + i_f[:, :units] * g
        c[...] = xp.where(keep, c_new, c_prev)
        h[...] = xp.where(keep, o * xp.tanh(c_new), h_prev)
        gates[...] = xp.where(keep, xp.concatenate([i_f, g, o], axis=1), 0)

    def lstm_step_backward(self, gates, c, c_prev, d_out, dh, dc, mask):
        """Backward of one LSTM step (see the CPU backend)."""
        xp, units, keep = self.xp, dh.shape[1], mask[:, None]
        i, f, g, o = (gates[:, k * units:(k + 1) * units] for k in range(4))
        tanh_c = xp.tanh(c)
        dh_total = dh + d_out
        dc_total = dc + dh_total * o * (1 - tanh_c * tanh_c)
        d_gates = xp.concatenate([dc_total * g * i * (1 - i), dc_total * c_prev * f * (1 - f),
                                  dc_total * i * (1 - g * g), dh_total * tanh_c * o * (1 - o)],
                                 axis=1)
        dc_prev = dc_total * f
        gates[...] = xp.where(keep, d_gates, 0)
        dc[...] = xp.where(keep, dc_prev, dc)
        dh[...] = xp.where(keep, 0, dh_total)

    def gru_step_forward(self, gates, hu, recurrent_bias, h_prev, mask, rh, h):
        """One GRU step, reset_after (see the CPU backend)."""
        xp, units, keep = self.xp, h.shape[1], mask[:, None]
        u = hu + recurrent_bias
        z_r = 0.5 * xp.tanh(0.5 * (gates[:, :2 * units] + u[:, :2 * units])) + 0.5
        z, r, u_h = z_r[:, :units], z_r[:, units:], u[:, 2 * units:]
        hh = xp.tanh(gates[:, 2 * units:] + r * u_h)
        h[...] = xp.where(keep, z * h_prev + (1 - z) * hh, h_prev)
        rh[...] = xp.where(keep, u_h, 0)
        gates[...] = xp.where(keep, xp.concatenate([z_r, hh], axis=1), 0)

    def gru_step_backward(self, gates, rh, h_prev, d_out, dh, mask, d_recurrent):
        """Backward of one GRU step (see the CPU backend)."""
        xp, units, keep = self.xp, dh.shape[1], mask[:, None]
        z, r, hh = (gates[:, k * units:(k + 1) * units] for k in range(3))
        dh_total = dh + d_out
        d_z = dh_total * (h_prev - hh) * z * (1 - z)
        d_a = dh_total * (1 - z) * (1 - hh * hh)
        d_r = d_a * rh * r * (1 - r)
        d_input = xp.concatenate([d_z, d_r, d_a], axis=1)
        d_rec = xp.concatenate([d_z, d_r, d_a * r], axis=1)
        dh_prev = dh_total * z
        gates[...] = xp.where(keep, d_input, 0)
        d_recurrent[...] = xp.where(keep, d_rec, 0)
        dh[...] = xp.where(keep, dh_prev, dh_total)

    def rnn_step_forward(self, gates, hu, h_prev, mask, relu, h):
        """One simple-RNN step (see the CPU backend)."""
        xp = self.xp
        a = gates + hu
        h[...] = xp.where(mask[:, None], xp.maximum(a, 0) if relu else xp.tanh(a), h_prev)

    def rnn_step_backward(self, h, d_out, dh, mask, relu, d_gates):
        """Backward of one simple-RNN step (see the CPU backend)."""
        xp, keep = self.xp, mask[:, None]
        dh_total = dh + d_out
        d_a = dh_total * (h > 0) if relu else dh_total * (1 - h * h)
        d_gates[...] = xp.where(keep, d_a, 0)
        dh[...] = xp.where(keep, 0, dh_total)
    # --- end of recurrent kernels ---
