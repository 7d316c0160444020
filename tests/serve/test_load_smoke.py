"""The load test of benchmarks/serve_load.py in small: it runs, it encodes requests as
tritonclient does, and it counts failed requests and wrong answers instead of missing them."""

import numpy as np
import pytest

from benchmarks import serve_load

from .conftest import make_mlp, requires_serve_extra

requires_serve_extra()

X = np.random.default_rng(3).random((10, 4), dtype=np.float32)
PATH = f"/v2/models/{serve_load.MODEL_NAME}/infer"


@pytest.fixture
def saved_mlp(tmp_path):
    """A tiny classifier saved to a file, and its outputs for X computed here."""
    model = make_mlp()
    path = tmp_path / "tiny.safetensors"
    model.save(path, include_optimizer=False)
    return path, serve_load.expected_outputs(path, X)[:, None, :]


def requests_for(x, encoding, path=PATH):
    return [serve_load.http_request(path, *serve_load.encode_request(x[i:i + 1], encoding))
            for i in range(len(x))]


@pytest.mark.parametrize("encoding", ["binary", "json"])
def test_requests_are_byte_for_byte_what_tritonclient_sends(encoding):
    httpclient = pytest.importorskip("tritonclient.http",
                                     reason="tritonclient[http] is not installed")
    binary = encoding == "binary"
    tensor = httpclient.InferInput("input", [2, 4], "FP32")
    tensor.set_data_from_numpy(X[:2], binary_data=binary)
    output = httpclient.InferRequestedOutput("output", binary_data=binary)
    body, header_length = httpclient.InferenceServerClient.generate_request_body(
        [tensor], outputs=[output])
    ours, headers = serve_load.encode_request(X[:2], encoding)
    assert ours == body
    assert headers.get("Inference-Header-Content-Length") == (
        None if header_length is None else str(header_length))


@pytest.mark.parametrize("encoding", ["binary", "json"])
def test_every_answer_is_checked_and_a_wrong_one_is_counted(saved_mlp, tmp_path, encoding):
    path, expected = saved_mlp
    with serve_load.Server(path, max_batch_size=8, batch_timeout_ms=1, threads=4,
                           blas_threads=1, log_path=tmp_path / "server.log") as server:
        before = server.metrics()
        load = serve_load.run_load(server.port, requests_for(X, encoding), clients=4,
                                   count=40, time_limit=30)
        batches = serve_load.batch_sizes(before, server.metrics())
    assert load.count == 40 and not load.timed_out
    assert sorted(load.sample) == sorted(i % 10 for i in range(40))
    assert serve_load.check_answers(load, expected) == (0, 0, [])

    perturbed = expected.copy()
    perturbed[3] += 1e-3  # one sample's expected answer off by 0.001: its 4 requests are wrong
    errors, wrong, examples = serve_load.check_answers(load, perturbed)
    assert (errors, wrong) == (0, 4)
    assert examples and examples[0].startswith("sample 3:")
    # The server's batch-size histogram accounts for every row it answered, warm-up excluded.
    passes = sum(batches.values())
    assert 40 / 8 <= passes <= 40
    assert set(batches) <= {1.0, 2.0, 4.0, 8.0}


def test_failed_requests_are_counted_as_errors(saved_mlp, tmp_path):
    path, expected = saved_mlp
    unknown_model = requests_for(X[:2], "binary", path="/v2/models/nope/infer")
    with serve_load.Server(path, max_batch_size=0, batch_timeout_ms=0, threads=2,
                           blas_threads=1, log_path=tmp_path / "server.log") as server:
        load = serve_load.run_load(server.port, unknown_model, clients=2, count=6,
                                   time_limit=30)
    assert load.status == [404] * 6
    errors, wrong, examples = serve_load.check_answers(load, expected)
    assert (errors, wrong) == (6, 0)
    assert "unknown model" in examples[0]


def test_a_run_stops_at_its_time_limit_without_counting_the_cut_off_requests(saved_mlp,
                                                                            tmp_path):
    path, expected = saved_mlp
    with serve_load.Server(path, max_batch_size=0, batch_timeout_ms=0, threads=2,
                           blas_threads=1, log_path=tmp_path / "server.log") as server:
        load = serve_load.run_load(server.port, requests_for(X, "binary"), clients=2,
                                   count=10**9, time_limit=0.5)
    assert load.timed_out
    assert 0 < load.count < 10**9 and load.seconds < 5
    assert serve_load.check_answers(load, expected) == (0, 0, [])


def test_the_command_reports_and_fails_loudly_on_wrong_answers(saved_mlp, monkeypatch, capsys):
    path, _ = saved_mlp
    argv = ["--model", str(path), "--clients", "4", "--requests", "40", "--warmup", "1",
            "--samples", "10", "--time-limit", "30"]
    assert serve_load.main(argv + ["--configs", "off,8:0,floor:8:0"]) == 0
    out = capsys.readouterr().out
    assert "throughput 8:0 / off:" in out
    assert "with a free model (floor:8:0) at most" in out
    assert "rows per forward pass, 8:0: <=" in out
    assert "rows per forward pass, floor:8:0: <=" in out

    right = serve_load.expected_outputs
    monkeypatch.setattr(serve_load, "expected_outputs", lambda *args: right(*args) + 0.01)
    assert serve_load.main(argv + ["--configs", "4:0"]) == 1
    failures = capsys.readouterr().err
    assert "FAILED: 4:0: 0 failed request(s), 44 wrong answer(s)" in failures


@pytest.mark.parametrize("text, expected", [("off", (0, 0.0)), ("64:2", (64, 2.0)),
                                            ("16", (16, 0.0)), ("floor:off", (0, 0.0)),
                                            ("floor:64:0", (64, 0.0))])
def test_configurations_parse(text, expected):
    assert serve_load.parse_config(text) == expected


@pytest.mark.parametrize("text", ["on", "floor", "floor:x:1", "8:fast"])
def test_a_bad_configuration_says_what_is_expected(text):
    import argparse

    with pytest.raises(argparse.ArgumentTypeError, match="MAX_BATCH_SIZE:TIMEOUT_MS"):
        serve_load.parse_config(text)


@pytest.mark.parametrize("input_shape", [(4,), (3, 2, 2)])
def test_the_floor_model_takes_the_same_request_and_answers_as_many_numbers(tmp_path,
                                                                          input_shape):
    import minigrad as mg
    from minigrad import nn

    layers = [nn.Flatten(input_shape=input_shape)] if len(input_shape) > 1 else []
    layers += [nn.Dense(5, activation="relu", **({} if layers else
                                                  {"input_shape": input_shape})),
               nn.Dense(3, activation="softmax")]
    path = tmp_path / "model.safetensors"
    mg.Sequential(layers).save(path)
    floor = mg.io.load_model(serve_load.floor_model(path, tmp_path), compile=False)
    x = np.random.default_rng(0).random((2, *input_shape), dtype=np.float32)
    assert floor.predict(x).shape == (2, 3)
    assert tuple(floor.build_input_shape) == input_shape
    assert floor.count_params() < mg.io.load_model(path, compile=False).count_params()


@pytest.mark.parametrize("kind", ["gunicorn", "granian"])
def test_the_same_app_can_be_measured_on_other_servers(saved_mlp, tmp_path, kind):
    pytest.importorskip(kind, reason=f"{kind} is not installed")
    path, expected = saved_mlp
    with serve_load.Server(path, max_batch_size=8, batch_timeout_ms=1, threads=4,
                           blas_threads=1, log_path=tmp_path / "server.log",
                           kind=kind) as server:
        load = serve_load.run_load(server.port, requests_for(X, "binary"), clients=4,
                                   count=20, time_limit=30)
        batches = serve_load.batch_sizes("", server.metrics())
    assert load.count == 20 and not load.timed_out
    assert serve_load.check_answers(load, expected) == (0, 0, [])
    assert sum(batches.values()) >= 20 / 8  # the app's own batching, on that server


def test_an_uninstalled_server_is_named(capsys):
    import importlib.util

    missing = [kind for kind in serve_load.SERVERS[1:] if importlib.util.find_spec(kind) is None]
    if not missing:
        pytest.skip("every server is installed")
    with pytest.raises(SystemExit):
        serve_load.parse_args(["--server", missing[0]])
    assert f"{missing[0]} is not installed" in capsys.readouterr().err
