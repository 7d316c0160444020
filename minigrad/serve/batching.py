"""Dynamic batching: requests for one model that arrive together share one forward pass.

A forward pass of a small model on one sample costs almost as much as on dozens (the weights
are read from memory once either way, and each op's Python overhead is paid once), so a
server that merges concurrent requests answers many more of them per second.

There is no batching thread. The request threads take turns as the *leader* (the "leader and
followers" pattern): a request that finds no batch being formed or run leads at once, alone
if nothing else is waiting, so an idle server answers as fast as without batching; requests
that arrive while a batch runs queue up as followers. The leader takes the oldest requests
until the batch holds ``max_batch_size`` rows (waiting up to ``timeout`` after the oldest
arrived for more to join), runs the model once on their concatenation, hands each follower
its own rows, and passes the lead to the oldest request still queued. One batch runs at a
time per model, so the model is never called concurrently. Under load the model falls idle
only for moments; a request that catches one of them gives up the GIL once before forming its
batch when other requests are being handled, so that the ones about to queue can join it.
"""

import collections
import threading
import time

import numpy as np

from .errors import ServeError

# What a queued request is doing; changed only under the batcher's lock.
_QUEUED, _LEADING, _RUNNING, _DONE = "queued", "leading", "running", "done"


class _Pending:
    """One request: its rows, its state, and where its answer goes.

    ``wake`` is a lock held from the start; releasing it wakes the request's thread, either
    with an answer (state done) or to lead the next batch (state leading).
    """

    __slots__ = ("rows", "arrived", "state", "wake", "result", "error", "started", "seconds")

    def __init__(self, rows):
        self.rows = rows
        self.arrived = time.monotonic()
        self.state = _QUEUED
        self.wake = threading.Lock()
        self.wake.acquire()
        self.result = None
        self.error = None
        self.started = self.seconds = None  # when its batch began, and how long it ran


class DynamicBatcher:
    """Merge concurrent calls of ``run(rows) -> outputs`` (both with the batch as the first
    axis) into batches of at most ``max_batch_size`` rows.

    Args:
        run: the model's forward pass on a NumPy batch, returning a NumPy batch.
        max_batch_size: rows per merged batch; a single request with more rows runs alone.
        timeout: seconds the oldest queued request may wait for others to join it; 0 merges
            only what is already queued (no added latency when the server is idle).
        max_queue: requests waiting at most; beyond that a request is refused with a 503
            rather than let the queue (and latency) grow without bound.
        on_batch: called with each merged batch's row count (for metrics), or None.
        others_busy: a callable saying whether other requests are being handled right now
            (their threads may be about to queue), or None. When it says so, a leader that
            found the model idle first lets those threads run, so that they can join its
            batch; an idle server never waits.
    """

    def __init__(self, run, max_batch_size, timeout=0.0, max_queue=1024, on_batch=None,
                 others_busy=None):
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {max_batch_size}")
        self.run = run
        self.max_batch_size = int(max_batch_size)
        self.timeout = float(timeout)
        self.max_queue = int(max_queue)
        self.on_batch = on_batch
        self.others_busy = others_busy
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)  # a leader waiting for company
        self._queue = collections.deque()  # requests not yet in a running batch, oldest first
        self._busy = False  # a leader is forming or running a batch
        self._gathering = False  # ... and waits on _arrived for more requests
        self._closed = False

    def submit(self, rows, wait=60.0, timing=None):
        """The model's outputs for ``rows``, computed in a batch with whatever else is queued.

        ``timing``, a dict, receives ``"queue"`` (seconds from the call to the start of the
        request's batch) and ``"infer"`` (seconds the batch's forward pass took), for
        statistics. Raises ServeError 503 when the queue is full or the request waits longer than
        ``wait`` seconds for other requests' batches; re-raises the model's exception if its
        batch failed.
        """
        if self._closed:
            raise ServeError(503, "the server is shutting down")
        pending = _Pending(rows)
        found_idle = False
        with self._lock:
            if len(self._queue) >= self.max_queue:
                raise ServeError(503, "the server is overloaded (inference queue full); "
                                      "retry later")
            self._queue.append(pending)
            if self._busy:
                if self._gathering:
                    self._arrived.notify()
            else:  # nobody is batching: this request leads, at once
                self._busy = True
                pending.state = _LEADING
                found_idle = True
        if pending.state != _LEADING and not pending.wake.acquire(timeout=wait):
            self._give_up(pending, wait)
        if pending.state == _LEADING:
            if found_idle and self.others_busy is not None and self.others_busy():
                # Under load the model falls idle only for a moment: a leader that started at
                # once would run almost alone, and so would the next one (on one core, the
                # others cannot queue while it runs). Giving up the GIL once lets the threads
                # that are ready queue their requests first (sleep(0) does just that).
                time.sleep(0)
            self._lead()
        if timing is not None and pending.started is not None:
            timing["queue"] = pending.started - pending.arrived
            timing["infer"] = pending.seconds
        if pending.error is not None:
            raise pending.error
        return pending.result

    def close(self):
        """Refuse new requests; those already queued are still answered."""
        self._closed = True

    def _give_up(self, pending, wait):
        """After ``wait`` seconds without an answer: leave the queue with a 503, unless the
        request was made leader or answered in the meantime."""
        with self._lock:
            if pending.state == _QUEUED:
                self._queue.remove(pending)
            if pending.state in (_QUEUED, _RUNNING):  # a running batch answers it too late
                raise ServeError(503, f"inference did not finish within {wait:g} s")

    def _lead(self):
        """Form one batch from the head of the queue (this thread's request is the head), run
        it, and pass the lead on."""
        batch = []
        try:
            batch = self._gather()
            self._run_batch(batch)
        finally:
            with self._lock:
                if self._queue:
                    successor = self._queue[0]
                    successor.state = _LEADING
                    successor.wake.release()
                else:
                    self._busy = False

    def _gather(self):
        """Take requests from the head of the queue for one batch."""
        with self._lock:
            first = self._queue.popleft()
            first.state = _RUNNING
            batch, rows = [first], len(first.rows)
            deadline = first.arrived + self.timeout
            while rows < self.max_batch_size:
                if not self._queue:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._gathering = True
                    self._arrived.wait(remaining)
                    self._gathering = False
                    continue
                if rows + len(self._queue[0].rows) > self.max_batch_size:
                    break  # it waits for the next batch, still first in line
                if self._queue[0].rows.shape[1:] != first.rows.shape[1:]:
                    break  # sequences of another length (a free axis): the next batch
                item = self._queue.popleft()
                item.state = _RUNNING
                batch.append(item)
                rows += len(item.rows)
        return batch

    def _run_batch(self, batch):
        """Run the model on the batch and answer each request (the first is the leader's
        own, whose thread is running this)."""
        try:
            merged = batch[0].rows if len(batch) == 1 else np.concatenate(
                [p.rows for p in batch])
            if self.on_batch is not None:
                self.on_batch(len(merged))
            started = time.monotonic()
            try:
                outputs = self.run(merged)
            finally:
                seconds = time.monotonic() - started
                for pending in batch:
                    pending.started, pending.seconds = started, seconds
        except BaseException as exc:  # every request of the batch learns of the failure
            for pending in batch:
                pending.error = exc
        else:
            start = 0
            for pending in batch:
                stop = start + len(pending.rows)
                pending.result = outputs[start:stop]
                start = stop
        for pending in batch:
            pending.state = _DONE
        for pending in batch[1:]:
            pending.wake.release()
