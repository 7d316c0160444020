"""Grades exercises/serve_infer.py:  pytest exercises/test_serve_infer.py

Serves your app with the standard library's ``wsgiref`` on 127.0.0.1 (a free port) in a thread,
and queries it as a real client would: with Triton's ``tritonclient.http`` and with plain
``urllib`` for the error cases.
"""

import json
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import numpy as np
import pytest

import minigrad as mg

httpclient = pytest.importorskip(
    "tritonclient.http",
    reason='the serving exercise needs tritonclient: pip install -e ".[course]"')

TIMEOUT = 10  # seconds: no request waits longer than this


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):  # no access log in the test output
        pass


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny model (4 features -> 3 scores), saved with model.save and loaded back."""
    mg.manual_seed(0)
    model = mg.Sequential([mg.nn.Dense(8, activation="relu", input_shape=(4,)), mg.nn.Dense(3)])
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    model.save(path)
    return model, mg.load_model(path)


@contextmanager
def serving(app):
    """Run ``app`` on 127.0.0.1 (port 0: any free one); yields the base URL. An exception in
    the app is kept and reported by ``post``."""
    errors = []

    def guarded(environ, start_response):
        try:
            return app(environ, start_response)
        except Exception as error:  # reported in the student's terms by post()
            errors.append(error)
            raise

    server = make_server("127.0.0.1", 0, guarded, server_class=WSGIServer,
                         handler_class=QuietHandler)
    server.timeout = TIMEOUT
    server.errors = errors
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT)


def url(server, path):
    host, port = server.server_address[:2]
    return f"http://{host}:{port}{path}"


def post(server, path, body):
    """POST ``body`` (bytes, or an object sent as JSON); returns ``(status, parsed JSON or the
    raw bytes, content type)``."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url(server, path), data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            status, raw, kind = response.status, response.read(), response.headers.get(
                "Content-Type", "")
    except urllib.error.HTTPError as error:
        status, raw, kind = error.code, error.read(), error.headers.get("Content-Type", "")
    except (TimeoutError, urllib.error.URLError) as error:
        pytest.fail(f"POST {path}: no answer within {TIMEOUT} s ({error}); does your app read "
                    "exactly CONTENT_LENGTH bytes of wsgi.input (read() alone waits forever)?")
    if status == 500 and server.errors:
        error = server.errors[-1]
        pytest.fail(f"POST {path}: your app raised {type(error).__name__}: {error} (the "
                    "server answered 500); answer a bad request with 400 and a JSON error")
    try:
        return status, json.loads(raw), kind
    except ValueError:
        return status, raw, kind


def infer_body(x, datatype="FP32", shape=None):
    return {"inputs": [{"name": "input", "shape": list(x.shape if shape is None else shape),
                        "datatype": datatype, "data": x.ravel().tolist()}]}


def rows(n, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 4)).astype(np.float32)


def assert_json_error(status, body, kind, want, what):
    assert status == want, f"{what}: expected status {want}, got {status} (body: {body!r:.200})"
    assert kind.startswith("application/json"), (
        f"{what}: the error should be JSON (Content-Type application/json), got {kind!r}")
    assert isinstance(body, dict) and isinstance(body.get("error"), str), (
        f'{what}: the body should be a JSON object {{"error": "<message>"}}, got {body!r:.200}')


def test_tritonclient_gets_the_models_predictions(solution, saved):
    model, loaded = saved
    app = solution.make_app(loaded, name="tiny")
    with serving(app) as server:
        host, port = server.server_address[:2]
        client = httpclient.InferenceServerClient(f"{host}:{port}", connection_timeout=TIMEOUT,
                                                  network_timeout=TIMEOUT)
        try:
            for n in (5, 1):
                x = rows(n, seed=n)
                tensor = httpclient.InferInput("input", list(x.shape), "FP32")
                tensor.set_data_from_numpy(x, binary_data=False)
                wanted = httpclient.InferRequestedOutput("output", binary_data=False)
                try:
                    result = client.infer("tiny", [tensor], outputs=[wanted])
                except Exception as error:
                    pytest.fail(f"tritonclient's infer('tiny', a batch of {n}) failed: "
                                f"{type(error).__name__}: {error}")
                try:
                    got = result.as_numpy("output")
                except Exception as error:
                    pytest.fail(f"tritonclient could not read the output tensor: {error} (do its "
                                '"shape" and the number of values in "data" agree?)')
                assert got is not None, 'the answer has no output named "output"'
                expected = model.predict(x)
                assert got.shape == expected.shape, (
                    f"batch of {n}: output shape {got.shape}, expected {expected.shape} "
                    f"(the model's predictions for the batch)")
                assert got.dtype == np.float32, (
                    f"output datatype {got.dtype}, expected float32: declare it FP32")
                np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6,
                                           err_msg=f"batch of {n}: the predictions differ")
        finally:
            client.close()


def test_the_answer_is_an_open_inference_protocol_response(solution, saved):
    model, loaded = saved
    x = rows(3)
    with serving(solution.make_app(loaded, name="tiny")) as server:
        status, body, kind = post(server, "/v2/models/tiny/infer", infer_body(x))
    assert status == 200, (
        f"POST /v2/models/tiny/infer: expected status 200, got {status}: {body!r:.300}")
    assert kind.startswith("application/json"), (
        f"Content-Type should be application/json, got {kind!r}")
    assert isinstance(body, dict) and isinstance(body.get("outputs"), list) and len(
        body["outputs"]) == 1, f'the body should be {{"outputs": [one tensor]}}, got {body!r:.300}'
    out = body["outputs"][0]
    assert out.get("name") == "output", (
        f'the output tensor should be named "output", got {out.get("name")!r}')
    assert out.get("datatype") == "FP32", (
        f'the output datatype should be "FP32", got {out.get("datatype")!r}')
    assert out.get("shape") == [3, 3], (
        f"for a batch of 3 rows the output shape should be [3, 3], got {out.get('shape')!r}")
    data = np.asarray(out.get("data"), dtype=np.float64).ravel()
    assert data.size == 9, f'"data" should hold 9 numbers (flat, row-major), got {data.size}'
    np.testing.assert_allclose(data, model.predict(x).ravel(), rtol=1e-6, atol=1e-6,
                               err_msg='"data" should be model.predict(x), flat in row-major order')


def test_an_unknown_model_or_route_is_404(solution, saved):
    _, loaded = saved
    with serving(solution.make_app(loaded, name="tiny")) as server:
        for path in ("/v2/models/nope/infer", "/v2/models/tiny/nothing-here"):
            status, body, kind = post(server, path, infer_body(rows(2)))
            assert_json_error(status, body, kind, 404, f"POST {path} (this server has only "
                                                       "model 'tiny')")


def test_a_malformed_body_is_400(solution, saved):
    _, loaded = saved
    good = infer_body(rows(2))
    cases = {
        "a body that is not JSON": b"{this is not json",
        'a body without "inputs"': {"outputs": []},
        '"inputs" that is not a list': {"inputs": 3},
        'an input without "data"': {"inputs": [{k: v for k, v in good["inputs"][0].items()
                                                if k != "data"}]},
        'datatype "INT64" (only FP32 is served)': infer_body(rows(2), datatype="INT64"),
    }
    with serving(solution.make_app(loaded, name="tiny")) as server:
        for what, body in cases.items():
            status, answer, kind = post(server, "/v2/models/tiny/infer", body)
            assert_json_error(status, answer, kind, 400, what)


def test_a_wrong_shape_is_400(solution, saved):
    _, loaded = saved
    x = rows(2)
    cases = {
        "shape [2, 5] (the model takes [-1, 4]: rows of 4 features)":
            infer_body(np.ones((2, 5), np.float32)),
        "shape [8] (the model takes [-1, 4]: a batch of rows)":
            infer_body(x.ravel()),
        "shape [2, 4] with 6 values in data": infer_body(x.ravel()[:6], shape=[2, 4]),
    }
    with serving(solution.make_app(loaded, name="tiny")) as server:
        for what, body in cases.items():
            status, answer, kind = post(server, "/v2/models/tiny/infer", body)
            assert_json_error(status, answer, kind, 400, what)
        status, _, _ = post(server, "/v2/models/tiny/infer", infer_body(x))
        assert status == 200, f"after the bad requests, a good one got status {status}"
