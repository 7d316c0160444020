"""minigrad.distributed on real MPI worlds: ``mpiexec -n 2`` and ``-n 3`` run worker scripts
(tests/distributed/workers/) that check every collective against their own NumPy arithmetic,
and jobs in which one rank fails must end, non-zero and with a message, in bounded time."""

import pytest

from .mpirun import mpiexec, needs_mpi

pytestmark = needs_mpi

#: How long a failed job may take to end (the jobs below end in 1-4 s on 2 busy cores).
BOUNDED = 30


@pytest.mark.parametrize("ranks, timeout", [(2, "none"), (3, "600")])
def test_every_collective_gives_the_numpy_result_on_every_rank(ranks, timeout):
    # (with and without the watchdog that a collective timeout starts)
    done = mpiexec(ranks, "collectives.py", ranks, timeout=60,
                   env={"MINIGRAD_DISTRIBUTED_TIMEOUT": timeout})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    # (the ranks' lines can interleave in Hydra's merged stdout)
    assert all(f"rank {r} ok" in done.stdout for r in range(ranks)), done.stdout
    assert done.stdout.count(" ok") == ranks, done.stdout


def test_an_uncaught_exception_on_one_rank_aborts_every_rank():
    done = mpiexec(3, "failure.py", "raise", timeout=BOUNDED)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "RuntimeError: rank 1 fails on purpose" in output            # its traceback
    assert "rank 1 of 3 stopped on an uncaught RuntimeError" in output   # and the abort
    assert "got past the allreduce" not in output


def test_a_killed_rank_ends_the_job():
    # SIGKILL leaves no Python to say anything: Hydra notices the lost process and stops
    # the others (they are waiting in an allreduce).
    done = mpiexec(2, "failure.py", "kill", timeout=BOUNDED)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "signal 9" in output or "Killed" in output, output[-2000:]
    assert "got past the allreduce" not in output


@pytest.mark.parametrize("mode", ["exit", "hang"])
def test_a_rank_that_leaves_quietly_or_hangs_ends_the_job_after_the_timeout(mode):
    # sys.exit(3) is no exception (no hook sees it) and Hydra waits for the others after a
    # clean MPI_Finalize; a hung rank says nothing either. The others' watchdog aborts.
    done = mpiexec(3, "failure.py", mode, 2, timeout=BOUNDED)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "waited more than 2.0 s in allreduce" in output, output[-2000:]
    assert "got past the allreduce" not in output
