"""Dynamic batching: requests for one model that arrive together share one forward pass.

A forward pass of a small model on one sample costs almost as much as on dozens (the weights
are read once either way, and each op's Python overhead is paid once), so a server that merges
concurrent requests answers many more of them per second. Each request's rows wait in a queue;
one worker thread per model takes the oldest request, gathers the requests queued behind it
until the batch holds ``max_batch_size`` rows or ``timeout`` has passed since the oldest
arrived, runs the model once on their concatenation, and hands each request its own rows.
"""

import os
import queue
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

import numpy as np

from .errors import ServeError


class _Pending:
    """One request's rows and the future its answer goes to."""

    __slots__ = ("rows", "future", "arrived")

    def __init__(self, rows):
        self.rows = rows
        self.future = Future()
        self.arrived = time.monotonic()


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
    """

    def __init__(self, run, max_batch_size, timeout=0.0, max_queue=1024, on_batch=None):
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {max_batch_size}")
        self.run = run
        self.max_batch_size = int(max_batch_size)
        self.timeout = float(timeout)
        self.on_batch = on_batch
        self._queue = queue.Queue(maxsize=max_queue)
        self._carry = None  # a request taken from the queue that did not fit the last batch
        self._lock = threading.Lock()
        self._worker = None
        self._worker_pid = None
        self._closed = False

    def submit(self, rows, wait=60.0):
        """The model's outputs for ``rows``, computed in a batch with whatever else is queued.

        Raises ServeError 503 when the queue is full or the answer takes longer than ``wait``
        seconds; re-raises the model's exception if the batch failed.
        """
        if self._closed:
            raise ServeError(503, "the server is shutting down")
        self._ensure_worker()
        pending = _Pending(rows)
        try:
            self._queue.put_nowait(pending)
        except queue.Full:
            raise ServeError(503, "the server is overloaded (inference queue full); retry "
                                  "later") from None
        try:
            return pending.future.result(timeout=wait)
        except (TimeoutError, FutureTimeout):  # the same class only from Python 3.11
            raise ServeError(503, f"inference did not finish within {wait:g} s") from None

    def close(self):
        """Stop the worker once the requests already queued are answered."""
        self._closed = True
        self._queue.put(None)  # wakes the worker

    def _ensure_worker(self):
        # The worker starts on first use, in the process that serves: a server that forks
        # workers after creating the app (gunicorn) gets one thread in each worker.
        if self._worker is not None and self._worker_pid == os.getpid():
            return
        with self._lock:
            if self._worker is None or self._worker_pid != os.getpid():
                self._worker = threading.Thread(target=self._serve_forever, daemon=True,
                                                name="minigrad-batcher")
                self._worker_pid = os.getpid()
                self._worker.start()

    def _serve_forever(self):
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            self._run_batch(batch)

    def _next_batch(self):
        """The oldest request and those that join it, or None when closed."""
        first = self._carry if self._carry is not None else self._queue.get()
        self._carry = None
        if first is None:
            return None
        batch, rows = [first], len(first.rows)
        deadline = first.arrived + self.timeout
        while rows < self.max_batch_size:
            try:
                remaining = deadline - time.monotonic()
                item = (self._queue.get(timeout=remaining) if remaining > 0
                        else self._queue.get_nowait())
            except queue.Empty:
                break
            if item is None:  # closing: answer what we have, then stop
                self._queue.put(None)
                break
            if rows + len(item.rows) > self.max_batch_size:
                self._carry = item
                break
            batch.append(item)
            rows += len(item.rows)
        return batch

    def _run_batch(self, batch):
        try:
            merged = batch[0].rows if len(batch) == 1 else np.concatenate(
                [p.rows for p in batch])
            if self.on_batch is not None:
                self.on_batch(len(merged))
            outputs = self.run(merged)
        except BaseException as exc:  # every waiting request learns of the failure
            for pending in batch:
                pending.future.set_exception(exc)
            return
        start = 0
        for pending in batch:
            stop = start + len(pending.rows)
            pending.future.set_result(outputs[start:stop])
            start = stop
