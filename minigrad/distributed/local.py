"""``LocalCommunicator``: N ranks as N threads of one process -- a stand-in for MPI and NCCL.

It exists to test what sits above the communicators (bucketing, ordering, weights, agreement
on errors) without ``mpiexec`` or GPUs, and it is stricter than MPI: every collective checks
that all ranks called the same operation with the same shape, dtype and root, and raises on
every rank when they did not (where MPI would hang or read garbage). Reductions add in rank
order, so results are deterministic.

>>> import numpy as np
>>> def step(comm):
...     return float(comm.allreduce(np.array([comm.rank + 1.0]), "sum")[0])
>>> mg.distributed.run_ranks(3, step)
[6.0, 6.0, 6.0]
"""

import functools
import sys
import threading

import numpy as np

from .communicator import Communicator, check_op, check_root

# NumPy's ufuncs, which CuPy arrays also answer (through __array_ufunc__), on the GPU
_REDUCE = {"sum": np.add, "max": np.maximum, "min": np.minimum}


class GroupAborted(RuntimeError):
    """Raised on the ranks of a :class:`~minigrad.distributed.LocalCommunicator` group that
    another rank aborted (or that waited longer than the group's timeout)."""


class _Group:
    """What the ranks of one group share: one slot per rank and a rendezvous.

    (Not ``threading.Barrier``: aborting one breaks even the ranks that were already let
    through but had not woken up yet, so a rank that failed right after a collective could
    make the others fail in a collective that had completed.)"""

    def __init__(self, size, timeout):
        self.size = size
        self.timeout = timeout
        self.slots = [None] * size
        self.reason = None
        self._condition = threading.Condition()
        self._arrived = 0
        self._generation = 0
        self._left = []

    def wait(self, rank):
        """Return once all ranks have called it (once per round); raise
        :class:`~minigrad.distributed.local.GroupAborted` if the group is aborted or the wait
        times out first."""
        with self._condition:
            if self.reason is None and self._left:
                self.reason = (f"rank {rank} called a collective after rank {self._left[0]} "
                               "had returned")
            if self.reason is not None:
                raise GroupAborted(self.reason)
            generation = self._generation
            self._arrived += 1
            if self._arrived == self.size:
                self._arrived = 0
                self._generation += 1
                self._condition.notify_all()
                return
            done = self._condition.wait_for(
                lambda: (self._generation != generation or self.reason is not None
                         or bool(self._left)), self.timeout)
            if self._generation != generation:
                return
            if self.reason is None and self._left:
                self.reason = (f"rank {rank} waits in a collective that rank {self._left[0]} "
                               "returned without calling")
            elif not done:
                self.reason = (f"rank {rank} waited more than {self.timeout} s for the "
                               "others")
                self._condition.notify_all()
            raise GroupAborted(self.reason)

    def leave(self, rank):
        """Rank ``rank`` is done: a rank waiting for it now or later raises."""
        with self._condition:
            self._left.append(rank)
            self._condition.notify_all()

    def abort(self, reason):
        """Make every rank that waits now or later raise
        :class:`~minigrad.distributed.local.GroupAborted`."""
        with self._condition:
            if self.reason is None:
                self.reason = reason
            self._condition.notify_all()


class LocalCommunicator(Communicator):
    """Rank ``rank`` of an in-process group; make the group's communicators with
    :meth:`make_group` and run one thread per rank (:func:`~minigrad.distributed.run_ranks`
    does both).

    Attributes:
        calls: this rank's collectives so far, as ``(operation, shape, dtype name, extra)``
            tuples -- what tests count (e.g. one allreduce per bucket); empty in a group of
            one, where the collectives return at once.
    """

    def __init__(self, group, rank, device="cpu"):
        self._group = group
        self.rank = rank
        self.size = group.size
        self.device = device
        self.calls = []
        # small host messages go through a CPU twin in the same group (as NCCL's go by MPI)
        self._host = self if device == "cpu" else LocalCommunicator(group, rank)

    @property
    def host(self):
        return self._host

    @classmethod
    def make_group(cls, size, timeout=60.0, device="cpu"):
        """``size`` communicators, one per rank, sharing one group. A collective that waits
        more than ``timeout`` seconds for the other ranks raises
        :class:`~minigrad.distributed.local.GroupAborted`. ``device="cuda"``: for CuPy arrays
        (a stand-in for NCCL: the arrays stay on the GPU)."""
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"a group needs a whole number of ranks >= 1, got {size!r}")
        if device not in ("cpu", "cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
        group = _Group(size, timeout)
        return [cls(group, rank, device) for rank in range(size)]

    # --- the collectives --------------------------------------------------------------------
    def allreduce(self, array, op="sum"):
        check_op(op)
        arrays = self._exchange("allreduce", array, op)
        array[...] = functools.reduce(_REDUCE[op], arrays)
        return array

    def broadcast(self, array, root=0):
        check_root(root, self.size)
        array[...] = self._exchange("broadcast", array, root)[root]
        return array

    def barrier(self):
        self._exchange("barrier", np.empty(0), None)

    def abort(self, message, code=1):
        """Break the group: every rank waiting now or later raises
        :class:`~minigrad.distributed.local.GroupAborted` with ``message``; so does this one."""
        self._group.abort(f"rank {self.rank} aborted: {message}")
        raise GroupAborted(self._group.reason)

    # --- how -------------------------------------------------------------------------------
    def _exchange(self, operation, array, extra):
        """Every rank's copy of its ``array``, in rank order, once all ranks have called the
        same ``operation`` on arrays of the same shape and dtype."""
        if self.size == 1:          # a world of one (a plain process): nothing to exchange,
            return [array]          # and no log growing with every step of a long training
        signature = (operation, tuple(array.shape), np.dtype(array.dtype).name, extra)
        self.calls.append(signature)
        group = self._group
        group.slots[self.rank] = (signature, array.copy())
        self._wait()
        entries = list(group.slots)
        self._wait()                  # all have read the slots before any rank refills its own
        signatures = [entry[0] for entry in entries]
        if any(s != signature for s in signatures):
            described = "; ".join(f"rank {r}: {s}" for r, s in enumerate(signatures))
            raise RuntimeError(f"the ranks called different collectives ({described})")
        return [entry[1] for entry in entries]

    def _wait(self):
        self._group.wait(self.rank)


def run_ranks(size, function, timeout=60.0, device="cpu"):
    """Run ``function(comm)`` in ``size`` threads, one per rank of a new
    :class:`~minigrad.distributed.LocalCommunicator` group (for arrays of ``device``), and
    return the results in rank order.

    When a rank raises, the group is aborted (so no rank waits forever) and the first
    exception that was not that abort's consequence is raised here.
    """
    comms = LocalCommunicator.make_group(size, timeout, device)
    results = [None] * size
    errors = [None] * size

    def main(comm):
        try:
            results[comm.rank] = function(comm)
            comm._group.leave(comm.rank)
        except BaseException:            # noqa: BLE001 -- handed to the caller below
            errors[comm.rank] = sys.exc_info()[1]
            comm._group.abort(f"rank {comm.rank} raised {type(errors[comm.rank]).__name__}")

    threads = [threading.Thread(target=main, args=(comm,), name=f"rank-{comm.rank}",
                                daemon=True) for comm in comms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    raised = [error for error in errors if error is not None]
    if raised:
        first = next((e for e in raised if not isinstance(e, GroupAborted)), raised[0])
        raise first
    return results
