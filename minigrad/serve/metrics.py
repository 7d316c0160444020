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
# Model load durations: a small file in milliseconds, a large one in tens of seconds.
LOAD_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class ServerMetrics:
    """The counters, histograms and gauge one app updates.

    - ``minigrad_requests_total{model, endpoint, status}``
    - ``minigrad_request_duration_seconds{model, endpoint}`` (histogram)
    - ``minigrad_batch_size{model}`` (histogram of the rows in each forward pass)
    - ``minigrad_requests_in_flight`` (gauge)
    - ``minigrad_inference_requests_total{model, version, outcome}`` (success or fail) and
      ``minigrad_inference_duration_seconds{model, version}`` (histogram): inference per
      version
    - ``minigrad_model_loads_total{model}``, ``minigrad_model_load_failures_total{model}``,
      ``minigrad_model_unloads_total{model}``, ``minigrad_model_load_duration_seconds{model}``
      (histogram: reading, checking and warming up a version)
    - ``minigrad_model_version_served{model, version}``: 1 while a version is served, 0 after

    ``model`` is empty for requests that name no known model (so a client cannot create label
    values at will); ``endpoint`` is one of server, health, metadata, ready, infer, config,
    stats, repository, metrics, unknown. Versions and the models of the load metrics come
    from the server's own models and repository folders, never from a request alone.
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
        versioned = ["model", "version"]
        self.inferences = Counter("minigrad_inference_requests",
                                  "Inference requests per model version, by outcome.",
                                  versioned + ["outcome"], registry=self.registry)
        self.inference_latency = Histogram(
            "minigrad_inference_duration_seconds",
            "Time from receiving an inference request to its answer, per model version.",
            versioned, buckets=LATENCY_BUCKETS, registry=self.registry)
        self.loads = Counter("minigrad_model_loads", "Model versions loaded.", ["model"],
                             registry=self.registry)
        self.load_failures = Counter("minigrad_model_load_failures",
                                     "Model versions refused (unreadable, corrupt, or not "
                                     "fitting the version served).", ["model"],
                                     registry=self.registry)
        self.unloads = Counter("minigrad_model_unloads", "Model versions unloaded.", ["model"],
                               registry=self.registry)
        self.load_duration = Histogram("minigrad_model_load_duration_seconds",
                                       "Time to read, check and warm up a model version.",
                                       ["model"], buckets=LOAD_BUCKETS,
                                       registry=self.registry)
        self.served = Gauge("minigrad_model_version_served",
                            "1 while a model version is served, 0 once swapped out.",
                            versioned, registry=self.registry, multiprocess_mode="livemax")
        # labels() takes a lock and builds a tuple each time: keep each label set's children.
        self._children = {}

    def version(self, model, version):
        """The per-version inference metrics of one model version."""
        return _VersionMetrics(self, model, version)

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

    def loaded(self, model, version, seconds):
        """A version loaded in ``seconds`` and now served."""
        self.loads.labels(model).inc()
        self.load_duration.labels(model).observe(seconds)
        self.served.labels(model, version).set(1)

    def unloaded(self, model, version):
        """A version no longer served."""
        self.unloads.labels(model).inc()
        self.served.labels(model, version).set(0)

    def exposition(self):
        """``(body, content type)`` of the text format, this process's metrics or, in
        multi-process mode, every worker's."""
        registry = self.registry
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        return prometheus_client.generate_latest(registry), prometheus_client.CONTENT_TYPE_LATEST


class _VersionMetrics:
    """A version's inference counters and latency histogram, looked up once."""

    def __init__(self, metrics, model, version):
        self._success = metrics.inferences.labels(model, version, "success")
        self._fail = metrics.inferences.labels(model, version, "fail")
        self._latency = metrics.inference_latency.labels(model, version)

    def observe(self, ok, seconds):
        (self._success if ok else self._fail).inc()
        self._latency.observe(seconds)
