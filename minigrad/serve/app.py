"""The WSGI application: the Open Inference Protocol's REST endpoints around saved models.

Endpoints (under ``/v2/models``, ``{model}`` may be followed by ``/versions/{version}``):

=======  ======================================  ==============================================
GET      /v2                                     server metadata
GET      /v2/health/live, /v2/health/ready       liveness, readiness (200 or 503, empty body)
GET      /v2/models/{model}                      model metadata: inputs and outputs
GET      /v2/models/{model}/ready                200 when the model answers (404: unknown)
POST     /v2/models/{model}/infer                inference (JSON tensors, or binary tensor data)
GET      /v2/models/{model}/config               the model configuration (Triton's JSON form)
GET      /v2/models/{model}/stats                inference statistics (Triton's), all versions
GET      /v2/models/stats                        inference statistics of every model
POST     /v2/repository/index                    the model repository's models and their states
POST     /v2/repository/models/{model}/load      load or reload a model (explicit mode)
POST     /v2/repository/models/{model}/unload    unload a model (explicit mode)
GET      /metrics                                Prometheus metrics
=======  ======================================  ==============================================

A model named ``stats`` cannot be served (``/v2/models/stats`` is the statistics route, as in
Triton).

Every error is ``{"error": "..."}`` with the right status. Every request leaves one JSON line
in the ``minigrad.serve.access`` log.
"""

import hmac
import itertools
import json
import logging
import os
import re
import threading
import time
import traceback
import uuid
import zlib

from .. import __version__
from .errors import ServeError, bad_request
from .deployments import Deployment
from .metrics import ServerMetrics
from .model_config import MAX_CONFIG_BYTES, VersionPolicy, triton_config
from .models import ModelSet, load_models
from .repository import DEFAULT_POLL_SECS, ModelRepository
from .tensors import decode_input, encode_output, read_tensor_header

access_log = logging.getLogger("minigrad.serve.access")
error_log = logging.getLogger("minigrad.serve")

#: The largest request body accepted by default, in bytes counted after decompression (64 MiB).
DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024

_MODEL = r"/v2/models/(?P<model>(?!stats(?:/|$))[^/]+)(?:/versions/(?P<version>[^/]+))?"
_REPOSITORY_MODEL = r"/v2/repository/models/(?P<model>[^/]+)"
# (pattern, allowed methods, endpoint name for metrics and the handler's method name)
_ROUTES = [
    (re.compile(r"/v2/?"), ("GET",), "server"),
    (re.compile(r"/v2/health/live"), ("GET",), "live"),
    (re.compile(r"/v2/health/ready"), ("GET",), "ready_server"),
    (re.compile(_MODEL), ("GET",), "metadata"),
    (re.compile(_MODEL + r"/ready"), ("GET",), "ready"),
    (re.compile(_MODEL + r"/infer"), ("POST",), "infer"),
    (re.compile(_MODEL + r"/config"), ("GET",), "config"),
    (re.compile(_MODEL + r"/stats"), ("GET",), "stats"),
    (re.compile(r"/v2/models/stats"), ("GET",), "stats_all"),
    (re.compile(r"/v2/repository/index"), ("POST",), "repository_index"),
    (re.compile(_REPOSITORY_MODEL + r"/load"), ("POST",), "load"),
    (re.compile(_REPOSITORY_MODEL + r"/unload"), ("POST",), "unload"),
    (re.compile(r"/metrics"), ("GET",), "metrics"),
]
_UNAUTHENTICATED = {"live", "ready_server"}  # probes of orchestrators carry no token
# The endpoint label of the metrics, where it is not the handler's name.
_METRIC_ENDPOINTS = {"live": "health", "ready_server": "health", "stats_all": "stats",
                     "repository_index": "repository", "load": "repository",
                     "unload": "repository"}
# Repository routes name a model folder, which need not be served (yet).
_REPOSITORY_ENDPOINTS = {"load", "unload"}

_STATUS_TEXT = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
                405: "Method Not Allowed", 413: "Content Too Large",
                415: "Unsupported Media Type", 500: "Internal Server Error",
                503: "Service Unavailable"}


class _Response:
    def __init__(self, status=200, body=b"", content_type="application/json", headers=()):
        self.status = status
        self.body = body
        self.headers = [("Content-Type", content_type), *headers]


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


# Made once: json.loads and json.dumps with options build a new coder on every call.
_decoder = json.JSONDecoder(parse_constant=_reject_constant)
_encoder = json.JSONEncoder(separators=(",", ":"))


def _json(value, status=200):
    return _Response(status, _encoder.encode(value).encode())


class InferenceApp:
    """A WSGI application serving ``models`` (see :func:`create_app`)."""

    def __init__(self, models, token=None, max_batch_size=64, batch_timeout_ms=0.0,
                 max_body_bytes=DEFAULT_MAX_BODY_BYTES, repository=None):
        self.token = token
        self.max_body_bytes = int(max_body_bytes)
        self.metrics = ServerMetrics()
        self.max_batch_size = int(max_batch_size)
        self.batch_timeout_ms = float(batch_timeout_ms)
        self._closed = False
        self.models = ModelSet([self.deploy(model) for model in models])
        for model in self.models:
            self.metrics.served.labels(model.name, model.version).set(1)
        self.repository = repository
        if repository is not None:
            repository.start(self.models, self.deploy, self.metrics, self.model_config)
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()
        self.accepting = True  # False while shutting down: readiness fails, work continues
        # Request ids: a random prefix per app, the process id (gunicorn's workers are forks
        # of one app) and a counter: unique without reading the OS's random source each time.
        self._id_prefix = uuid.uuid4().hex[:12]
        self._id_counter = itertools.count(1)

    def _others_in_flight(self):
        # Besides the request asking: other requests are being read, decoded or answered.
        return self._in_flight > 1

    @property
    def in_flight(self):
        """Requests being answered right now."""
        return self._in_flight

    def _new_request_id(self):
        # next() on itertools.count is atomic under the GIL: no two requests share a number.
        return f"{self._id_prefix}-{os.getpid()}-{next(self._id_counter)}"

    def deploy(self, served, source=None):
        """A :class:`~minigrad.serve.deployments.Deployment` of ``served`` with this app's
        batching options."""
        if served.name == "stats":
            raise ValueError("a model cannot be named 'stats': /v2/models/stats is the "
                             "statistics route")
        deployment = Deployment(served, self.max_batch_size, self.batch_timeout_ms / 1000,
                                self.metrics, self._others_in_flight, source)
        if self._closed and deployment.batcher is not None:
            deployment.batcher.close()
        return deployment

    def model_config(self, name, model=None):
        """Model ``name``'s configuration in Triton's JSON form (``model``: the version whose
        tensors it describes, default the highest)."""
        model = model or self.models.get(name)
        policy = (self.repository.policy(name) if self.repository is not None
                  else VersionPolicy({"all": {}}))
        return triton_config(model.metadata(self.models.versions(name)), policy,
                             self.max_batch_size, self.batch_timeout_ms)

    def close(self):
        """Refuse new inference requests in the batchers (those already queued are still
        answered) and stop watching the repository."""
        self._closed = True
        if self.repository is not None:
            self.repository.close()
        for model in self.models:
            if model.batcher is not None:
                model.batcher.close()

    # --- WSGI entry -------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        start = time.perf_counter()
        with self._in_flight_lock:
            self._in_flight += 1
        self.metrics.in_flight.inc()
        request_id = environ.get("HTTP_X_REQUEST_ID", "")[:64] or self._new_request_id()
        context = {"endpoint": "unknown", "model": ""}
        try:
            response = self._dispatch(environ, context)
        except ServeError as error:
            response = _json({"error": error.message}, error.status)
            response.headers.extend(error.headers)
        except Exception:  # a bug must not take the server down; the log gets the details
            error_log.error("request %s failed:\n%s", request_id, traceback.format_exc())
            response = _json({"error": f"internal server error (request id {request_id})"},
                             500)
        finally:
            with self._in_flight_lock:
                self._in_flight -= 1
            self.metrics.in_flight.dec()
        seconds = time.perf_counter() - start
        self.metrics.observe(context["model"], context["endpoint"], response.status, seconds)
        self._log(environ, response, context, request_id, seconds)
        response.headers += [("Content-Length", str(len(response.body))),
                             ("X-Request-ID", request_id)]
        reason = _STATUS_TEXT.get(response.status, "")
        start_response(f"{response.status} {reason}", response.headers)
        if environ.get("REQUEST_METHOD") == "HEAD":
            return [b""]
        return [response.body]

    def _log(self, environ, response, context, request_id, seconds):
        if not access_log.isEnabledFor(logging.INFO):
            return
        access_log.info(json.dumps({
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "request_id": request_id,
            "remote": environ.get("REMOTE_ADDR", ""), "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO", "")[:256], "status": response.status,
            "model": context["model"], "endpoint": context["endpoint"],
            "bytes_in": _declared_length(environ),
            "bytes_out": len(response.body), "duration_ms": round(seconds * 1000, 3)}))

    # --- routing ----------------------------------------------------------------------------
    def _dispatch(self, environ, context):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        method = "GET" if method == "HEAD" else method
        for pattern, methods, endpoint in _ROUTES:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            context["endpoint"] = _METRIC_ENDPOINTS.get(endpoint, endpoint)
            if endpoint not in _UNAUTHENTICATED:
                self._authenticate(environ)
            if method not in methods:
                raise ServeError(405, f"{path} accepts {' or '.join(methods)}, not {method}",
                                 headers=[("Allow", ", ".join(methods))])
            arguments = match.groupdict()
            if "model" in arguments and endpoint not in _REPOSITORY_ENDPOINTS:
                model = self.models.get(arguments["model"], arguments["version"])
                context["model"] = model.name
                requested = arguments["version"]
                arguments = {"model": model}
                if endpoint == "stats":
                    arguments["every_version"] = requested is None
                elif endpoint == "infer":
                    arguments["requested"] = requested
            return getattr(self, f"_{endpoint}")(environ, **arguments)
        raise ServeError(404, f"no endpoint {path[:200]!r}; see GET /v2 and the Open "
                              "Inference Protocol")

    def _authenticate(self, environ):
        if self.token is None:
            return
        given = environ.get("HTTP_AUTHORIZATION", "")
        scheme, _, credential = given.partition(" ")
        # compare_digest takes as long whatever the first wrong byte: no timing hints.
        if scheme.lower() != "bearer" or not hmac.compare_digest(
                credential.strip().encode(), self.token.encode()):
            raise ServeError(401, "missing or wrong bearer token (send the header "
                                  "'Authorization: Bearer <token>')",
                             headers=[("WWW-Authenticate", 'Bearer realm="minigrad"')])

    # --- endpoints --------------------------------------------------------------------------
    def _server(self, environ):
        return _json({"name": "minigrad", "version": __version__,
                      "extensions": ["binary_tensor_data"]})

    def _live(self, environ):
        return _Response(200, content_type="text/plain")

    def _ready_server(self, environ):
        return _Response(200 if self.accepting else 503, content_type="text/plain")

    def _metadata(self, environ, model):
        return _json(model.metadata(self.models.versions(model.name)))

    def _ready(self, environ, model):
        return _Response(200 if self.accepting else 503, content_type="text/plain")

    def _metrics(self, environ):
        body, content_type = self.metrics.exposition()
        return _Response(200, body, content_type)

    def _config(self, environ, model):
        return _json(self.model_config(model.name, model))

    def _stats(self, environ, model, every_version):
        versions = [model]
        if every_version:
            table = self.models.table(model.name)
            versions = [table[v] for v in sorted(table, key=int)]
        return _json({"model_stats": [m.statistics.as_json() for m in versions]})

    def _stats_all(self, environ):
        return _json({"model_stats": [m.statistics.as_json() for m in self.models]})

    # --- the model repository ---------------------------------------------------------------
    def _repository_index(self, environ):
        request = self._json_body(environ)
        ready = _flag(request, "ready", "the index request")
        if self.repository is not None:
            return _json(self.repository.index(ready))
        return _json([{"name": m.name, "version": m.version, "state": "READY"}
                      for m in self.models])

    def _load(self, environ, model):
        parameters = _parameters(self._json_body(environ), "the load request")
        files = sorted(key for key in parameters if key.startswith("file:"))
        if files:
            raise bad_request(f"file overrides ({', '.join(files)[:200]}) are not supported: "
                              "put the version's folder into the repository and load the "
                              "model by name")
        unknown = sorted(set(parameters) - {"config"})
        if unknown:
            raise bad_request(f"unknown load parameter(s) {', '.join(unknown)[:200]}; a load "
                              "request takes 'config'")
        config = parameters.get("config")
        if config is not None:
            if not isinstance(config, str) or len(config) > MAX_CONFIG_BYTES:
                raise bad_request("parameter 'config' must be the model configuration as a "
                                  f"JSON string of at most {MAX_CONFIG_BYTES} characters")
            config = _parse_json(config)
        self._repository_for("load").load(model, config)
        return _json({"name": model, "versions": self.models.versions(model)})

    def _unload(self, environ, model):
        parameters = _parameters(self._json_body(environ), "the unload request")
        _flag(parameters, "unload_dependents", "the unload request")  # no model depends on another
        unknown = sorted(set(parameters) - {"unload_dependents"})
        if unknown:
            raise bad_request(f"unknown unload parameter(s) {', '.join(unknown)[:200]}")
        self._repository_for("unload").unload(model)
        return _json({"name": model, "versions": self.models.versions(model)})

    def _repository_for(self, what):
        if self.repository is None:
            raise bad_request(f"explicit model {what} needs a model repository: this server "
                              "serves fixed models (start it with --repository DIR "
                              "--model-control-mode explicit)")
        return self.repository

    def _json_body(self, environ):
        """A control request's JSON object body (``{}`` when the body is empty)."""
        body = self._read_body(environ)
        return _parse_json(body) if body.strip() else {}

    # --- inference --------------------------------------------------------------------------
    def _infer(self, environ, model, requested):
        if not model.acquire():  # swapped out since the lookup: take its successor
            model = self._current(model.name, requested)
        started, timing, ok = time.monotonic(), {}, False
        try:
            body = self._read_body(environ)
            header, binary = _split_binary(environ, body)
            request = _parse_json(header)
            rows = self._request_input(request, model, binary)
            wanted = _requested_outputs(request, model)
            timing["input"] = time.monotonic() - started
            outputs = model.infer(rows, timing)
            encoding = time.monotonic()
            response = _infer_response(request, model, outputs, wanted)
            timing["output"] = time.monotonic() - encoding
            ok = True
            return response
        finally:
            model.record(ok, time.monotonic() - started, timing)
            model.release()

    def _current(self, name, version):
        """The model served now as ``name`` (at ``version`` when not None), acquired."""
        for _ in range(100):  # a swap replaces the table before it releases the old version
            model = self.models.get(name, version)
            if model.acquire():
                return model
        raise ServeError(503, f"model {name!r} is being swapped; retry")

    # --- request bodies ---------------------------------------------------------------------
    def _read_body(self, environ):
        limit = self.max_body_bytes
        declared = environ.get("CONTENT_LENGTH")
        if not declared and environ.get("wsgi.input_terminated"):
            # A chunked body whose length the server did not count (gunicorn): read to its
            # end, but never more than the limit.
            body = environ["wsgi.input"].read(limit + 1)
            if len(body) > limit:
                raise ServeError(413, f"request body is over the limit of {limit} bytes "
                                      "(--max-body-bytes)")
        else:
            length = _declared_length(environ)
            if length is None:
                raise bad_request("Content-Length is not a number")
            if length > limit:
                raise ServeError(413, f"request body of {length} bytes is over the limit of "
                                      f"{limit} bytes (--max-body-bytes)")
            body = environ["wsgi.input"].read(length) if length > 0 else b""
            if len(body) < length:  # a server that passes on a short body (waitress waits)
                raise bad_request(f"the body ended after {len(body)} of the {length} bytes "
                                  "that its Content-Length declares")
        encoding = environ.get("HTTP_CONTENT_ENCODING", "identity").strip().lower()
        if encoding in ("", "identity"):
            return body
        if encoding not in ("gzip", "deflate"):
            raise ServeError(415, f"Content-Encoding {encoding!r} is not supported (use gzip, "
                                  "deflate or none)")
        # Decompress at most limit + 1 bytes: a small "zip bomb" cannot fill the memory.
        window = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
        inflater = zlib.decompressobj(window)
        try:
            data = inflater.decompress(body, limit + 1)
        except zlib.error as exc:
            raise bad_request(f"body is not valid {encoding} data: {exc}") from None
        if len(data) > limit:
            raise ServeError(413, f"decompressed request body is over the limit of {limit} "
                                  "bytes (--max-body-bytes)")
        # The end of the stream (gzip's trailer holds the CRC and length that prove the body
        # whole) must be there, and nothing after it.
        if not inflater.eof:
            raise bad_request(f"body is truncated {encoding} data: the end of the stream is "
                              "missing")
        if inflater.unused_data:
            raise bad_request(f"{len(inflater.unused_data)} bytes follow the end of the "
                              f"{encoding} stream")
        return data

    def _request_input(self, request, model, binary):
        inputs = request.get("inputs")
        if not isinstance(inputs, list) or not inputs:
            raise bad_request("'inputs' must be a non-empty list of tensors")
        headers = [read_tensor_header(spec) for spec in inputs]
        names = [h[0] for h in headers]
        expected = model.input
        if names != [expected.name]:
            raise bad_request(f"model {model.name!r} takes one input named "
                              f"{expected.name!r}, got {names}")
        binary_size = headers[0][3]
        if binary_size is None:
            if binary:
                raise bad_request(f"{len(binary)} bytes of binary data follow the JSON header, "
                                  "but no input has a binary_data_size")
            return decode_input(inputs[0], expected, header=headers[0])
        if binary_size != len(binary):
            raise bad_request(f"input {expected.name!r}: binary_data_size {binary_size} but "
                              f"{len(binary)} bytes follow the JSON header")
        return decode_input(inputs[0], expected, binary, header=headers[0])


def _declared_length(environ):
    """The request's Content-Length as a number (0 when absent, None when not a number)."""
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


def _split_binary(environ, body):
    """The JSON header and the binary tensor data of a request body."""
    size = environ.get("HTTP_INFERENCE_HEADER_CONTENT_LENGTH")
    if size is None:
        return body, b""
    try:
        size = int(size)
    except ValueError:
        raise bad_request("Inference-Header-Content-Length is not a number") from None
    if not 0 < size <= len(body):
        raise bad_request(f"Inference-Header-Content-Length {size} does not fit a body of "
                          f"{len(body)} bytes")
    return body[:size], body[size:]


def _parse_json(raw):
    try:
        if isinstance(raw, (bytes, bytearray)):
            raw = raw.decode(json.detect_encoding(raw), "surrogatepass")
        request = _decoder.decode(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"malformed JSON: {exc}") from None
    except RecursionError:
        raise bad_request("JSON nested too deeply to parse (no tensor needs more than 64 "
                          "levels)") from None
    if not isinstance(request, dict):
        raise bad_request(f"the request must be a JSON object, got {type(request).__name__}")
    if not isinstance(request.get("id", ""), str):
        raise bad_request("'id' must be a string")
    return request


def _requested_outputs(request, model):
    """``{output name: binary?}`` for the outputs to return (all of them by default)."""
    parameters = _parameters(request, "the request")
    binary_default = _flag(parameters, "binary_data_output", "the request")
    outputs = request.get("outputs")
    if outputs is None:
        return {model.output.name: binary_default}
    if not isinstance(outputs, list):
        raise bad_request("'outputs' must be a list")
    wanted = {}
    for spec in outputs:
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise bad_request("each requested output must be an object with a 'name'")
        if spec["name"] in wanted:
            raise bad_request(f"output {spec['name']!r} is requested twice")
        if spec["name"] != model.output.name:
            raise bad_request(f"model {model.name!r} has no output {spec['name']!r}; its "
                              f"output is {model.output.name!r}")
        what = f"output {spec['name']!r}"
        options = _parameters(spec, what)
        if options.get("classification"):
            raise bad_request("the classification extension is not supported; request the "
                              "output tensor and take its top-k")
        wanted[spec["name"]] = _flag(options, "binary_data", what, binary_default)
    return wanted


def _parameters(owner, what):
    """The ``"parameters"`` object of a request or a tensor in it (``{}`` when absent)."""
    parameters = owner.get("parameters", {})
    if not isinstance(parameters, dict):
        raise bad_request(f"{what}: 'parameters' must be a JSON object, got "
                          f"{_json_type(parameters)}")
    return parameters


def _flag(parameters, key, what, default=False):
    value = parameters.get(key, default)
    if not isinstance(value, bool):
        raise bad_request(f"{what}: parameter {key!r} must be true or false, got "
                          f"{_json_type(value)}")
    return value


def _json_type(value):
    """The JSON name of a parsed value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {dict: "an object", list: "a list", str: "a string"}.get(type(value), "a number")


def _infer_response(request, model, outputs, wanted):
    entries, raw = [], []
    for name, binary in wanted.items():
        entry, data = encode_output(name, outputs, binary)
        entries.append(entry)
        if data is not None:
            raw.append(data)
    answer = {"model_name": model.name, "model_version": model.version, "outputs": entries}
    if "id" in request:
        answer["id"] = request["id"]
    header = _encoder.encode(answer).encode()
    if not raw:
        return _Response(200, header)
    return _Response(200, header + b"".join(raw), "application/octet-stream",
                     headers=[("Inference-Header-Content-Length", str(len(header)))])


def create_app(models=None, name=None, token=None, max_batch_size=64, batch_timeout_ms=0.0,
               max_body_bytes=DEFAULT_MAX_BODY_BYTES, repository=None,
               model_control_mode="none", repository_poll_secs=DEFAULT_POLL_SECS, load=()):
    """A WSGI application that serves ``models`` over the Open Inference Protocol.

    Args:
        models: a saved model file, a model folder or a repository of them (see
            :mod:`minigrad.serve.models`), an in-memory model, or a dict
            ``{name: model or path}``; served as they are for the app's lifetime. Leave it
            out to serve a live ``repository`` instead.
        name: the name of a single model (default: the file or folder name without the
            extension, or the model's own name).
        token: when set, every endpoint but the health probes requires the header
            ``Authorization: Bearer <token>``.
        max_batch_size: rows per merged forward pass for dynamic batching; 0 turns it off
            (every request runs alone).
        batch_timeout_ms: how long the oldest request may wait for others to join its batch;
            0 merges only requests that are already waiting.
        max_body_bytes: larger request bodies are refused with 413.
        repository: a model repository folder whose models are loaded, swapped and
            unloaded while the app runs (see :mod:`minigrad.serve.repository`).
        model_control_mode: ``"none"``, ``"poll"`` or ``"explicit"`` (Triton's modes).
        repository_poll_secs: seconds between scans of the repository in poll mode.
        load: in explicit mode, the models to load at start (``"*"``: all).

    >>> model = mg.Sequential([mg.nn.Dense(2, input_shape=(3,))], name="tiny")
    >>> app = mg.serve.create_app(model)
    >>> [m.name for m in app.models]
    ['tiny']
    """
    options = dict(token=token, max_batch_size=max_batch_size,
                   batch_timeout_ms=batch_timeout_ms, max_body_bytes=max_body_bytes)
    if repository is None:
        if models is None:
            raise ValueError("create_app needs models to serve, or a repository")
        return InferenceApp(load_models(models, name), **options)
    if models is not None or name is not None:
        raise ValueError("serve either fixed models or a repository, not both")
    return InferenceApp([], repository=ModelRepository(
        repository, model_control_mode, repository_poll_secs, load), **options)
