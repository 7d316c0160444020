"""Large arrays reused from the heap once MPI has started.

Measured on the CIFAR-10 CNN (``benchmarks/distributed.py``, 2 ranks of one thread on a 2-core
machine): after ``MPI_Init`` (MPICH 5), every large NumPy buffer that a step frees (im2col
matrices, activations, gradients: megabytes each) went back to the kernel and the next step's
allocation faulted its pages in again, so the same step took 30.9 ms instead of 18.5 ms in each
rank: all of the 2-process slowdown, none of it communication (the gradient allreduce took
1.3 ms). Fixing glibc's thresholds (what ``MALLOC_MMAP_THRESHOLD_`` would do from the
environment) keeps such blocks in the heap for the next step, as in a process without MPI.
"""

import ctypes
import os
import sys

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

#: Blocks up to this size come from the heap and are reused (glibc's largest allowed value on
#: 64-bit machines); larger ones are mapped and unmapped each time.
MMAP_THRESHOLD = 32 * 2**20
#: Free memory at the top of the heap kept for reuse instead of being returned to the kernel.
TRIM_THRESHOLD = 64 * 2**20


def keep_large_blocks_in_the_heap():
    """Set glibc's allocation thresholds so freed buffers of up to 32 MiB are reused; True
    when set. Does nothing (False) off Linux/glibc, or when the user chose the thresholds
    through glibc's own environment variables."""
    if not sys.platform.startswith("linux") or any(
            name in os.environ for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process runs on
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
