"""The in-process stand-in communicator: what MPI does (sum/max/min in rank order, broadcast,
barrier), stricter than MPI (mismatched collectives raise on every rank), and never a hang (a
failing, aborting, departed or late rank ends the group)."""

import threading
import time

import numpy as np
import pytest

from minigrad.distributed.local import GroupAborted, LocalCommunicator, run_ranks


@pytest.mark.parametrize("ranks", [1, 2, 3, 5])
def test_allreduce_and_broadcast_give_every_rank_the_numpy_result(ranks):
    def work(comm):
        mine = np.arange(4.0) * (comm.rank + 1)
        summed = comm.allreduce(mine.copy(), "sum")
        largest = comm.allreduce(np.array([comm.rank, -comm.rank]), "max")
        smallest = comm.allreduce(np.array([comm.rank, -comm.rank]), "min")
        sent = comm.broadcast(np.full(3, float(comm.rank)), root=ranks - 1)
        comm.barrier()
        return summed, largest, smallest, sent

    for summed, largest, smallest, sent in run_ranks(ranks, work):
        np.testing.assert_array_equal(summed, np.arange(4.0) * sum(range(1, ranks + 1)))
        assert largest.tolist() == [ranks - 1, 0] and smallest.tolist() == [0, 1 - ranks]
        assert sent.tolist() == [ranks - 1.0] * 3


def test_the_sum_is_taken_in_rank_order_so_every_rank_gets_the_same_bits():
    values = [1e16, 1.0, -1e16, 1.0]                 # order-dependent in floating point
    got = run_ranks(4, lambda comm: comm.allreduce(np.array([values[comm.rank]]))[0])
    assert got == [((1e16 + 1.0) - 1e16) + 1.0] * 4


def test_each_rank_logs_its_collectives():
    def work(comm):
        comm.allreduce(np.zeros((2, 3), "float32"), "max")
        comm.broadcast(np.zeros(1, "int64"), root=1)
        return comm.calls

    assert run_ranks(2, work) == [[("allreduce", (2, 3), "float32", "max"),
                                   ("broadcast", (1,), "int64", 1)]] * 2


@pytest.mark.parametrize("differs", ["shape", "dtype", "op", "collective", "root"])
def test_ranks_that_call_different_collectives_all_raise(differs):
    def work(comm):
        odd = comm.rank == 1
        try:
            if differs == "shape":
                comm.allreduce(np.zeros(3 if odd else 4))
            elif differs == "dtype":
                comm.allreduce(np.zeros(3, "float32" if odd else "float64"))
            elif differs == "op":
                comm.allreduce(np.zeros(3), "max" if odd else "sum")
            elif differs == "collective":
                comm.broadcast(np.zeros(3)) if odd else comm.allreduce(np.zeros(3))
            else:
                comm.broadcast(np.zeros(3), root=1 if odd else 0)
        except RuntimeError as error:
            return str(error)
        return None

    messages = run_ranks(3, work)
    assert all(m is not None and "called different collectives" in m for m in messages)


def test_a_rank_that_raises_stops_the_others_and_its_exception_comes_back():
    def work(comm):
        if comm.rank == 2:
            raise KeyError("rank 2's own error")
        comm.allreduce(np.zeros(3))              # would wait forever for rank 2
        return "unreachable"

    start = time.monotonic()
    with pytest.raises(KeyError, match="rank 2's own error"):
        run_ranks(3, work)
    assert time.monotonic() - start < 5


def test_a_rank_that_returns_early_fails_the_ranks_still_waiting_for_it():
    def work(comm):
        if comm.rank == 0:
            comm.barrier()

    with pytest.raises(GroupAborted, match="rank 1 returned without calling"):
        run_ranks(2, work)


def test_abort_and_timeout_end_the_wait_with_a_message():
    def aborting(comm):
        if comm.rank == 0:
            comm.abort("stop here")
        comm.barrier()

    with pytest.raises(GroupAborted, match="rank 0 aborted: stop here"):
        run_ranks(2, aborting)
    [alone, _] = LocalCommunicator.make_group(2, timeout=0.2)
    with pytest.raises(GroupAborted, match="waited more than 0.2 s"):
        alone.barrier()


def test_a_rank_that_fails_right_after_a_collective_does_not_break_it_for_the_others():
    # A rank released from a collective must return from it, even if another rank fails (and
    # aborts the group) before the first one has woken up.
    for _ in range(50):
        seen = []

        def work(comm):
            comm.allreduce(np.ones(1))
            seen.append(comm.rank)
            if comm.rank == 1:
                raise ValueError("after the collective")

        with pytest.raises(ValueError):
            run_ranks(3, work)
        assert sorted(seen) == [0, 1, 2]


def test_groups_are_independent_and_threads_end():
    before = threading.active_count()
    assert run_ranks(2, lambda comm: comm.allreduce(np.ones(1))[0]) == [2.0, 2.0]
    assert run_ranks(3, lambda comm: comm.allreduce(np.ones(1))[0]) == [3.0, 3.0, 3.0]
    assert threading.active_count() == before


@pytest.mark.parametrize("size", [0, -1, 1.5, True])
def test_a_group_needs_a_positive_whole_number_of_ranks(size):
    with pytest.raises(ValueError, match="whole number of ranks"):
        LocalCommunicator.make_group(size)


def test_bad_op_and_root_are_refused():
    [comm] = LocalCommunicator.make_group(1)
    with pytest.raises(ValueError, match="unknown reduction 'prod'"):
        comm.allreduce(np.ones(2), "prod")
    with pytest.raises(ValueError, match="root must be a rank from 0 to 0"):
        comm.broadcast(np.ones(2), root=1)
