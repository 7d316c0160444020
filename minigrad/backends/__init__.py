"""Array backends: where a tensor's memory lives and how its hot loops run.

A backend is one object per device kind with a ``name`` ("cpu" or "cuda"), an ``xp`` (the
``numpy`` or ``cupy`` module, against which every op is written once) and a small table of
hot-path kernels that the array API does badly (Numba on the CPU, CUDA ``.cu`` files on the GPU).
"""

from .base import Backend
from .registry import backend_of_array, get_backend, manual_seed, split_device_and_dtype

__all__ = ["Backend", "get_backend", "backend_of_array", "manual_seed", "split_device_and_dtype"]
