"""Dynamic batching (minigrad.serve.batching)."""

import threading
import time

import numpy as np
import pytest

from .conftest import requires_serve_extra

requires_serve_extra()

from minigrad.serve.batching import DynamicBatcher  # noqa: E402
from minigrad.serve.errors import ServeError  # noqa: E402


class SlowDouble:
    """run(rows) = 2 * rows, taking ``delay`` seconds and recording each batch's size."""

    def __init__(self, delay=0.0):
        self.delay = delay
        self.sizes = []

    def __call__(self, rows):
        self.sizes.append(len(rows))
        time.sleep(self.delay)
        return rows * 2


def submit_together(batcher, inputs):
    """Submit every input from its own thread at once; the answers in input order."""
    answers = [None] * len(inputs)
    barrier = threading.Barrier(len(inputs))

    def client(i):
        barrier.wait()
        answers[i] = batcher.submit(inputs[i])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(inputs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return answers


def test_concurrent_requests_share_forward_passes_and_get_their_own_rows():
    run = SlowDouble(delay=0.02)
    batcher = DynamicBatcher(run, max_batch_size=64, timeout=0.05)
    inputs = [np.full((1 + i % 3, 2), float(i)) for i in range(24)]
    answers = submit_together(batcher, inputs)
    for x, answer in zip(inputs, answers):
        np.testing.assert_array_equal(answer, 2 * x)
    assert sum(run.sizes) == sum(len(x) for x in inputs)
    assert len(run.sizes) < len(inputs), run.sizes  # some requests were merged
    batcher.close()


def test_batches_never_exceed_the_limit_but_a_big_request_runs_alone():
    run = SlowDouble(delay=0.01)
    batcher = DynamicBatcher(run, max_batch_size=4, timeout=0.05)
    inputs = [np.ones((3, 1)) * i for i in range(6)] + [np.ones((9, 1))]
    answers = submit_together(batcher, inputs)
    for x, answer in zip(inputs, answers):
        np.testing.assert_array_equal(answer, 2 * x)
    assert max(run.sizes) == 9 and sorted(run.sizes)[:-1] == [3] * 6  # 3 + 3 > 4
    batcher.close()


def test_a_failing_batch_fails_every_request_in_it_and_the_next_ones_work():
    calls = []

    def run(rows):
        calls.append(len(rows))
        if len(calls) == 1:
            raise RuntimeError("boom")
        return rows

    batcher = DynamicBatcher(run, max_batch_size=8)
    with pytest.raises(RuntimeError, match="boom"):
        batcher.submit(np.ones((1, 1)))
    np.testing.assert_array_equal(batcher.submit(np.ones((2, 1))), np.ones((2, 1)))
    batcher.close()


def test_a_full_queue_answers_503_instead_of_growing():
    release = threading.Event()
    batcher = DynamicBatcher(lambda rows: release.wait(5) and rows, max_batch_size=1,
                             max_queue=1)
    first = threading.Thread(target=batcher.submit, args=(np.ones((1, 1)),))
    first.start()
    time.sleep(0.1)  # the first request leads and runs; the queue is empty
    second = threading.Thread(target=batcher.submit, args=(np.ones((1, 1)),))
    second.start()
    time.sleep(0.1)  # the second fills the queue
    with pytest.raises(ServeError, match="overloaded") as error:
        batcher.submit(np.ones((1, 1)))
    assert error.value.status == 503
    release.set()
    first.join(5)
    second.join(5)
    batcher.close()


def test_waiting_longer_than_allowed_is_a_503_and_leaves_the_queue():
    run = SlowDouble(delay=0.5)
    batcher = DynamicBatcher(run, max_batch_size=1)
    first = threading.Thread(target=batcher.submit, args=(np.ones((1, 1)),))
    first.start()
    time.sleep(0.1)  # the first request leads and runs for 0.5 s
    with pytest.raises(ServeError, match="did not finish within") as error:
        batcher.submit(np.full((1, 1), 2.0), wait=0.05)
    assert error.value.status == 503
    first.join(5)
    run.delay = 0.0
    np.testing.assert_array_equal(batcher.submit(np.full((1, 1), 3.0)), [[6.0]])
    assert run.sizes == [1, 1]  # the request that gave up never ran


def test_a_request_whose_batch_runs_too_long_gets_a_503_and_the_next_ones_work():
    run = SlowDouble(delay=0.5)
    batcher = DynamicBatcher(run, max_batch_size=8, timeout=0.2)
    answers = {}

    def client(name, wait):
        try:
            answers[name] = batcher.submit(np.ones((1, 1)), wait=wait)
        except ServeError as error:
            answers[name] = error.status

    leader = threading.Thread(target=client, args=("leader", 60))
    leader.start()
    time.sleep(0.01)  # the leader gathers for 200 ms: the impatient one joins its batch
    client("impatient", 0.3)
    leader.join(5)
    assert answers["impatient"] == 503
    np.testing.assert_array_equal(answers["leader"], [[2.0]])
    assert run.sizes == [2]
    run.delay = 0.0
    np.testing.assert_array_equal(batcher.submit(np.ones((2, 1))), 2 * np.ones((2, 1)))


def test_an_idle_batcher_runs_the_request_in_the_callers_thread():
    threads = []
    batcher = DynamicBatcher(lambda rows: threads.append(threading.get_ident()) or rows,
                             max_batch_size=8)
    before = threading.active_count()
    for _ in range(3):
        batcher.submit(np.ones((1, 1)))
    assert threads == [threading.get_ident()] * 3
    assert threading.active_count() == before  # no thread of its own


def test_the_model_is_never_run_by_two_threads_at_once():
    running, most = [0], [0]
    lock = threading.Lock()

    def run(rows):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.002)
        with lock:
            running[0] -= 1
        return rows + 1

    batcher = DynamicBatcher(run, max_batch_size=4)
    inputs = [np.full((1 + i % 2, 3), float(i)) for i in range(40)]
    for x, answer in zip(inputs, submit_together(batcher, inputs)):
        np.testing.assert_array_equal(answer, x + 1)
    assert most[0] == 1


@pytest.mark.parametrize("timeout", [0.0, 0.002])
def test_many_clients_with_random_sizes_each_get_their_own_rows(timeout):
    rng = np.random.default_rng(int(timeout * 1000))
    run = SlowDouble()
    batcher = DynamicBatcher(run, max_batch_size=16, timeout=timeout)
    inputs = [rng.normal(size=(int(rng.integers(1, 20)), 2)) for _ in range(64)]
    answers = [None] * len(inputs)

    def client(first):
        for i in range(first, len(inputs), 8):  # 8 threads, 8 requests each, one at a time
            answers[i] = batcher.submit(inputs[i])

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    for x, answer in zip(inputs, answers):
        np.testing.assert_array_equal(answer, 2 * x)
    assert sum(run.sizes) == sum(len(x) for x in inputs)
    big = {len(x) for x in inputs if len(x) > 16}
    assert all(size <= 16 or size in big for size in run.sizes)


def test_a_failing_batch_fails_all_its_requests_together():
    calls = []

    def run(rows):
        calls.append(len(rows))
        time.sleep(0.05)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return rows

    batcher = DynamicBatcher(run, max_batch_size=8, timeout=0.2)
    outcomes = [None] * 4
    barrier = threading.Barrier(4)

    def client(i):
        barrier.wait()
        try:
            outcomes[i] = batcher.submit(np.ones((1, 1)))
        except RuntimeError as error:
            outcomes[i] = str(error)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert calls[0] == 4 and outcomes == ["boom"] * 4
    np.testing.assert_array_equal(batcher.submit(np.ones((1, 1))), [[1.0]])


def test_after_close_requests_are_refused():
    batcher = DynamicBatcher(SlowDouble(), max_batch_size=2)
    batcher.submit(np.ones((1, 1)))
    batcher.close()
    with pytest.raises(ServeError, match="shutting down"):
        batcher.submit(np.ones((1, 1)))


def test_limits_are_checked():
    with pytest.raises(ValueError, match="max_batch_size"):
        DynamicBatcher(SlowDouble(), max_batch_size=0)


@pytest.mark.parametrize("others_busy, yields", [(None, 0), (lambda: False, 0),
                                                 (lambda: True, 1)])
def test_a_leader_lets_busy_threads_queue_first_but_never_waits_when_idle(
        monkeypatch, others_busy, yields):
    import minigrad.serve.batching as batching

    sleeps = []
    monkeypatch.setattr(batching.time, "sleep", sleeps.append)
    batcher = DynamicBatcher(lambda rows: rows * 2, max_batch_size=8,
                             others_busy=others_busy)
    np.testing.assert_array_equal(batcher.submit(np.ones((1, 1))), [[2.0]])
    assert sleeps == [0] * yields


def test_a_request_that_waited_in_line_leads_without_yielding(monkeypatch):
    """Only a leader that found the model idle yields: one handed the lead runs at once."""
    import minigrad.serve.batching as batching

    sleeps = []
    real_sleep = time.sleep
    monkeypatch.setattr(batching.time, "sleep",
                        lambda seconds: sleeps.append(seconds) or real_sleep(seconds))
    sizes = []

    def run(rows):
        sizes.append(len(rows))
        real_sleep(0.2)
        return rows * 2

    batcher = DynamicBatcher(run, max_batch_size=1, others_busy=lambda: True)
    first = threading.Thread(target=batcher.submit, args=(np.ones((1, 1)),))
    first.start()
    real_sleep(0.05)  # the first leads; the second queues and is handed the lead after it
    np.testing.assert_array_equal(batcher.submit(np.full((1, 1), 3.0)), [[6.0]])
    first.join(5)
    assert sizes == [1, 1]
    assert sleeps == [0]  # the first leader's, not the second's


def test_requests_of_different_lengths_are_never_merged():
    # a model of any sequence length (input shape [-1, -1]): rows of length 3 and 5 cannot be
    # stacked, so each batch holds one length; every request still gets its own answer
    run = SlowDouble(delay=0.01)
    batcher = DynamicBatcher(run, max_batch_size=64, timeout=0.05)
    inputs = [np.full((1, 3 + 2 * (i % 2)), float(i)) for i in range(16)]
    answers = submit_together(batcher, inputs)
    for x, answer in zip(inputs, answers):
        np.testing.assert_array_equal(answer, 2 * x)
    assert sum(run.sizes) == len(inputs)
    assert len(run.sizes) < len(inputs), run.sizes  # equal lengths were still merged
    batcher.close()
