"""The Open Inference Protocol endpoints and their errors, called as a WSGI server would."""

import gzip
import json
import logging
import re
import zlib

import numpy as np
import pytest

import minigrad as mg

from .conftest import call, infer_body, make_mlp, requires_serve_extra

requires_serve_extra()

X = np.random.default_rng(0).random((5, 4), dtype=np.float32)


@pytest.fixture
def app(app_for, mlp):
    return app_for(mlp)


def outputs_of(answer):
    (output,) = answer.json()["outputs"]
    return np.array(output["data"], dtype=np.float32).reshape(output["shape"])


def test_server_metadata_and_health(app):
    answer = call(app, "GET", "/v2")
    assert answer.status == 200
    assert answer.json() == {"name": "minigrad", "version": mg.__version__,
                             "extensions": ["binary_tensor_data"]}
    assert call(app, "GET", "/v2/health/live").status == 200
    assert call(app, "GET", "/v2/health/ready").status == 200


def test_model_metadata_and_readiness(app):
    expected = {"name": "tiny", "versions": ["1"], "platform": "minigrad",
                "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}],
                "outputs": [{"name": "output", "datatype": "FP32", "shape": [-1, 3]}]}
    assert call(app, "GET", "/v2/models/tiny").json() == expected
    assert call(app, "GET", "/v2/models/tiny/versions/1").json() == expected
    assert call(app, "GET", "/v2/models/tiny/ready").status == 200
    assert call(app, "GET", "/v2/models/tiny/versions/1/ready").status == 200


def test_readiness_fails_while_shutting_down(app):
    app.accepting = False
    assert call(app, "GET", "/v2/health/ready").status == 503
    assert call(app, "GET", "/v2/models/tiny/ready").status == 503
    assert call(app, "GET", "/v2/health/live").status == 200


@pytest.mark.parametrize("nested", [False, True])
def test_json_inference_equals_predict(app, mlp, nested):
    body = infer_body(X, id="req-7")
    if nested:
        body["inputs"][0]["data"] = X.tolist()
    answer = call(app, "POST", "/v2/models/tiny/infer", body)
    assert answer.status == 200 and answer.headers["Content-Type"] == "application/json"
    result = answer.json()
    assert result["model_name"] == "tiny" and result["model_version"] == "1"
    assert result["id"] == "req-7"
    assert result["outputs"][0]["datatype"] == "FP32"
    np.testing.assert_array_equal(outputs_of(answer), mlp.predict(X))


def binary_request(x, **parameters):
    header = json.dumps({
        "inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32",
                    "parameters": {"binary_data_size": x.nbytes}}], **parameters}).encode()
    return header + x.astype("<f4").tobytes(), {"Inference-Header-Content-Length":
                                                str(len(header))}


def split_binary_answer(answer):
    size = int(answer.headers["Inference-Header-Content-Length"])
    header = json.loads(answer.body[:size])
    (output,) = header["outputs"]
    array = np.frombuffer(answer.body[size:], dtype="<f4")
    assert output["parameters"]["binary_data_size"] == array.nbytes
    return array.reshape(output["shape"])


def test_binary_inputs_and_outputs_as_tritons_clients_send_them(app, mlp):
    body, headers = binary_request(X, parameters={"binary_data_output": True})
    answer = call(app, "POST", "/v2/models/tiny/infer", body, headers)
    assert answer.status == 200, answer.body
    assert answer.headers["Content-Type"] == "application/octet-stream"
    np.testing.assert_array_equal(split_binary_answer(answer), mlp.predict(X))


def test_requested_output_format_wins_over_the_default(app, mlp):
    body = infer_body(X, parameters={"binary_data_output": True},
                      outputs=[{"name": "output", "parameters": {"binary_data": False}}])
    answer = call(app, "POST", "/v2/models/tiny/infer", body)
    np.testing.assert_array_equal(outputs_of(answer), mlp.predict(X))
    body = infer_body(X, outputs=[{"name": "output", "parameters": {"binary_data": True}}])
    answer = call(app, "POST", "/v2/models/tiny/infer", body)
    np.testing.assert_array_equal(split_binary_answer(answer), mlp.predict(X))


@pytest.mark.parametrize("encoding, compress", [
    ("gzip", gzip.compress), ("deflate", zlib.compress)])
def test_compressed_request_bodies(app, mlp, encoding, compress):
    body = compress(json.dumps(infer_body(X)).encode())
    answer = call(app, "POST", "/v2/models/tiny/infer", body, {"Content-Encoding": encoding})
    np.testing.assert_array_equal(outputs_of(answer), mlp.predict(X))


def test_head_is_get_without_a_body(app):
    answer = call(app, "HEAD", "/v2")
    assert answer.status == 200 and answer.body == b""
    assert int(answer.headers["Content-Length"]) > 0


def test_versions_are_served_separately(app_for, tmp_path):
    models = {v: make_mlp(seed=v) for v in (1, 2)}
    for version, model in models.items():
        (tmp_path / "m" / str(version)).mkdir(parents=True)
        model.save(tmp_path / "m" / str(version) / "model.safetensors")
    app = app_for(tmp_path / "m")
    assert call(app, "GET", "/v2/models/m").json()["versions"] == ["1", "2"]
    for version, model in models.items():
        answer = call(app, "POST", f"/v2/models/m/versions/{version}/infer", infer_body(X))
        assert answer.json()["model_version"] == str(version)
        np.testing.assert_array_equal(outputs_of(answer), model.predict(X))
    latest = call(app, "POST", "/v2/models/m/infer", infer_body(X))
    assert latest.json()["model_version"] == "2"


def good_inference_still_works(app, mlp):
    answer = call(app, "POST", "/v2/models/tiny/infer", infer_body(X))
    assert answer.status == 200
    np.testing.assert_array_equal(outputs_of(answer), mlp.predict(X))


BAD_REQUESTS = [
    # (method, path, body, headers, status, message pattern)
    ("POST", "/v2/models/tiny/infer", b"{not json", {}, 400, "malformed JSON"),
    ("POST", "/v2/models/tiny/infer", b"\xff\xfe", {}, 400, "malformed JSON"),
    ("POST", "/v2/models/tiny/infer", b"[1, 2]", {}, 400, "must be a JSON object"),
    ("POST", "/v2/models/tiny/infer", b"", {}, 400, "malformed JSON"),
    ("POST", "/v2/models/tiny/infer", {"inputs": []}, {}, 400, "non-empty list"),
    ("POST", "/v2/models/tiny/infer", infer_body(X[:, :3]), {}, 400,
     r"expected shape \[-1, 4\] \(-1: any size\), got \[5, 3\]"),
    ("POST", "/v2/models/tiny/infer", infer_body(X, datatype="FP64"), {}, 400,
     "expected datatype FP32, got FP64"),
    ("POST", "/v2/models/tiny/infer", infer_body(X, name="pixels"), {}, 400,
     r"takes one input named 'input', got \['pixels'\]"),
    ("POST", "/v2/models/tiny/infer",
     {"inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP32", "data": [1.0] * 7}]},
     {}, 400, "holds 8 elements, 'data' has 7"),
    ("POST", "/v2/models/tiny/infer",
     b'{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", '
     b'"data": [NaN, 0, 0, 0]}]}', {}, 400, "NaN is not valid JSON"),
    ("POST", "/v2/models/tiny/infer",
     b'{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", '
     b'"data": [Infinity, 0, 0, 0]}]}', {}, 400, "Infinity is not valid JSON"),
    ("POST", "/v2/models/tiny/infer", infer_body(X, outputs=[{"name": "probs"}]), {}, 400,
     "has no output 'probs'"),
    ("POST", "/v2/models/tiny/infer",
     infer_body(X, outputs=[{"name": "output", "parameters": {"classification": 2}}]), {}, 400,
     "classification extension is not supported"),
    ("POST", "/v2/models/tiny/infer", json.dumps(infer_body(X)).encode(),
     {"Inference-Header-Content-Length": "999999"}, 400, "does not fit a body"),
    ("POST", "/v2/models/tiny/infer", json.dumps(infer_body(X)).encode(),
     {"Content-Encoding": "br"}, 415, "'br' is not supported"),
    ("POST", "/v2/models/tiny/infer", b"not gzip", {"Content-Encoding": "gzip"}, 400,
     "not valid gzip data"),
    # gzip without its 8-byte trailer (CRC and length): the body cannot be proven whole
    ("POST", "/v2/models/tiny/infer", gzip.compress(json.dumps(infer_body(X)).encode())[:-8],
     {"Content-Encoding": "gzip"}, 400, "truncated gzip data: the end of the stream is missing"),
    ("POST", "/v2/models/tiny/infer", zlib.compress(json.dumps(infer_body(X)).encode())[:-4],
     {"Content-Encoding": "deflate"}, 400, "truncated deflate data"),
    ("POST", "/v2/models/tiny/infer", gzip.compress(json.dumps(infer_body(X)).encode()) + b"xx",
     {"Content-Encoding": "gzip"}, 400, "2 bytes follow the end of the gzip stream"),
    # nested deeper than the JSON parser's recursion: a 400, not a 500
    ("POST", "/v2/models/tiny/infer", b"[" * 100_000 + b"]" * 100_000, {}, 400,
     "JSON nested too deeply"),
    ("POST", "/v2/models/tiny/infer", b'{"inputs": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
     {}, 400, "JSON nested too deeply"),
    ("POST", "/v2/models/tiny/infer", infer_body(X, parameters=[]), {}, 400,
     "the request: 'parameters' must be a JSON object, got a list"),
    ("POST", "/v2/models/tiny/infer", infer_body(X, parameters=None), {}, 400,
     "'parameters' must be a JSON object, got null"),
    ("POST", "/v2/models/tiny/infer", infer_body(X, parameters="binary"), {}, 400,
     "'parameters' must be a JSON object, got a string"),
    ("POST", "/v2/models/tiny/infer", infer_body(X, parameters={"binary_data_output": "true"}),
     {}, 400, "'binary_data_output' must be true or false, got a string"),
    ("POST", "/v2/models/tiny/infer",
     infer_body(X, outputs=[{"name": "output", "parameters": []}]), {}, 400,
     "output 'output': 'parameters' must be a JSON object, got a list"),
    ("POST", "/v2/models/tiny/infer",
     infer_body(X, outputs=[{"name": "output", "parameters": {"binary_data": 1}}]), {}, 400,
     "'binary_data' must be true or false, got a number"),
    ("POST", "/v2/models/tiny/infer", infer_body(X, outputs={"name": "output"}), {}, 400,
     "'outputs' must be a list"),
    ("POST", "/v2/models/tiny/infer", {"inputs": infer_body(X)["inputs"][0]}, {}, 400,
     "'inputs' must be a non-empty list"),
    ("POST", "/v2/models/tiny/infer",
     {"inputs": [{"name": "input", "shape": [5, 4], "datatype": "FP32", "data": X.T.tolist()}]},
     {}, 400, r"'data' is nested as \[4, 5\] but 'shape' is \[5, 4\]"),
    ("POST", "/v2/models/tiny/infer",
     {"inputs": [{"name": "input", "shape": [10**12, 4], "datatype": "FP32",
                  "data": X.ravel().tolist()}]}, {}, 400, "holds 4000000000000 elements"),
    ("POST", "/v2/models/tiny/infer",
     b'{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", '
     b'"data": [1e999, 0, 0, 0]}]}', {}, 400, "NaN or infinity"),
    ("POST", "/v2/models/tiny/infer", infer_body(X, datatype="INT64"), {}, 400,
     "expected datatype FP32, got INT64"),
    ("POST", "/v2/models/tiny/infer",
     infer_body(X, outputs=[{"name": "output"}, {"name": "output"}]), {}, 400,
     "'output' is requested twice"),
    ("POST", "/v2/models/tiny/infer", infer_body(X, id=5), {}, 400, "'id' must be a string"),
    ("POST", "/v2/models/nope/infer", infer_body(X), {}, 404, "unknown model 'nope'"),
    ("GET", "/v2/models/nope", b"", {}, 404, "unknown model 'nope'"),
    ("GET", "/v2/models/tiny/versions/9", b"", {}, 404, "has no version '9'"),
    ("GET", "/v3/whatever", b"", {}, 404, "no endpoint '/v3/whatever'"),
    ("GET", "/v2/models/tiny/infer", b"", {}, 405, "accepts POST, not GET"),
    ("DELETE", "/v2/models/tiny", b"", {}, 405, "accepts GET, not DELETE"),
    ("PUT", "/v2/health/live", b"", {}, 405, "accepts GET, not PUT"),
]


@pytest.mark.parametrize("method, path, body, headers, status, message", BAD_REQUESTS,
                         ids=[f"{r[4]}-{r[5][:30]}" for r in BAD_REQUESTS])
def test_bad_requests_get_a_json_error_and_the_server_carries_on(app, mlp, method, path, body,
                                                                  headers, status, message):
    answer = call(app, method, path, body, headers)
    assert answer.status == status, answer.body
    assert answer.headers["Content-Type"] == "application/json"
    assert re.search(message, answer.json()["error"]), answer.json()
    if status == 405:
        assert "Allow" in answer.headers
    good_inference_still_works(app, mlp)


def test_binary_data_with_nan_is_refused(app, mlp):
    x = X.copy()
    x[2, 1] = np.nan
    body, headers = binary_request(x)
    answer = call(app, "POST", "/v2/models/tiny/infer", body, headers)
    assert answer.status == 400 and "NaN or infinity" in answer.json()["error"]
    good_inference_still_works(app, mlp)


def test_a_chunked_body_without_length_is_read_to_its_end_within_the_limit(app_for, mlp):
    app = app_for(mlp, max_body_bytes=2000)
    small = json.dumps(infer_body(X)).encode()
    answer = call(app, "POST", "/v2/models/tiny/infer", small, content_length="",
                  extra_environ={"wsgi.input_terminated": True})
    np.testing.assert_array_equal(outputs_of(answer), mlp.predict(X))
    big = json.dumps(infer_body(np.zeros((100, 4), np.float32))).encode()
    answer = call(app, "POST", "/v2/models/tiny/infer", big, content_length="",
                  extra_environ={"wsgi.input_terminated": True})
    assert answer.status == 413


def test_bodies_over_the_limit_get_413(app_for, mlp):
    app = app_for(mlp, max_body_bytes=2000)
    big = json.dumps(infer_body(np.zeros((100, 4), np.float32))).encode()
    assert len(big) > 2000
    answer = call(app, "POST", "/v2/models/tiny/infer", big)
    assert answer.status == 413 and "over the limit of 2000 bytes" in answer.json()["error"]
    # A claimed length over the limit is refused before reading anything.
    answer = call(app, "POST", "/v2/models/tiny/infer", b"", content_length=10**12)
    assert answer.status == 413
    # A small compressed body that inflates past the limit ("zip bomb").
    bomb = gzip.compress(b" " * 10**6)
    assert len(bomb) < 2000
    answer = call(app, "POST", "/v2/models/tiny/infer", bomb, {"Content-Encoding": "gzip"})
    assert answer.status == 413 and "decompressed" in answer.json()["error"]
    good_inference_still_works(app, mlp)


TOKEN = "s3cret-token"


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {TOKEN}",
                                           f"Bearer {TOKEN}x", "Bearer"])
def test_a_missing_or_wrong_token_is_401(app_for, mlp, authorization):
    app = app_for(mlp, token=TOKEN)
    headers = {"Authorization": authorization} if authorization else {}
    for method, path, body in [("GET", "/v2", b""), ("GET", "/v2/models/tiny", b""),
                               ("POST", "/v2/models/tiny/infer", infer_body(X)),
                               ("GET", "/metrics", b"")]:
        answer = call(app, method, path, body, headers)
        assert answer.status == 401, (path, answer.body)
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert "bearer token" in answer.json()["error"]


def test_the_right_token_is_let_in_and_probes_need_none(app_for, mlp):
    app = app_for(mlp, token=TOKEN)
    answer = call(app, "POST", "/v2/models/tiny/infer", infer_body(X),
                  {"Authorization": f"Bearer {TOKEN}"})
    np.testing.assert_array_equal(outputs_of(answer), mlp.predict(X))
    assert call(app, "GET", "/v2/health/live").status == 200
    assert call(app, "GET", "/v2/health/ready").status == 200


def test_a_model_error_is_a_500_that_names_the_request_not_the_internals(app_for, mlp, caplog):
    app = app_for(mlp, max_batch_size=0)
    model = next(iter(app.models))
    model.predict = lambda rows: 1 / 0
    with caplog.at_level(logging.ERROR, logger="minigrad.serve"):
        answer = call(app, "POST", "/v2/models/tiny/infer", infer_body(X),
                      {"X-Request-ID": "abc123"})
    assert answer.status == 500
    assert answer.json() == {"error": "internal server error (request id abc123)"}
    assert "ZeroDivisionError" in caplog.text and "abc123" in caplog.text


@pytest.mark.parametrize("max_batch_size", [0, 64])
def test_predictions_of_a_trained_and_saved_model_match_predict(app_for, tmp_path,
                                                                max_batch_size):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(256, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    model = make_mlp(classes=2)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    model.save(tmp_path / "trained.safetensors")
    app = app_for(tmp_path / "trained.safetensors", max_batch_size=max_batch_size)
    answer = call(app, "POST", "/v2/models/trained/infer", infer_body(x[:50]))
    np.testing.assert_allclose(outputs_of(answer), model.predict(x[:50]), rtol=0, atol=1e-7)


def test_request_ids_are_echoed_or_made_unique(app):
    from concurrent.futures import ThreadPoolExecutor

    given = call(app, "GET", "/v2", headers={"X-Request-ID": "mine"})
    assert given.headers["X-Request-ID"] == "mine"

    def made_id(_):
        return call(app, "GET", "/v2/health/live").headers["X-Request-ID"]

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(made_id, range(400)))
    assert len(set(ids)) == 400 and all(ids)
    # Another app (another server, or a restarted one) does not repeat them.
    other = type(app)(app.models, max_batch_size=0)
    assert made_id(None) != call(other, "GET", "/v2/health/live").headers["X-Request-ID"]


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_forked_workers_make_different_request_ids(app):
    """gunicorn forks its workers from one app: their ids must still differ."""
    import os

    def made_id():
        return call(app, "GET", "/v2/health/live").headers["X-Request-ID"]

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: answer one request, report its id, leave at once
        try:
            os.write(write_end, made_id().encode())
        finally:
            os._exit(0)
    os.close(write_end)
    child_id = os.read(read_end, 200).decode()
    os.close(read_end)
    os.waitpid(pid, 0)
    assert child_id and child_id != made_id()


def test_one_access_log_line_per_request(app, caplog):
    with caplog.at_level(logging.INFO, logger="minigrad.serve.access"):
        call(app, "POST", "/v2/models/tiny/infer", infer_body(X), {"X-Request-ID": "r1"})
        call(app, "GET", "/v2/models/nope")
    lines = [json.loads(r.message) for r in caplog.records if r.name == "minigrad.serve.access"]
    assert [(line["status"], line["model"], line["endpoint"]) for line in lines] == [
        (200, "tiny", "infer"), (404, "", "metadata")]
    assert lines[0]["request_id"] == "r1" and lines[0]["method"] == "POST"
    assert lines[0]["bytes_in"] > 0 and lines[0]["duration_ms"] >= 0


@pytest.mark.parametrize("lie", [-40, +40])
def test_a_content_length_that_lies_about_the_body_is_a_400(app, mlp, lie):
    body = json.dumps(infer_body(X)).encode()
    answer = call(app, "POST", "/v2/models/tiny/infer", body, content_length=len(body) + lie)
    expected = "malformed JSON" if lie < 0 else (
        f"the body ended after {len(body)} of the {len(body) + lie} bytes")
    assert answer.status == 400 and expected in answer.json()["error"], answer.body
    good_inference_still_works(app, mlp)


def test_a_content_length_that_is_not_a_number_is_400_and_logged(app, mlp, caplog):
    with caplog.at_level(logging.INFO, logger="minigrad.serve.access"):
        answer = call(app, "POST", "/v2/models/tiny/infer", b"{}", content_length="abc")
    assert answer.status == 400 and "Content-Length is not a number" in answer.json()["error"]
    (line,) = [json.loads(r.message) for r in caplog.records
               if r.name == "minigrad.serve.access"]
    assert line["bytes_in"] is None and line["status"] == 400
    good_inference_still_works(app, mlp)


def metric(text, name, **labels):
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
            if found == labels:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_by_model_and_status_and_batch_sizes(app):
    for _ in range(3):
        call(app, "POST", "/v2/models/tiny/infer", infer_body(X))
    call(app, "POST", "/v2/models/tiny/infer", b"{")
    call(app, "GET", "/v2/models/nope")
    answer = call(app, "GET", "/metrics")
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/plain")
    text = answer.body.decode()
    assert metric(text, "minigrad_requests_total", model="tiny", endpoint="infer",
                  status="200") == 3
    assert metric(text, "minigrad_requests_total", model="tiny", endpoint="infer",
                  status="400") == 1
    assert metric(text, "minigrad_requests_total", model="", endpoint="metadata",
                  status="404") == 1
    assert metric(text, "minigrad_request_duration_seconds_count", model="tiny",
                  endpoint="infer") == 4
    assert metric(text, "minigrad_batch_size_count", model="tiny") == 3
    assert metric(text, "minigrad_batch_size_sum", model="tiny") == 15  # 3 requests of 5 rows
    assert metric(text, "minigrad_requests_in_flight") == 1  # this /metrics request


def test_importing_minigrad_does_not_import_the_server():
    """waitress and prometheus_client (the serve extra) load only with mg.serve."""
    import subprocess
    import sys

    code = ("import sys, minigrad as mg; print('waitress' in sys.modules, "
            "'prometheus_client' in sys.modules); mg.serve; "
            "print('prometheus_client' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "False", "True"]


def test_batchers_learn_whether_other_requests_are_in_flight(app_for, mlp):
    app = app_for(mlp, max_batch_size=8)
    (model,) = app.models
    batcher = model.batcher
    seen = []
    real_predict = model.predict
    batcher.run = lambda rows: seen.append(batcher.others_busy()) or real_predict(rows)
    assert call(app, "POST", "/v2/models/tiny/infer", infer_body(X)).status == 200
    app._in_flight += 1  # as if another request were being decoded in another thread
    assert call(app, "POST", "/v2/models/tiny/infer", infer_body(X)).status == 200
    app._in_flight -= 1
    assert seen == [False, True]
