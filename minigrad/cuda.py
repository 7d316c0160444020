"""``mg.cuda``: the questions a user asks about the GPU, as ``torch.cuda`` answers them.

``mg.cuda.is_available()`` answers without raising (and without importing CuPy into a process
that never asks). This is the public face only; the CUDA backend itself (CuPy arrays and our
kernels from ``backends/cuda_kernels/*.cu``) is ``minigrad/backends/cuda.py``
(:class:`~minigrad.backends.cuda.CUDABackend`)."""


def is_available():
    """True if CuPy is installed and can see a GPU, so that ``device="cuda"`` works."""
    from .backends.cuda import is_available as cuda_is_available

    try:
        return cuda_is_available()
    except Exception:  # a broken CuPy install must not break the question
        return False
