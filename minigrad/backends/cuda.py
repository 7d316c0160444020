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
