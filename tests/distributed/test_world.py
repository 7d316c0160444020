"""init() and the World: a plain process is a world of one that never starts MPI; launchers
are recognised by their variables; the timeout's sources; the abort hook is chained."""

import subprocess
import sys
import textwrap

import pytest

import minigrad.distributed as dist
from minigrad.distributed import world as world_module
from minigrad.distributed.world import launched_by_mpi

from .mpirun import environment


def test_a_plain_process_is_a_world_of_one_without_mpi():
    # in a fresh interpreter, so that no earlier test's import of mpi4py counts
    code = textwrap.dedent("""
        import sys
        import minigrad.distributed as dist
        world = dist.init()
        assert dist.init() is world and dist.init("cpu") is world
        print(world.rank, world.size, world.local_rank, world.local_size, world.is_root(),
              world.is_distributed(), dist.rank(), dist.size(), dist.is_root(),
              dist.is_distributed(), "mpi4py.MPI" in sys.modules, sys.excepthook is
              sys.__excepthook__)
        dist.barrier()
    """)
    done = subprocess.run([sys.executable, "-c", code], env=environment(), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == "0 1 0 1 True False 0 1 True False False True".split()


@pytest.mark.parametrize("variables, launched", [
    ({}, False),
    ({"PMI_SIZE": "3"}, True),                      # MPICH's Hydra, Intel MPI
    ({"PMI_SIZE": "1"}, False),                     # mpiexec -n 1: a world of one anyway
    ({"OMPI_COMM_WORLD_SIZE": "2"}, True),          # Open MPI
    ({"SLURM_STEP_NUM_TASKS": "8"}, True),          # srun
    ({"SLURM_NTASKS": "8"}, False),                 # an sbatch script itself: not a rank
    ({"MPI_LOCALNRANKS": "2"}, True)])
def test_launchers_are_recognised_by_their_variables(variables, launched):
    assert launched_by_mpi(variables) is launched


@pytest.mark.parametrize("given, variable, expected", [
    (None, None, world_module.DEFAULT_TIMEOUT),
    (None, "12.5", 12.5),
    (None, "none", None),
    (None, "0", None),
    (7, "12.5", 7.0),
    (0, None, None)])
def test_the_timeout_comes_from_the_argument_the_variable_or_the_default(
        monkeypatch, given, variable, expected):
    if variable is None:
        monkeypatch.delenv(world_module.TIMEOUT_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(world_module.TIMEOUT_VARIABLE, variable)
    assert world_module._timeout(given) == expected
    assert world_module.DEFAULT_TIMEOUT == 1800


@pytest.mark.parametrize("given, variable, message", [
    (-1, None, "expected seconds >= 0 or None"),
    ("10", None, "expected seconds >= 0 or None"),
    (None, "ten", "must be a number of seconds or 'none'")])
def test_a_bad_timeout_is_refused(monkeypatch, given, variable, message):
    monkeypatch.delenv(world_module.TIMEOUT_VARIABLE, raising=False)
    if variable is not None:
        monkeypatch.setenv(world_module.TIMEOUT_VARIABLE, variable)
    with pytest.raises(ValueError, match=message):
        world_module._timeout(given)


def test_an_unknown_device_is_refused():
    with pytest.raises(ValueError, match="expected 'cpu' or 'cuda', got 'tpu'"):
        dist.init(device="tpu")


def test_the_abort_hook_prints_the_traceback_then_aborts_with_the_rank(monkeypatch):
    aborted, printed = [], []

    class Comm:
        def abort(self, message, code):
            aborted.append((message, code))

    world = dist.World(1, 3, 1, 3, Comm())
    monkeypatch.setattr(sys, "excepthook", lambda *exc: printed.append(exc[0]))
    world_module._abort_on_uncaught_exceptions(world)
    sys.excepthook(KeyError, KeyError("x"), None)
    assert printed == [KeyError]
    assert aborted == [("rank 1 of 3 stopped on an uncaught KeyError: 'x'; aborting every "
                        "rank", 1)]


def test_without_mpi4py_the_error_says_what_to_install(monkeypatch):
    from minigrad.distributed.mpi import MPICommunicator

    monkeypatch.setitem(sys.modules, "mpi4py", None)        # "from mpi4py import MPI" fails
    with pytest.raises(RuntimeError, match=r"needs mpi4py and an MPI library.*pip install"):
        MPICommunicator()


@pytest.mark.skipif(__import__("minigrad").cuda.is_available(), reason="a GPU is present")
def test_init_for_cuda_without_a_gpu_says_what_is_missing():
    with pytest.raises(RuntimeError, match="device 'cuda'"):
        dist.init(device="cuda")
    assert dist.current().device == "cpu"
