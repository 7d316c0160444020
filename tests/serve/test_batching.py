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
    time.sleep(0.1)  # the worker holds the first request, the queue is empty
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


def test_waiting_longer_than_allowed_is_a_503():
    batcher = DynamicBatcher(SlowDouble(delay=0.5), max_batch_size=1)
    with pytest.raises(ServeError, match="did not finish within") as error:
        batcher.submit(np.ones((1, 1)), wait=0.05)
    assert error.value.status == 503
    batcher.close()


def test_after_close_requests_are_refused():
    batcher = DynamicBatcher(SlowDouble(), max_batch_size=2)
    batcher.submit(np.ones((1, 1)))
    batcher.close()
    with pytest.raises(ServeError, match="shutting down"):
        batcher.submit(np.ones((1, 1)))


def test_limits_are_checked():
    with pytest.raises(ValueError, match="max_batch_size"):
        DynamicBatcher(SlowDouble(), max_batch_size=0)
