"""The process's place in the job: :func:`~minigrad.distributed.init` and the
:class:`~minigrad.distributed.World` it returns.

A process started by ``mpiexec -n N`` (or ``srun``, or any MPI launcher) is one of N ranks;
a process started plainly is a world of one, and never initialises MPI. MPI worlds are per
process, so the world is too: :func:`~minigrad.distributed.init` makes it once and returns the
same object after.

When the world has several ranks, :func:`~minigrad.distributed.init` also makes an uncaught
exception on any rank end the whole job (``MPI_Abort``) with a message naming the rank, instead
of leaving the other ranks waiting forever in their next collective.
"""

import os
import sys
import threading
from dataclasses import dataclass, field, replace

from .communicator import Communicator

#: Environment variables that launchers set in each rank: MPICH/Hydra and Intel MPI (PMI),
#: Open MPI, Slurm's srun (a step's tasks, not the batch script's allocation).
_LAUNCHER_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS",
                            "SLURM_STEP_NUM_TASKS")
#: Seconds a collective may wait before the job is aborted, when init() is given no timeout
#: (PyTorch's default for its process groups): generous, since a rank may wait in a
#: collective while rank 0 validates or writes a checkpoint.
DEFAULT_TIMEOUT = 1800.0
#: The environment variable that overrides it ("0" or "none": no limit).
TIMEOUT_VARIABLE = "MINIGRAD_DISTRIBUTED_TIMEOUT"

_world = None
_lock = threading.Lock()


@dataclass(frozen=True)
class World:
    """Where this process stands: rank ``rank`` of ``size``, and ``local_rank`` of the
    ``local_size`` ranks on this machine (one GPU each on "cuda").

    Attributes:
        comm: the :class:`~minigrad.distributed.Communicator` of all ranks for
            CPU arrays (MPI; a single rank's stand-in when ``size == 1``).
        device: ``"cpu"`` or ``"cuda"``: where this rank's model lives.
    """

    rank: int
    size: int
    local_rank: int
    local_size: int
    comm: Communicator = field(repr=False)
    device: str = "cpu"
    _gpu_comm: list = field(default_factory=list, init=False, repr=False, compare=False)

    def is_distributed(self):
        """True when there is more than one rank."""
        return self.size > 1

    def is_root(self):
        """True on rank 0, the rank that prints and writes files."""
        return self.rank == 0

    def communicator(self, device="cpu"):
        """The communicator for arrays of ``device``: MPI for "cpu", NCCL for "cuda" (made on
        first use; every rank must ask for it at the same point, as it is a collective)."""
        if device == "cpu" or self.size == 1:
            return self.comm
        if device != "cuda":
            raise ValueError(f"unknown device {device!r}; expected 'cpu' or 'cuda'")
        if not self._gpu_comm:
            from .nccl import NCCLCommunicator
            self._gpu_comm.append(NCCLCommunicator.from_mpi(self.comm))
        return self._gpu_comm[0]


def launched_by_mpi(environ=None):
    """True if a launcher (mpiexec, mpirun, srun) started this process as one of several.

    >>> from minigrad.distributed import launched_by_mpi
    >>> launched_by_mpi({"PMI_SIZE": "4"}), launched_by_mpi({})
    (True, False)
    """
    environ = os.environ if environ is None else environ
    return any(environ.get(name, "1").strip() not in ("", "1")
               for name in _LAUNCHER_SIZE_VARIABLES)


def init(device=None, timeout=None):
    """Join the job: read rank, size and local rank from MPI (when launched by an MPI
    launcher) and return the :class:`~minigrad.distributed.World`. Idempotent: later calls
    return the same world.

    Args:
        device: ``"cuda"`` to give each rank of a machine its own GPU (GPU ``local_rank``,
            modulo the GPUs visible); call ``init`` before making CUDA tensors. None or "cpu"
            for CPU training.
        timeout: seconds a collective may wait for the other ranks before a watchdog aborts
            the job with a message (see :class:`~minigrad.distributed.MPICommunicator`):
            what ends a job in which one rank hangs or left without an exception. None: the
            environment variable ``MINIGRAD_DISTRIBUTED_TIMEOUT`` if set ("0" or "none" for
            no limit), else ``DEFAULT_TIMEOUT`` (30 minutes); 0: no limit.

    >>> world = mg.distributed.init()      # a plain process: a world of one
    >>> world.rank, world.size, world.is_distributed()
    (0, 1, False)
    """
    global _world
    with _lock:
        asked = None if device is None else str(device).lower()
        if asked not in (None, "cpu", "cuda", "gpu"):
            raise ValueError(f"init(device=...) expected 'cpu' or 'cuda', got {device!r}")
        device = "cuda" if asked in ("cuda", "gpu") else "cpu"
        if _world is not None:
            if device == "cuda" and _world.device != "cuda":   # init() first, then for cuda
                _use_gpu(_world.local_rank)
                _world = replace(_world, device="cuda")
            return _world
        timeout = _timeout(timeout)
        if launched_by_mpi():
            from .mpi import MPICommunicator
            comm = MPICommunicator(timeout=timeout)
            local_rank, local_size = comm.local_rank_and_size()
        else:
            from .local import LocalCommunicator
            comm = LocalCommunicator.make_group(1)[0]
            local_rank, local_size = 0, 1
        if device == "cuda":
            _use_gpu(local_rank)
        world = World(comm.rank, comm.size, local_rank, local_size, comm, device)
        if world.is_distributed():
            _abort_on_uncaught_exceptions(world)
        _world = world
        return world


def _timeout(timeout):
    """The collective timeout in seconds, or None for no limit (see
    :func:`~minigrad.distributed.init`)."""
    if timeout is None:
        text = os.environ.get(TIMEOUT_VARIABLE, "").strip().lower()
        if not text:
            return DEFAULT_TIMEOUT
        if text == "none":
            return None
        try:
            timeout = float(text)
        except ValueError:
            raise ValueError(f"{TIMEOUT_VARIABLE} must be a number of seconds or 'none', got "
                             f"{text!r}") from None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
        raise ValueError(f"init(timeout=...) expected seconds >= 0 or None, got {timeout!r}")
    return float(timeout) if timeout > 0 else None


def current():
    """The world, made by :func:`~minigrad.distributed.init` on first use."""
    return _world if _world is not None else init()


def _use_gpu(local_rank):
    """Make GPU ``local_rank`` (modulo the visible GPUs) CuPy's current device, in the
    calling thread (CUDA's current device is per thread), before minigrad's CUDA backend is
    made: it loads its kernels on the device that is current then."""
    from ..backends.cuda import is_available

    if not is_available():
        from ..backends import get_backend
        get_backend("cuda")            # raises, saying what is missing (CuPy, a GPU, a driver)
    import cupy

    count = cupy.cuda.runtime.getDeviceCount()
    cupy.cuda.Device(local_rank % count).use()


def _abort_on_uncaught_exceptions(world):
    """Chain a ``sys.excepthook`` that, after the usual traceback, aborts every rank."""
    previous = sys.excepthook

    def hook(kind, value, traceback):
        try:
            previous(kind, value, traceback)
        finally:
            world.comm.abort(f"rank {world.rank} of {world.size} stopped on an uncaught "
                             f"{kind.__name__}: {value}; aborting every rank", 1)

    sys.excepthook = hook
