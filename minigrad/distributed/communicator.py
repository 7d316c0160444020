"""``Communicator``: the few collectives that data-parallel training needs, over one group of
ranks. :class:`~minigrad.distributed.MPICommunicator` (mpi4py, NumPy arrays),
:class:`~minigrad.distributed.NCCLCommunicator` (CuPy's NCCL, CuPy arrays) and the
in-process stand-in :class:`~minigrad.distributed.LocalCommunicator` implement it; the
bucketing, weighting and checking above them (``collectives.py``) is written once against it.
"""

#: The reductions every communicator offers ("mean" is "sum" divided by the size, above them).
OPS = ("sum", "max", "min")


class Communicator:
    """One rank's end of a group of ``size`` ranks.

    Every rank must call the same collectives in the same order with arrays of the same
    shape and dtype (as MPI and NCCL require); the arrays are contiguous arrays of the
    communicator's ``device`` and are changed in place.

    Attributes:
        rank: this rank's number, ``0 <= rank < size``.
        size: the number of ranks in the group.
        device: ``"cpu"`` (NumPy arrays) or ``"cuda"`` (CuPy arrays).
    """

    rank = 0
    size = 1
    device = "cpu"

    @property
    def host(self):
        """The communicator of the same ranks for small NumPy messages (a JSON object, a
        flag): this one for "cpu"; for "cuda" the MPI one NCCL was set up through (None:
        the world's)."""
        return self if self.device == "cpu" else None

    def allreduce(self, array, op="sum"):
        """Reduce ``array`` over the ranks with ``op`` (``"sum"``, ``"max"`` or ``"min"``),
        element by element, and leave the result in ``array`` on every rank. Returns it."""
        raise NotImplementedError

    def broadcast(self, array, root=0):
        """Copy ``root``'s ``array`` into ``array`` on every other rank. Returns it."""
        raise NotImplementedError

    def barrier(self):
        """Return once every rank has called it."""
        raise NotImplementedError

    def abort(self, message, code=1):
        """Stop every rank of the group (the whole job), saying ``message`` on stderr."""
        raise NotImplementedError

    def __repr__(self):
        return f"<{type(self).__name__} rank {self.rank} of {self.size}, {self.device}>"


def check_op(op):
    """Raise ``ValueError`` unless ``op`` is one of ``OPS``."""
    if op not in OPS:
        raise ValueError(f"unknown reduction {op!r}; expected one of {', '.join(OPS)}")


def check_root(root, size):
    """Raise ``ValueError`` unless ``root`` is a rank of a group of ``size``."""
    if isinstance(root, bool) or not isinstance(root, int) or not 0 <= root < size:
        raise ValueError(f"root must be a rank from 0 to {size - 1}, got {root!r}")
