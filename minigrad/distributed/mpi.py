"""``MPICommunicator``: the collectives over MPI, through mpi4py, for NumPy arrays.

Only mpi4py's buffer methods (the capitalised ones: ``Allreduce``, ``Bcast``) are used: they
send the arrays' bytes as they are. The lowercase ones pickle, and unpickling what another
process sent can run code, so objects travel as JSON bytes instead (``collectives.py``).

mpi4py is imported when a communicator is made, not when this module is: ``minigrad`` works
without it, and a single process never initialises MPI.
"""

import sys
import threading
import time

from ..backends.cpu import keep_large_blocks_in_the_heap
from ..extras import install_hint
from .communicator import Communicator, check_op, check_root


def import_mpi():
    """mpi4py's ``MPI`` module (importing it initialises MPI), or ``RuntimeError`` saying
    what to install."""
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise RuntimeError(f"minigrad.distributed needs mpi4py and an MPI library, which are "
                           f"not installed ({exc}); {install_hint('mpi')}") from None
    # again after MPI_Init, which under MPICH left every large freed buffer going back to the
    # kernel: each CNN step faulted ~6,100 pages in again and took 30.9 ms instead of 18.5 ms
    keep_large_blocks_in_the_heap()
    return MPI


class MPICommunicator(Communicator):
    """The ranks of an MPI communicator (``MPI.COMM_WORLD`` unless ``comm`` is given).

    Args:
        comm: an ``mpi4py.MPI.Comm``; None for ``COMM_WORLD``.
        timeout: seconds that one collective may wait for the other ranks; past that (a rank
            died without the launcher noticing, hangs, or stopped calling the same
            collectives) a watchdog thread aborts the whole job with a message naming the
            collective and this rank. None: wait as long as MPI does. The watchdog costs
            nothing on the collectives themselves: they note the time they start and end.
    """

    device = "cpu"

    def __init__(self, comm=None, timeout=None):
        MPI = import_mpi()
        self._MPI = MPI
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
            raise ValueError(f"timeout must be None or a number of seconds > 0, got "
                             f"{timeout!r}")
        self.timeout = timeout
        self._ops = {"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}
        self._waiting = None            # (what, since) while in a collective
        self._watchdog = None

    def local_rank_and_size(self):
        """``(rank, size)`` among the ranks on this machine (those that share its memory)."""
        local = self.comm.Split_type(self._MPI.COMM_TYPE_SHARED)
        try:
            return local.Get_rank(), local.Get_size()
        finally:
            local.Free()

    def allreduce(self, array, op="sum"):
        check_op(op)
        _check_contiguous(array)
        if self.size > 1:
            with self._watched("allreduce"):
                self.comm.Allreduce(self._MPI.IN_PLACE, array, op=self._ops[op])
        return array

    def broadcast(self, array, root=0):
        check_root(root, self.size)
        _check_contiguous(array)
        if self.size > 1:
            with self._watched("broadcast"):
                self.comm.Bcast(array, root=root)
        return array

    def barrier(self):
        with self._watched("barrier"):
            self.comm.Barrier()

    def abort(self, message, code=1):
        """Print ``message`` on stderr and end every rank (``MPI_Abort``): mpiexec then stops
        the job and exits non-zero."""
        sys.stderr.write(f"minigrad.distributed: {message}\n")
        sys.stderr.flush()
        # mpiexec forwards each rank's output asynchronously and MPI_Abort ends every rank at
        # once: a moment for what was just printed (a traceback) to reach the user (in CI a
        # traceback was once cut short before its last line)
        time.sleep(0.5)
        self.comm.Abort(code)

    # --- the watchdog -----------------------------------------------------------------------
    def _watched(self, what):
        return _Watched(self, what)

    def _watch(self):
        """The watchdog thread: abort once a collective has waited longer than the timeout."""
        interval = min(1.0, self.timeout / 10)
        while True:
            time.sleep(interval)
            waiting = self._waiting
            if waiting is not None and time.monotonic() - waiting[1] > self.timeout:
                self.abort(f"rank {self.rank} of {self.size} waited more than {self.timeout} s "
                           f"in {waiting[0]}: another rank has died, hangs or stopped calling "
                           "the same collectives")


class _Watched:
    """A collective in progress, as the watchdog sees it (a class: cheaper than
    ``contextlib.contextmanager`` on every collective)."""

    __slots__ = ("comm", "what")

    def __init__(self, comm, what):
        self.comm, self.what = comm, what

    def __enter__(self):
        comm = self.comm
        if comm.timeout is not None:
            if comm._watchdog is None:
                comm._watchdog = threading.Thread(target=comm._watch, daemon=True,
                                                  name="minigrad-distributed-watchdog")
                comm._watchdog.start()
            comm._waiting = (self.what, time.monotonic())

    def __exit__(self, *exc):
        self.comm._waiting = None


def _check_contiguous(array):
    flags = getattr(array, "flags", None)
    if flags is None or not flags["C_CONTIGUOUS"]:
        raise ValueError(f"MPICommunicator expected a contiguous NumPy array, got "
                         f"{type(array).__name__}")
