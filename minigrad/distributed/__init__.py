"""Data-parallel training on MPI (mpi4py) for CPU tensors and NCCL (CuPy) for GPU tensors.

Every rank holds the whole model; gradients are averaged in a few large buckets; rank 0 alone
prints and writes files (``../shared/design/ARCHITECTURE.md``). Launch N copies of a script
with ``mpiexec -n N python train.py``; in it::

    world = mg.distributed.init()                   # rank, size, local_rank from MPI
    mg.distributed.broadcast_parameters(model)      # everyone starts from rank 0's weights
    opt = mg.distributed.DistributedOptimizer(mg.optim.SGD(model.parameters(), lr=0.1))
    ...
    loss.backward()
    opt.step()                                      # averaged gradients, then the update

A process started without a launcher is a world of one, where all of this does nothing.

- :mod:`~minigrad.distributed.world`: :func:`~minigrad.distributed.init`, the
  :class:`~minigrad.distributed.World`, abort on errors;
- :mod:`~minigrad.distributed.collectives`: gradients, parameters, objects, metrics;
- :mod:`~minigrad.distributed.buckets`: how many arrays become a few messages;
- :mod:`~minigrad.distributed.communicator`: the interface that
  :mod:`~minigrad.distributed.mpi`, :mod:`~minigrad.distributed.nccl` and the in-process
  stand-in :mod:`~minigrad.distributed.local` implement.
"""

from .buckets import DEFAULT_BUCKET_BYTES, Bucket, plan_buckets
from .collectives import (allreduce_array, allreduce_gradients, broadcast_object,
                          broadcast_parameters)
from .communicator import Communicator
from .local import LocalCommunicator, run_ranks
from .mpi import MPICommunicator
from .nccl import NCCLCommunicator
from .optimizer import DistributedOptimizer
from .world import World, current, init, launched_by_mpi


def rank():
    """This process's rank (0 in a world of one)."""
    return current().rank


def size():
    """The number of ranks (1 without a launcher)."""
    return current().size


def local_rank():
    """This process's rank among the ranks on its machine (its GPU on "cuda")."""
    return current().local_rank


def local_size():
    """The number of ranks on this machine."""
    return current().local_size


def is_distributed():
    """True when there is more than one rank."""
    return current().is_distributed()


def is_root():
    """True on rank 0, the one rank that prints progress and writes files."""
    return current().is_root()


def barrier():
    """Return once every rank has called it."""
    current().comm.barrier()


__all__ = ["init", "World", "current", "launched_by_mpi", "rank", "size", "local_rank",
           "local_size", "is_distributed", "is_root", "barrier", "allreduce_gradients",
           "allreduce_array", "broadcast_parameters", "broadcast_object",
           "DistributedOptimizer", "Communicator", "MPICommunicator", "NCCLCommunicator",
           "LocalCommunicator", "run_ranks", "plan_buckets", "Bucket", "DEFAULT_BUCKET_BYTES"]
