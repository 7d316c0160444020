"""``minigrad export MODEL.safetensors MODEL.onnx``: a saved model file round trip."""

import numpy as np
import pytest

from .helpers import onnx, randomize, run

import minigrad as mg  # noqa: E402
from minigrad import nn  # noqa: E402
from minigrad.cli import main  # noqa: E402


def saved_model(tmp_path):
    model = randomize(mg.Sequential([nn.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 2)),
                                     nn.MaxPooling2D(), nn.Flatten(), nn.Dense(3)]))
    path = tmp_path / "model.safetensors"
    model.save(path)
    return model, path


def test_export_round_trip_from_a_saved_model(tmp_path, capsys):
    model, path = saved_model(tmp_path)
    main(["export", str(path), str(tmp_path / "model.onnx"), "--opset", "15", "--verify"])
    out = capsys.readouterr().out
    assert "opset 15" in out and "inputs input (batch, 8, 8, 2)" in out
    difference = float(out.rsplit(":", 1)[1])
    assert difference <= 1e-5
    proto = onnx.load(str(tmp_path / "model.onnx"))
    assert proto.opset_import[0].version == 15
    x = np.random.default_rng(0).normal(size=(5, 8, 8, 2)).astype(np.float32)
    (got,) = run(proto, {"input": x})
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5)


def test_verify_compares_an_int8_export_exactly(tmp_path, capsys):
    # with onnxruntime's default optimizations an int8 graph quantizes its activations too
    # (differences ~1e-3); --verify runs it as written, so it equals minigrad's int8 predict
    model, _ = saved_model(tmp_path)
    path = tmp_path / "int8.safetensors"
    mg.quantize(model).save(path)
    main(["export", str(path), str(tmp_path / "int8.onnx"), "--verify"])
    assert float(capsys.readouterr().out.rsplit(":", 1)[1]) <= 1e-5


def test_export_errors_are_one_line(tmp_path):
    with pytest.raises(SystemExit, match="minigrad export: .*missing.safetensors"):
        main(["export", str(tmp_path / "missing.safetensors"), str(tmp_path / "m.onnx")])
    _, path = saved_model(tmp_path)
    with pytest.raises(SystemExit, match="opset must be between"):
        main(["export", str(path), str(tmp_path / "m.onnx"), "--opset", "7"])
    assert not (tmp_path / "m.onnx").exists()
