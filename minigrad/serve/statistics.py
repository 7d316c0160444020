"""Inference statistics of one served model version, in the JSON shape of Triton's statistics
extension (what ``tritonclient``'s ``get_inference_statistics`` reads).

For each version: ``inference_count`` (rows inferred), ``execution_count`` (forward passes:
one per merged batch), ``last_inference`` (milliseconds since the epoch), and cumulative
``{count, ns}`` pairs for successful and failed requests and, over the successful ones, the
time spent waiting for a batch (``queue``), decoding the request (``compute_input``), in the
forward pass (``compute_infer``) and encoding the answer (``compute_output``).
``batch_stats`` has one entry per batch size seen, with the forward passes of that size (only
``compute_infer`` is measured per batch: decoding and encoding happen per request).
"""

import threading
import time

_REQUEST_PARTS = ("success", "fail", "queue", "compute_input", "compute_infer",
                  "compute_output", "cache_hit", "cache_miss")


def _duration(count=0, ns=0):
    return {"count": count, "ns": ns}


class VersionStatistics:
    """Counters of one version, updated from many request threads (under a small lock: a few
    additions, never held during a forward pass)."""

    def __init__(self, name, version):
        self.name = name
        self.version = str(version)
        self._lock = threading.Lock()
        self._last_inference = 0
        self._inferences = 0
        self._executions = 0
        self._request = {part: [0, 0] for part in _REQUEST_PARTS}
        self._batches = {}  # batch size -> [count, ns]

    def execution(self, rows, seconds):
        """One forward pass over ``rows`` rows that took ``seconds``."""
        ns = int(seconds * 1e9)
        with self._lock:
            self._executions += 1
            self._inferences += rows
            self._last_inference = time.time_ns() // 1_000_000
            entry = self._batches.setdefault(rows, [0, 0])
            entry[0] += 1
            entry[1] += ns

    def request(self, ok, seconds, queue=0.0, compute_input=0.0, compute_infer=0.0,
                compute_output=0.0):
        """One inference request, answered (``ok``) or failed, that took ``seconds`` in all,
        with its parts (in seconds) for a successful one."""
        with self._lock:
            entry = self._request["success" if ok else "fail"]
            entry[0] += 1
            entry[1] += int(seconds * 1e9)
            if ok:
                for part, value in (("queue", queue), ("compute_input", compute_input),
                                    ("compute_infer", compute_infer),
                                    ("compute_output", compute_output)):
                    self._request[part][0] += 1
                    self._request[part][1] += int(value * 1e9)

    def as_json(self):
        """This version's entry of ``model_stats`` (a snapshot)."""
        with self._lock:
            return {
                "name": self.name, "version": self.version,
                "last_inference": self._last_inference,
                "inference_count": self._inferences, "execution_count": self._executions,
                "inference_stats": {part: _duration(*values)
                                    for part, values in self._request.items()},
                "batch_stats": [{"batch_size": size, "compute_input": _duration(),
                                 "compute_infer": _duration(*self._batches[size]),
                                 "compute_output": _duration()}
                                for size in sorted(self._batches)],
                "memory_usage": []}
