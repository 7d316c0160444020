"""``MPICommunicator``: the collectives over MPI, through mpi4py, for NumPy arrays.

Only mpi4py's buffer methods (the capitalised ones: ``Allreduce``, ``Bcast``) are used: they
send the arrays' bytes as they are. The lowercase ones pickle, and unpickling what another
process sent can run code, so objects travel as JSON bytes instead (``collectives.py``).

mpi4py is imported when a communicator is made, not when this module is: ``minigrad`` works
without it, and a single process never initialises MPI.
"""

import sys
import time

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
    return MPI


class MPICommunicator(Communicator):
    """The ranks of an MPI communicator (``MPI.COMM_WORLD`` unless ``comm`` is given).

    Args:
        comm: an ``mpi4py.MPI.Comm``; None for ``COMM_WORLD``.
        timeout: None (the default) to wait in each collective as long as MPI does; or
            seconds: a collective that has not completed by then (a rank died without MPI
            noticing, or one rank stopped calling collectives) aborts the whole job with a
            message naming the collective and this rank. The collective is then made
            non-blocking and polled, which costs a little CPU while it waits.
    """

    device = "cpu"

    def __init__(self, comm=None, timeout=None):
        MPI = import_mpi()
        self._MPI = MPI
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be None or a number of seconds > 0, got "
                             f"{timeout!r}")
        self.timeout = timeout
        self._ops = {"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}

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
            if self.timeout is None:
                self.comm.Allreduce(self._MPI.IN_PLACE, array, op=self._ops[op])
            else:
                self._wait(self.comm.Iallreduce(self._MPI.IN_PLACE, array, op=self._ops[op]),
                           "allreduce")
        return array

    def broadcast(self, array, root=0):
        check_root(root, self.size)
        _check_contiguous(array)
        if self.size > 1:
            if self.timeout is None:
                self.comm.Bcast(array, root=root)
            else:
                self._wait(self.comm.Ibcast(array, root=root), "broadcast")
        return array

    def barrier(self):
        if self.timeout is None:
            self.comm.Barrier()
        else:
            self._wait(self.comm.Ibarrier(), "barrier")

    def abort(self, message, code=1):
        """Print ``message`` on stderr and end every rank (``MPI_Abort``): mpiexec then stops
        the job and exits non-zero."""
        sys.stderr.write(f"minigrad.distributed: {message}\n")
        sys.stderr.flush()
        self.comm.Abort(code)

    def _wait(self, request, what):
        """Poll ``request`` until done; abort the job once :attr:`timeout` has passed."""
        deadline = time.monotonic() + self.timeout
        pause = 0.0
        while not request.Test():
            if time.monotonic() > deadline:
                self.abort(f"rank {self.rank} of {self.size} waited more than {self.timeout} s "
                           f"in {what}: another rank has died, hangs or stopped calling the "
                           "same collectives")
            # Spin at first (most collectives finish in microseconds), then yield the core.
            pause = min(1e-3, pause + 1e-5)
            time.sleep(pause)


def _check_contiguous(array):
    flags = getattr(array, "flags", None)
    if flags is None or not flags["C_CONTIGUOUS"]:
        raise ValueError(f"MPICommunicator expected a contiguous NumPy array, got "
                         f"{type(array).__name__}")
