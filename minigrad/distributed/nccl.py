"""``NCCLCommunicator``: the collectives over NCCL (through ``cupy.cuda.nccl``) for CuPy arrays
that stay on the GPUs. MPI still launches the ranks and hands out NCCL's unique id.

Kept thin on purpose: NCCL itself does the work, on CuPy's current stream, so the reductions
queue after the backward kernels that produced the gradients without a host synchronisation.
CuPy is imported when a communicator is made, never when this module is.
"""

import sys

import numpy as np

from .communicator import Communicator, check_op, check_root

#: NCCL's unique id is this many bytes (``NCCL_UNIQUE_ID_BYTES``).
UNIQUE_ID_BYTES = 128


def import_nccl():
    """``cupy.cuda.nccl``, or ``RuntimeError`` saying what is missing."""
    try:
        from cupy.cuda import nccl
        available = nccl.available if hasattr(nccl, "available") else True
    except ImportError as exc:
        raise RuntimeError(f"averaging CUDA gradients needs CuPy with NCCL ({exc}); install "
                           "CuPy for your CUDA version and NCCL (pip install "
                           "'nvidia-nccl-cu12')") from None
    if not available:
        raise RuntimeError("CuPy was built without NCCL: install NCCL (pip install "
                           "'nvidia-nccl-cu12') so that cupy.cuda.nccl can load it")
    return nccl


class NCCLCommunicator(Communicator):
    """Rank ``rank`` of ``size`` ranks, one GPU each (the current CuPy device), joined by
    NCCL's ``unique_id`` (a tuple of ``UNIQUE_ID_BYTES`` ints made on one rank by
    ``nccl.get_unique_id()``). :meth:`from_mpi` does the handshake over MPI.

    Args:
        fallback: a communicator whose :meth:`abort` ends the job (MPI); NCCL alone can only
            abort its own communicator.
    """

    device = "cuda"

    def __init__(self, rank, size, unique_id, fallback=None):
        nccl = import_nccl()
        self._nccl = nccl
        self.rank, self.size = rank, size
        self._comm = nccl.NcclCommunicator(size, tuple(unique_id), rank)
        self._fallback = fallback
        self._types = {np.dtype(name): getattr(nccl, f"NCCL_{name.upper()}")
                       for name in ("float16", "float32", "float64", "int8", "uint8", "int32",
                                    "int64") if hasattr(nccl, f"NCCL_{name.upper()}")}
        self._ops = {"sum": nccl.NCCL_SUM, "max": nccl.NCCL_MAX, "min": nccl.NCCL_MIN}

    @classmethod
    def from_mpi(cls, mpi):
        """The NCCL communicator of the ranks of ``mpi`` (an MPICommunicator): rank 0 makes
        the unique id and broadcasts it as bytes over MPI."""
        nccl = import_nccl()
        unique_id = np.zeros(UNIQUE_ID_BYTES, dtype=np.int64)
        if mpi.rank == 0:
            made = nccl.get_unique_id()
            unique_id[:len(made)] = made
        mpi.broadcast(unique_id, root=0)
        return cls(mpi.rank, mpi.size, [int(v) for v in unique_id], fallback=mpi)

    @property
    def host(self):
        return self._fallback

    def allreduce(self, array, op="sum"):
        check_op(op)
        buffer, kind = self._buffer(array)
        self._comm.allReduce(buffer.data.ptr, buffer.data.ptr, buffer.size, kind,
                             self._ops[op], self._stream())
        return array

    def broadcast(self, array, root=0):
        check_root(root, self.size)
        buffer, kind = self._buffer(array)
        self._comm.bcast(buffer.data.ptr, buffer.size, kind, root, self._stream())
        return array

    def barrier(self):
        import cupy
        self.allreduce(cupy.zeros(1, dtype=cupy.float32))
        cupy.cuda.get_current_stream().synchronize()

    def abort(self, message, code=1):
        try:
            self._comm.abort()
        finally:
            if self._fallback is not None:
                self._fallback.abort(message, code)
            sys.stderr.write(f"minigrad.distributed: {message}\n")
            raise RuntimeError(message)

    def _buffer(self, array):
        if not getattr(array, "flags", {"C_CONTIGUOUS": False})["C_CONTIGUOUS"] or \
                not hasattr(array, "data") or not hasattr(array.data, "ptr"):
            raise ValueError(f"NCCLCommunicator expected a contiguous CuPy array, got "
                             f"{type(array).__name__}")
        buffer = array.view(np.uint8) if array.dtype == np.bool_ else array
        kind = self._types.get(np.dtype(buffer.dtype))
        if kind is None:
            raise ValueError(f"NCCLCommunicator cannot reduce arrays of {array.dtype}")
        return buffer, kind

    @staticmethod
    def _stream():
        import cupy
        return cupy.cuda.get_current_stream().ptr
