"""Prometheus metrics of a server, exposed at ``/metrics``.

Each app has its own registry (two apps in one process do not mix their counts). Under a
multi-process server (gunicorn with several workers), set ``PROMETHEUS_MULTIPROC_DIR`` to an
empty folder before starting it: every worker then writes its metrics there and ``/metrics``
adds them up, as prometheus_client's multi-process mode does.
"""

import os

from ..extras import install_hint

try:
    import prometheus_client
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
except ImportError as exc:  # pragma: no cover - the serve extra is missing
    raise ImportError(f"minigrad.serve needs prometheus_client ({exc}); install the serving "
                      f"extra: {install_hint('serve')}") from None

# Request latency buckets: from sub-millisecond answers of small models to slow batches.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                   5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class ServerMetrics:
    """The counters, histograms and gauge one app updates.

    - ``minigrad_requests_total{model, endpoint, status}``
    - ``minigrad_request_duration_seconds{model, endpoint}`` (histogram)
    - ``minigrad_batch_size{model}`` (histogram of the rows in each forward pass)
    - ``minigrad_requests_in_flight`` (gauge)

    ``model`` is empty for requests that name no known model (so a client cannot create label
    values at will); ``endpoint`` is one of server, health, metadata, ready, infer, metrics,
    unknown.
    """

    def __init__(self):
        self.registry = CollectorRegistry()
        labels = ["model", "endpoint"]
        self.requests = Counter("minigrad_requests", "HTTP requests answered.",
                                labels + ["status"], registry=self.registry)
        self.latency = Histogram("minigrad_request_duration_seconds",
                                 "Time from receiving a request to its answer.", labels,
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.batch_size = Histogram("minigrad_batch_size", "Rows in each forward pass.",
                                    ["model"], buckets=BATCH_BUCKETS, registry=self.registry)
        self.in_flight = Gauge("minigrad_requests_in_flight", "Requests being answered now.",
                               registry=self.registry, multiprocess_mode="livesum")
        # labels() takes a lock and builds a tuple each time: keep each label set's children.
        self._children = {}

    def observe(self, model, endpoint, status, seconds):
        """Count one answered request."""
        key = (model, endpoint, status)
        children = self._children.get(key)
        if children is None:  # a few dozen label sets at most: models x endpoints x statuses
            children = self._children[key] = (self.requests.labels(model, endpoint,
                                                                   str(status)),
                                              self.latency.labels(model, endpoint))
        children[0].inc()
        children[1].observe(seconds)

    def exposition(self):
        """``(body, content type)`` of the text format, this process's metrics or, in
        multi-process mode, every worker's."""
        registry = self.registry
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        return prometheus_client.generate_latest(registry), prometheus_client.CONTENT_TYPE_LATEST
