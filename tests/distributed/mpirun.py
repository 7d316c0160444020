"""Running a worker script under the venv's ``mpiexec`` (MPICH's Hydra), for the tests.

Hydra starts the ranks with ``-launcher fork`` (no ssh); the ranks talk over shared memory and
the loopback interface only (UCX and libfabric restricted to ``lo``), with one BLAS/OpenMP
thread each, in an environment cleaned of any outer launcher's variables (a test run itself
under mpiexec or srun must not make the workers think they are one rank of that job). Hydra's
own control socket listens on every interface (MPICH does not let it be bound to one); it
lives as long as the job.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

WORKERS = Path(__file__).resolve().parent / "workers"
MPIEXEC = (shutil.which("mpiexec", path=os.path.dirname(sys.executable))
           or shutil.which("mpiexec"))
HAVE_MPI = MPIEXEC is not None and importlib.util.find_spec("mpi4py") is not None
needs_mpi = pytest.mark.skipif(not HAVE_MPI,
                               reason="needs mpiexec and mpi4py (pip install -e '.[mpi]')")

LAUNCHER_PREFIXES = ("PMI_", "PMIX_", "OMPI_", "MPI_", "HYDRA_", "SLURM_", "MV2_", "I_MPI_",
                     "MINIGRAD_DISTRIBUTED")
LOOPBACK_ONLY = {"UCX_NET_DEVICES": "lo", "FI_PROVIDER": "tcp", "FI_TCP_IFACE": "lo"}
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "NUMBA_NUM_THREADS": "1"}


def environment(**extra):
    """This process's environment without launcher variables, loopback only, one thread."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(LAUNCHER_PREFIXES)}
    env.update(LOOPBACK_ONLY, **ONE_THREAD, **extra)
    return env


def mpiexec(ranks, script, *args, timeout=60, env=None):
    """Run ``workers/<script> args...`` on ``ranks`` ranks; returns the CompletedProcess with
    ``.seconds`` (wall time) added. ``subprocess.TimeoutExpired`` if it outlives
    ``timeout``."""
    command = [MPIEXEC, "-launcher", "fork", "-n", str(ranks), sys.executable,
               str(WORKERS / script), *map(str, args)]
    start = time.monotonic()
    done = subprocess.run(command, env=environment(**(env or {})), capture_output=True,
                          text=True, timeout=timeout)
    done.seconds = time.monotonic() - start
    return done
