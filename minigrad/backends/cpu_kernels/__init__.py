"""Numba kernels of the CPU backend, one module per family (compiled on first use, cached on
disk). Each kernel is the compiled loop behind one :class:`~minigrad.backends.cpu.CPUBackend`
method; importing this package does not import Numba."""
