"""After MPI starts, large freed arrays are still reused from the heap
(``keep_large_blocks_in_the_heap`` of the CPU backend, called again once MPI has started):
without it, every step of a CNN faulted its buffers' pages in again (1.7x slower steps)."""

import sys

import pytest

from minigrad.backends.cpu import keep_large_blocks_in_the_heap

from .mpirun import mpiexec, needs_mpi



@needs_mpi
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_a_training_step_does_not_fault_its_buffers_in_again_under_mpi():
    done = mpiexec(2, "heap.py", timeout=60)
    assert done.returncode == 0, done.stderr
    worst = float(done.stdout.strip())  # the largest of the ranks' faults per step
    # without the fix: ~6,100 faults a step (the buffers mapped afresh each time); with it: ~1
    assert worst < 200, done.stdout


def test_the_users_own_malloc_settings_are_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    assert keep_large_blocks_in_the_heap() is False
