"""One model version as the server runs it: the loaded model, its own dynamic batcher, its
statistics and metrics, and a count of the requests using it.

Each version has its own batcher, so a merged batch never mixes versions and every answer's
``model_version`` names the version that computed it. When a repository swaps a version out
it *retires* it: requests that already hold it finish on it; the last one to finish (or the
retirement itself, when none is running) *releases* it, after which it is never used again
and its memory goes once the last reference does.
"""

import logging
import threading
import time

import numpy as np

from .batching import DynamicBatcher
from .statistics import VersionStatistics

log = logging.getLogger("minigrad.serve")


class Deployment:
    """A :class:`~minigrad.serve.ServedModel` being served.

    Args:
        served: the loaded model version.
        max_batch_size, batch_timeout: the dynamic batcher's options (0 rows: no batching).
        metrics: the app's ``ServerMetrics`` (:mod:`minigrad.serve.metrics`), or None.
        others_busy: see :class:`~minigrad.serve.DynamicBatcher`.
        source: what the version was loaded from (the repository's record of its file), or
            None.
    """

    def __init__(self, served, max_batch_size=64, batch_timeout=0.0, metrics=None,
                 others_busy=None, source=None):
        self.served = served
        self.name, self.version = served.name, served.version
        self.source = source
        self.load_seconds = 0.0  # reading, checking and warming it up (set by a repository)
        self.statistics = VersionStatistics(self.name, self.version)
        self._metrics = metrics.version(self.name, self.version) if metrics else None
        self.batcher = None
        if max_batch_size > 0:
            observe = metrics.batch_size.labels(self.name).observe if metrics else None
            self.batcher = DynamicBatcher(self._run, max_batch_size, timeout=batch_timeout,
                                          on_batch=observe, others_busy=others_busy)
        self._lock = threading.Lock()
        self._users = 0
        self.retired = self.released = False
        self.on_release = None  # called with this deployment once released

    # What the app reads of a model.
    @property
    def input(self):
        return self.served.input

    @property
    def output(self):
        return self.served.output

    @property
    def path(self):
        return self.served.path

    def metadata(self, versions):
        return self.served.metadata(versions)

    def predict(self, rows):
        """The model's output for ``rows``, not batched with other requests."""
        return self.served.predict(rows)

    def warm_up(self):
        """One forward pass on a row of zeros, so that the first request pays for no lazy
        initialisation (compiled kernels, buffers)."""
        shape = [1] + [1 if d < 0 else d for d in self.input.shape[1:]]
        self.served.predict(np.zeros(shape, dtype=self.input.dtype))

    # Inference.
    def _run(self, rows):
        started = time.monotonic()
        outputs = self.predict(rows)
        self.statistics.execution(len(rows), time.monotonic() - started)
        return outputs

    def infer(self, rows, timing):
        """The outputs for ``rows``, merged with concurrent requests for this version when
        batching is on; ``timing`` receives ``queue`` and ``infer`` seconds."""
        if self.batcher is not None:
            return self.batcher.submit(rows, timing=timing)
        started = time.monotonic()
        outputs = self._run(rows)
        timing["queue"], timing["infer"] = 0.0, time.monotonic() - started
        return outputs

    def record(self, ok, seconds, timing):
        """Count one inference request in the statistics and the per-version metrics."""
        self.statistics.request(ok, seconds, timing.get("queue", 0.0),
                                timing.get("input", 0.0), timing.get("infer", 0.0),
                                timing.get("output", 0.0))
        if self._metrics is not None:
            self._metrics.observe(ok, seconds)

    # Life cycle.
    def acquire(self):
        """Mark one more request as using this version; False once it has been released
        (the caller then looks the model up again)."""
        with self._lock:
            if self.released:
                return False
            self._users += 1
            return True

    def release(self):
        """The request that acquired this version is done with it."""
        with self._lock:
            self._users -= 1
            done = self.retired and self._users == 0 and not self.released
            if done:
                self.released = True
        if done:
            self._released()

    def retire(self):
        """No new request gets this version; it is released when the last one using it
        ends."""
        with self._lock:
            self.retired = True
            done = self._users == 0 and not self.released
            if done:
                self.released = True
        if done:
            self._released()

    @property
    def users(self):
        """Requests using this version right now."""
        return self._users

    def _released(self):
        if self.batcher is not None:
            self.batcher.close()
        log.info("model %r version %s released", self.name, self.version)
        if self.on_release is not None:
            self.on_release(self)
