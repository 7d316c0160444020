"""Numba kernels of the CPU backend, one module per family (compiled on first use, cached on
disk). Each kernel is the compiled loop behind one :class:`~minigrad.backends.cpu.CPUBackend`
method, whose contract is on :class:`~minigrad.backends.Backend`; importing this package does
not import Numba (the CPU backend imports each module on first use)."""
