"""Fixtures of the serving tests: small models, a WSGI caller, and a live server."""

import http.client
import io
import json
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

#: Each serving test module starts with ``requires_serve_extra()``: without waitress and
#: prometheus_client the whole module is skipped with this reason.
SKIP_REASON = "the serving extra is not installed (pip install -e '.[serve]')"


def requires_serve_extra():
    pytest.importorskip("waitress", reason=SKIP_REASON)
    pytest.importorskip("prometheus_client", reason=SKIP_REASON)


def make_mlp(name="tiny", seed=0, features=4, classes=3):
    """A small built classifier: (N, features) floats -> (N, classes) probabilities."""
    mg.manual_seed(seed)
    return mg.Sequential([nn.Dense(8, activation="relu", input_shape=(features,)),
                          nn.Dense(classes, activation="softmax")], name=name)


@pytest.fixture
def mlp():
    return make_mlp()


@pytest.fixture
def app_for():
    """``app_for(model_or_path, **options)``: a served app, closed after the test."""
    apps = []

    def make(source, **options):
        app = mg.serve.create_app(source, **options)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


class Answer:
    """A WSGI response: status code, headers (a dict) and body."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)


def call(app, method, path, body=b"", headers=None, content_length=None, extra_environ=None):
    """Call the WSGI ``app`` as a server would and return its :class:`Answer`; ``extra_environ``
    adds to the WSGI environment."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": io.BytesIO(body),
               "CONTENT_LENGTH": str(len(body) if content_length is None else content_length),
               "REMOTE_ADDR": "127.0.0.1", **(extra_environ or {})}
    for key, value in (headers or {}).items():
        environ["HTTP_" + key.upper().replace("-", "_")] = value
    started = {}

    def start_response(status, response_headers):
        started["status"] = int(status.split()[0])
        started["headers"] = dict(response_headers)

    chunks = app(environ, start_response)
    return Answer(started["status"], started["headers"], b"".join(chunks))


def infer_body(x, name="input", datatype="FP32", **extra):
    """A JSON inference request for the array ``x``."""
    x = np.asarray(x)
    return {"inputs": [{"name": name, "shape": list(x.shape), "datatype": datatype,
                        "data": x.ravel().tolist()}], **extra}


@pytest.fixture
def live_server():
    """``live_server(app, **serve_options)`` -> "127.0.0.1:port": the app on waitress in a
    thread, stopped (gracefully) after the test."""
    running = []

    def start(app, **options):
        stop, ready, where = threading.Event(), threading.Event(), {}

        def on_ready(host, port):
            where["address"] = f"{host}:{port}"
            ready.set()

        thread = threading.Thread(target=mg.serve.serve, args=(app,), daemon=True,
                                  kwargs=dict(port=0, stop=stop, ready=on_ready, **options))
        thread.start()
        assert ready.wait(10), "the server did not start"
        running.append((stop, thread))
        return where["address"]

    yield start
    for stop, thread in running:
        stop.set()
        thread.join(10)
        assert not thread.is_alive(), "the server did not stop"


# --- real HTTP: a client, and `minigrad serve` in a subprocess -----------------------------
def post(address, path, body, headers=None, timeout=30):
    connection = http.client.HTTPConnection(address, timeout=timeout)
    connection.request("POST", path, json.dumps(body) if isinstance(body, dict) else body,
                       headers or {})
    response = connection.getresponse()
    answer = response.status, response.read()
    connection.close()
    return answer


def get(address, path, timeout=10):
    connection = http.client.HTTPConnection(address, timeout=timeout)
    connection.request("GET", path)
    response = connection.getresponse()
    answer = response.status, response.read()
    connection.close()
    return answer


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_live(address, process, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited: {process.stderr.read().decode()}")
        try:
            if get(address, "/v2/health/ready", timeout=2)[0] == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not become ready")


@pytest.fixture
def saved_model(tmp_path, mlp):
    path = tmp_path / "tiny.safetensors"
    mlp.save(path)
    return path


def start_cli(*args):
    return subprocess.Popen([sys.executable, "-m", "minigrad", "serve", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
