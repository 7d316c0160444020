"""Serving ONNX files (minigrad.serve.onnx_model): a model and its export answer the same
requests alike, over the same protocol, batching, metrics and errors; loading is careful with
the file."""

import json
import os
import re
import sys
import threading

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

from .conftest import (call, free_port, get, infer_body, make_mlp, post, requires_serve_extra,
                       start_cli, wait_until_live)

requires_serve_extra()
pytest.importorskip("onnx", reason="the onnx extra is not installed (pip install -e '.[onnx]')")
pytest.importorskip("onnxruntime",
                    reason="the onnx extra is not installed (pip install -e '.[onnx]')")

import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from minigrad.extras import install_hint  # noqa: E402
from minigrad.io import UnreadableFileError  # noqa: E402
from minigrad.serve.onnx_model import OnnxServedModel  # noqa: E402

X = np.random.default_rng(5).random((6, 4), dtype=np.float32)


def export(model, path, **options):
    mg.onnx.export(model, path, **options)
    return path


def make_cnn(seed=1):
    """A small channels-last CNN: (N, 8, 8, 2) images -> (N, 3) logits."""
    mg.manual_seed(seed)
    return mg.Sequential([nn.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 2)),
                          nn.MaxPooling2D(), nn.Flatten(), nn.Dense(3)], name="cnn")


def make_embedding_model(seed=2):
    """Token ids (N, 5) int64 -> (N, 2): the input is INT64 on the wire."""
    mg.manual_seed(seed)
    return mg.Sequential([nn.Embedding(20, 4, input_shape=(5,)), nn.Flatten(),
                          nn.Dense(2, activation="sigmoid")], name="ids")


def sample_input(model, rows, seed=0):
    rng = np.random.default_rng(seed)
    shape = (rows, *model.build_input_shape)
    if getattr(model, "input_dtype", None) is not None and np.dtype(model.input_dtype).kind == "i":
        return rng.integers(0, 20, shape).astype(np.int64)
    return rng.random(shape, dtype=np.float32)


IR_VERSION = 8


def graph_file(path, inputs, outputs, nodes, initializers=(), opset=17):
    """Write a hand-made ONNX graph (for files the exporter would never write)."""
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    # IR version 8 (ONNX 1.12's, opset 17): what every supported onnxruntime reads (1.23, the
    # last for Python 3.10, reads at most 11; make_model's default is the onnx package's newest)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              ir_version=IR_VERSION)
    onnx.checker.check_model(model, full_check=True)
    path.write_bytes(model.SerializeToString())
    return path


def identity_file(path, shape=("N", 3), elem=TensorProto.FLOAT, name="x", out="y"):
    return graph_file(path, [helper.make_tensor_value_info(name, elem, list(shape))],
                      [helper.make_tensor_value_info(out, elem, list(shape))],
                      [helper.make_node("Identity", [name], [out])])


# --- the same answers, through Triton's own client ---------------------------------------------
@pytest.mark.parametrize("make", [make_mlp, make_cnn, make_embedding_model],
                         ids=["mlp", "cnn", "int64-ids"])
@pytest.mark.parametrize("binary", [True, False])
def test_tritonclient_gets_the_same_answers_from_a_model_and_its_export(
        app_for, live_server, tmp_path, make, binary):
    httpclient = pytest.importorskip("tritonclient.http",
                                     reason="tritonclient[http] is not installed")
    model = make()
    path = export(model, tmp_path / "model.onnx")
    address = live_server(app_for({"native": model, "exported": path}))
    client = httpclient.InferenceServerClient(address)
    native, exported = (client.get_model_metadata(n) for n in ("native", "exported"))
    assert exported["inputs"] == native["inputs"] and exported["outputs"] == native["outputs"]
    assert (native["platform"], exported["platform"]) == ("minigrad", "onnxruntime_onnx")
    (spec,) = native["inputs"]
    for rows in (1, 7):
        x = sample_input(model, rows, seed=rows)
        tensor = httpclient.InferInput("input", list(x.shape), spec["datatype"])
        tensor.set_data_from_numpy(x, binary_data=binary)
        wanted = [httpclient.InferRequestedOutput("output", binary_data=binary)]
        answers = {name: client.infer(name, [tensor], outputs=wanted).as_numpy("output")
                   for name in ("native", "exported")}
        assert answers["exported"].dtype == answers["native"].dtype == np.float32
        assert answers["exported"].shape == answers["native"].shape == (rows,
                                                                         *model.predict(x).shape[1:])
        np.testing.assert_allclose(answers["exported"], answers["native"], rtol=0, atol=1e-5)
    client.close()


# --- errors: the same status and words as for a minigrad model -----------------------------------
BAD_REQUESTS = [
    ("wrong shape", infer_body(np.zeros((2, 5), np.float32))),
    ("rank", infer_body(np.zeros((4,), np.float32))),
    ("datatype", infer_body(np.zeros((2, 4), np.int64), datatype="INT64")),
    ("input name", infer_body(X, name="pixels")),
    ("empty batch", infer_body(np.zeros((0, 4), np.float32))),
    ("NaN", {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32",
                         "data": [1.0, 2.0, 3.0, 1e39]}]}),
    ("output name", infer_body(X, outputs=[{"name": "probabilities"}])),
    ("data count", {"inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP32",
                                "data": [1.0, 2.0]}]}),
]


@pytest.mark.parametrize("what, body", BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_bad_requests_get_the_same_400_as_for_the_native_model(app_for, tmp_path, mlp, what,
                                                               body):
    path = export(mlp, tmp_path / "tiny.onnx")
    native = call(app_for(mlp), "POST", "/v2/models/tiny/infer", body)
    exported = call(app_for(path), "POST", "/v2/models/tiny/infer", body)
    assert native.status == exported.status == 400
    assert exported.json() == native.json()


def test_the_graphs_names_and_datatypes_are_served(app_for, tmp_path):
    path = graph_file(
        tmp_path / "counts.onnx",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", 3])],
        [helper.make_tensor_value_info("doubled", TensorProto.DOUBLE, ["batch", 3])],
        [helper.make_node("Cast", ["ids"], ["as_double"], to=TensorProto.DOUBLE),
         helper.make_node("Add", ["as_double", "as_double"], ["doubled"])])
    app = app_for(path)
    metadata = call(app, "GET", "/v2/models/counts").json()
    assert metadata == {"name": "counts", "versions": ["1"], "platform": "onnxruntime_onnx",
                        "inputs": [{"name": "ids", "datatype": "INT64", "shape": [-1, 3]}],
                        "outputs": [{"name": "doubled", "datatype": "FP64",
                                     "shape": [-1, 3]}]}
    ids = np.array([[1, 2, 3], [-4, 5, 2**40]], np.int64)
    answer = call(app, "POST", "/v2/models/counts/infer", infer_body(ids, name="ids",
                                                                      datatype="INT64"))
    (output,) = answer.json()["outputs"]
    assert output == {"name": "doubled", "datatype": "FP64", "shape": [2, 3],
                      "data": (2.0 * ids).ravel().tolist()}
    answer = call(app, "POST", "/v2/models/counts/infer", infer_body(ids.astype(np.float32),
                                                                      name="ids"))
    assert answer.status == 400
    assert answer.json() == {"error": "input 'ids': expected datatype INT64, got FP32"}
    answer = call(app, "POST", "/v2/models/counts/infer", infer_body(ids))
    assert answer.json() == {"error": "model 'counts' takes one input named 'ids', got "
                                      "['input']"}


def test_an_output_size_the_graph_leaves_open_is_found_by_a_probe(tmp_path):
    path = graph_file(
        tmp_path / "open.onnx",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 2, 3])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", "M"])],
        [helper.make_node("Flatten", ["input"], ["output"], axis=1)])
    served = OnnxServedModel("open", 1, path)
    assert served.output.shape == [-1, 6]


# --- the command line, model folders, batching and metrics ---------------------------------------
def test_minigrad_serve_serves_onnx_versions_beside_minigrad_ones(tmp_path, mlp):
    (tmp_path / "mnist" / "1").mkdir(parents=True)
    (tmp_path / "mnist" / "2").mkdir()
    mlp.save(tmp_path / "mnist" / "1" / "model.safetensors")
    export(mlp, tmp_path / "mnist" / "2" / "model.onnx")
    port = free_port()
    process = start_cli(tmp_path / "mnist", "--port", port, "--quiet")
    try:
        address = f"127.0.0.1:{port}"
        wait_until_live(address, process)
        status, body = get(address, "/v2/models/mnist")
        assert status == 200
        assert json.loads(body)["platform"] == "onnxruntime_onnx"  # version 2 answers
        status, body = get(address, "/v2/models/mnist/versions/1")
        assert json.loads(body)["platform"] == "minigrad"
        answers = {}
        for version in ("1", "2"):
            status, body = post(address, f"/v2/models/mnist/versions/{version}/infer",
                                infer_body(X))
            assert status == 200, body
            answer = json.loads(body)
            assert answer["model_version"] == version
            (output,) = answer["outputs"]
            answers[version] = np.array(output["data"], np.float32).reshape(output["shape"])
        np.testing.assert_allclose(answers["2"], answers["1"], rtol=0, atol=1e-5)
    finally:
        process.terminate()
        process.wait(30)


def test_a_live_repository_swaps_in_an_onnx_version(tmp_path, mlp):
    """Published beside a minigrad version (written in a hidden folder, then renamed), the
    export is found by the next poll and answers as version 2."""
    root = tmp_path / "repository"
    mg.serve.publish_version(mlp, root, "tiny")
    app = mg.serve.create_app(repository=root, model_control_mode="poll")
    try:
        incoming = root / "tiny" / ".incoming-2"
        incoming.mkdir()
        export(mlp, incoming / "model.onnx")
        incoming.rename(root / "tiny" / "2")
        app.repository.poll()
        answer = call(app, "POST", "/v2/models/tiny/infer", infer_body(X))
        assert answer.status == 200 and answer.json()["model_version"] == "2"
        (output,) = answer.json()["outputs"]
        np.testing.assert_allclose(np.reshape(output["data"], output["shape"]), mlp.predict(X),
                                   rtol=0, atol=1e-5)
        metadata = call(app, "GET", "/v2/models/tiny/versions/2").json()
        assert metadata["platform"] == "onnxruntime_onnx"
        config = call(app, "GET", "/v2/models/tiny/config").json()
        assert (config["platform"], config["backend"]) == ("onnxruntime_onnx", "onnxruntime")
    finally:
        app.close()


def test_concurrent_requests_are_batched_and_counted(app_for, live_server, tmp_path, mlp):
    path = export(mlp, tmp_path / "tiny.onnx")
    app = app_for(path, max_batch_size=16, batch_timeout_ms=5)
    address = live_server(app, threads=16)
    rng = np.random.default_rng(7)
    inputs = [rng.random((1 + i % 3, 4), dtype=np.float32) for i in range(16)]
    expected = [mlp.predict(x) for x in inputs]
    failures = []

    def client(i):
        for _ in range(3):
            status, body = post(address, "/v2/models/tiny/infer", infer_body(inputs[i]))
            (output,) = json.loads(body)["outputs"] if status == 200 else [None]
            if output is None or not np.allclose(np.reshape(output["data"], output["shape"]),
                                                 expected[i], rtol=0, atol=1e-5):
                failures.append((i, status, body[:200]))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(inputs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures[:3]
    text = get(address, "/metrics")[1].decode()
    assert metric(text, "minigrad_batch_size_sum", model="tiny") == sum(map(len, inputs)) * 3
    assert metric(text, "minigrad_requests_total", model="tiny", endpoint="infer",
                  status="200") == 48


def metric(text, name, **labels):
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        found = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if found and found[1] == name and labels.items() <= dict(
                re.findall(r'(\w+)="([^"]*)"', found[2] or "")).items():
            total += float(found[3])
    return total


# --- loading: regular files only, clear errors, nothing run from the file ----------------------
def test_only_a_regular_file_is_read(tmp_path):
    fifo = tmp_path / "model.onnx"
    os.mkfifo(fifo)
    with pytest.raises(UnreadableFileError, match="FIFO"):
        OnnxServedModel("m", 1, fifo)  # returns at once: a FIFO is never waited on


@pytest.mark.parametrize("content, message", [
    (b"not a model", "onnxruntime cannot load it"),
    (b"", "onnxruntime cannot load it"),
])
def test_a_file_onnxruntime_cannot_load_is_an_error_naming_it(app_for, tmp_path, content,
                                                              message):
    path = tmp_path / "broken.onnx"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as error:
        app_for(path)
    assert str(path) in str(error.value)


def test_a_truncated_export_is_refused(app_for, tmp_path, mlp):
    path = export(mlp, tmp_path / "tiny.onnx")
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(ValueError, match="onnxruntime cannot load it"):
        app_for(path)


def test_tensor_data_stored_outside_the_file_is_never_looked_for(tmp_path):
    """An ONNX file may name other files holding its weights ("external data"): a served file
    is handed to onnxruntime as bytes, so such a path (here one leading out of the folder)
    cannot be opened."""
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(3, dtype=np.float32).tobytes())
    weight = numpy_helper.from_array(np.zeros(3, np.float32), "w")
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "../secret.bin"), ("offset", "0"), ("length", "12")):
        weight.external_data.add(key=key, value=value)
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], [weight])
    (tmp_path / "models").mkdir()
    path = tmp_path / "models" / "external.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                                       ir_version=IR_VERSION).SerializeToString())
    with pytest.raises(ValueError, match="onnxruntime cannot load it"):
        OnnxServedModel("m", 1, path)


def test_a_custom_operator_is_refused_not_looked_up(tmp_path):
    path = tmp_path / "custom.onnx"
    graph = helper.make_graph(
        [helper.make_node("Evil", ["x"], ["y"], domain="com.example")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.example", 1)],
                              ir_version=IR_VERSION)
    path.write_bytes(model.SerializeToString())
    with pytest.raises(ValueError, match="onnxruntime cannot load it"):
        OnnxServedModel("m", 1, path)


@pytest.mark.parametrize("make, message", [
    (lambda p: identity_file(p, shape=(1, 3)), "fixed batch size of 1"),
    (lambda p: identity_file(p, shape=()), "has no batch axis"),
    (lambda p: identity_file(p, elem=TensorProto.STRING), "cannot carry"),
    (lambda p: graph_file(p, [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", 2])
                              for n in ("a", "b")],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])],
                          [helper.make_node("Add", ["a", "b"], ["y"])]),
     r"one input and one output; this graph has inputs \['a', 'b'\]"),
])
def test_graphs_the_server_cannot_answer_for_are_refused(tmp_path, make, message):
    path = make(tmp_path / "model.onnx")
    with pytest.raises(ValueError, match=message) as error:
        OnnxServedModel("m", 1, path)
    assert str(path) in str(error.value)


def test_onnxruntime_threads_are_settable(tmp_path, monkeypatch):
    path = identity_file(tmp_path / "model.onnx")
    options = OnnxServedModel("m", 1, path, threads=1).session.get_session_options()
    assert options.intra_op_num_threads == 1
    monkeypatch.setenv("MINIGRAD_ONNX_THREADS", "3")
    options = OnnxServedModel("m", 1, path).session.get_session_options()
    assert options.intra_op_num_threads == 3
    monkeypatch.setenv("MINIGRAD_ONNX_THREADS", "many")
    with pytest.raises(ValueError, match=r"\$MINIGRAD_ONNX_THREADS must be a whole number"):
        OnnxServedModel("m", 1, path)
    with pytest.raises(ValueError, match="whole number >= 0"):
        OnnxServedModel("m", 1, path, threads=-1)


def test_without_onnxruntime_the_error_says_what_to_install(tmp_path, monkeypatch, app_for):
    path = identity_file(tmp_path / "model.onnx")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime fails
    with pytest.raises(ImportError) as error:
        app_for(path)
    assert install_hint("onnx") in str(error.value)


# --- benchmarks/serve_load.py --model model.onnx ----------------------------------------------
@pytest.mark.parametrize("int8", [False, True], ids=["float32", "int8"])
def test_the_load_test_measures_an_export_against_the_native_model(tmp_path, mlp, capsys, int8):
    from benchmarks import serve_load

    model = mg.quantize(mlp) if int8 else mlp
    model.save(tmp_path / "tiny.safetensors", include_optimizer=False)
    export(model, tmp_path / "tiny.onnx")
    argv = ["--model", str(tmp_path / "tiny.onnx"), "--configs", "off,4:0", "--clients", "2",
            "--requests", "20", "--warmup", "1", "--samples", "5", "--time-limit", "30"]
    argv += ["--onnx-atol", "1e-2"] if int8 else []
    assert serve_load.main(argv) == 0
    out = capsys.readouterr().out
    for config in ("off", "onnx:off", "4:0", "onnx:4:0"):
        assert re.search(rf"^{config} +20 ", out, re.M), out  # 20 requests, all answered
    assert "throughput onnx:4:0 / onnx:off:" in out
    assert "throughput onnx / minigrad, off:" in out and "throughput onnx / minigrad, 4:0:" in out


def test_the_load_test_needs_the_native_model_beside_an_export(tmp_path, mlp):
    from benchmarks import serve_load

    export(mlp, tmp_path / "tiny.onnx")
    with pytest.raises(SystemExit, match="name it with --native"):
        serve_load.main(["--model", str(tmp_path / "tiny.onnx")])


def test_minigrad_serve_without_onnxruntime_says_what_to_install(tmp_path):
    import subprocess

    path = identity_file(tmp_path / "model.onnx")
    code = ("import sys; sys.modules['onnxruntime'] = None\n"
            "from minigrad.serve.cli import main\n"
            f"main([{str(path)!r}, '--port', '0'])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "minigrad serve: serving an ONNX model needs onnxruntime, from the onnx extra: "
        + install_hint("onnx"))
