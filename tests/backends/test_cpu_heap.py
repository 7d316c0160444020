"""The CPU backend keeps freed large arrays in the heap (glibc's thresholds): a training step
reallocating the same arrays must not fault their pages in again every step."""

import os
import resource
import sys

import numpy as np
import pytest

from minigrad.backends import cpu

linux = pytest.mark.skipif(
    not sys.platform.startswith("linux")
    or any(name.startswith("MALLOC_") and name.endswith("THRESHOLD_") for name in os.environ),
    reason="glibc's mallopt, thresholds not chosen in the environment")


@linux
def test_thresholds_are_set():
    assert cpu.keep_large_blocks_in_the_heap()


def test_the_users_environment_wins(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    assert cpu.keep_large_blocks_in_the_heap() is False


@linux
def test_a_reallocated_array_does_not_fault_again():
    cpu.keep_large_blocks_in_the_heap()
    size = 8 * 2**20  # above glibc's default mmap threshold (128 KiB)
    np.ones(size // 8)  # allocated, written and freed once
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        np.ones(size // 8)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults < size // 4096  # without the thresholds: all 2,048 pages, 5 times
