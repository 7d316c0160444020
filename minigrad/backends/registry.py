"""Find the backend for a device name ("cpu", "cuda", "cuda:0") or for an array."""

import threading

from .cpu import CPUBackend

_cpu = CPUBackend()
_cuda = None
_cuda_lock = threading.Lock()
_seed = None


def _cuda_backend():
    # Imported and built on first use only: minigrad works without CuPy and without a GPU.
    global _cuda
    if _cuda is None:
        with _cuda_lock:
            if _cuda is None:
                from .cuda import CUDABackend
                backend = CUDABackend()
                if _seed is not None:
                    backend.seed(_seed)
                _cuda = backend
    return _cuda


def get_backend(device):
    """Return the backend for ``device``: ``None`` or ``"cpu"`` (the default), ``"cuda"``,
    ``"cuda:0"``, or a :class:`Backend`.

    Raises ``ValueError`` for an unknown device name and ``RuntimeError`` (saying what to
    install) when "cuda" is asked for but CuPy or a GPU is missing.
    """
    if device is None or device is _cpu:
        return _cpu
    if isinstance(device, str):
        name = device.strip().lower()
        if name == "cpu":
            return _cpu
        if name in ("cuda", "cuda:0", "gpu"):
            return _cuda_backend()
        if name.startswith("cuda:"):
            raise ValueError(f"device {device!r}: minigrad uses one GPU, 'cuda' (= 'cuda:0')")
        raise ValueError(f"unknown device {device!r}; expected 'cpu' or 'cuda'")
    if hasattr(device, "xp") and hasattr(device, "name"):
        return device
    raise TypeError(f"device must be a string such as 'cpu' or 'cuda', got {type(device).__name__}")


def split_device_and_dtype(device, dtype):
    """``.to()``'s arguments as ``(device, dtype)``: a string that names no device (``"cpu"``,
    ``"cuda"``, ``"gpu"``, ``"cuda:N"``) in the device's place is the dtype, as in
    ``t.to("float64")``.

    >>> from minigrad.backends import split_device_and_dtype
    >>> split_device_and_dtype("float16", None), split_device_and_dtype("cuda", "float64")
    ((None, 'float16'), ('cuda', 'float64'))
    """
    if isinstance(device, str):
        name = device.lower()
        if name not in ("cpu", "cuda", "gpu") and not name.startswith("cuda:"):
            return None, device
    return device, dtype


def backend_of_array(array):
    """Return the backend that owns ``array`` (a NumPy or CuPy array), or ``None``."""
    if _cpu.owns(array):
        return _cpu
    module = type(array).__module__ or ""
    if module.startswith("cupy"):
        return _cuda_backend()
    return None


def manual_seed(seed):
    """Seed the random generators of every backend (now and when "cuda" is first used).

    >>> import minigrad as mg
    >>> mg.manual_seed(0)
    """
    global _seed
    seed = int(seed)
    _seed = seed
    _cpu.seed(seed)
    if _cuda is not None:
        _cuda.seed(seed)


def get_rng_state():
    """The state of every backend's random generators as JSON-ready data (what
    ``fit``'s ``BackupAndRestore`` saves so that a resumed run draws the same dropout masks):
    the CPU generator's, and the GPU's dropout stream once "cuda" is in use (draws of
    ``uniform``/``normal`` on the GPU come from cuRAND, whose state cannot be read)."""
    state = {"cpu": _cpu._rng.bit_generator.state}
    if _cuda is not None:
        state["cuda_dropout"] = [_cuda._dropout_key, _cuda._dropout_offset]
    return state


def set_rng_state(state):
    """Restore what :func:`get_rng_state` returned."""
    _cpu._rng.bit_generator.state = state["cpu"]
    if "cuda_dropout" in state:
        key, offset = state["cuda_dropout"]
        cuda = _cuda_backend()
        cuda._dropout_key, cuda._dropout_offset = int(key), int(offset)
