"""What ``mg.onnx.export`` promises besides the converters: names, dynamic axes, opsets,
dtypes, the written file, and clear errors."""

import os
import subprocess
import sys

import numpy as np
import pytest

from .helpers import assert_exports, images, onnx, randomize, vectors

import minigrad as mg  # noqa: E402
from minigrad import nn  # noqa: E402


def dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def small_model():
    return randomize(mg.Sequential([nn.Dense(4, activation="gelu", input_shape=(3,)),
                                    nn.Dense(2)]))


def test_import_minigrad_does_not_import_onnx():
    code = "import sys, minigrad; assert 'onnx' not in sys.modules; minigrad.onnx.export"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_names_and_batch_axis_as_minigrad_serve_has_them():
    proto = mg.onnx.export(small_model(), None)
    assert [(i.name, dims(i)) for i in proto.graph.input] == [("input", ["batch", 3])]
    assert [(o.name, dims(o)) for o in proto.graph.output] == [("output", ["batch", 2])]
    served = pytest.importorskip("minigrad.serve.models", reason="the serving extra is absent")
    model = served.ServedModel("m", 1, small_model())
    assert (model.input.name, model.output.name) == ("input", "output")


def test_a_sequence_input_gets_a_dynamic_time_axis():
    model = randomize(mg.Sequential([nn.Dense(4, activation="relu", input_shape=(5, 3)),
                                     nn.Dense(2)]))
    proto, _ = assert_exports(model, vectors(2, 5, 3), vectors(3, 9, 3, seed=2))
    assert dims(proto.graph.input[0]) == ["batch", "time", 3]
    assert dims(proto.graph.output[0]) == ["batch", "time", 2]


def test_a_sequence_axis_that_the_model_fixes_stays_fixed():
    model = randomize(mg.Sequential([nn.Flatten(input_shape=(5, 3)), nn.Dense(2)]))
    proto, _ = assert_exports(model, vectors(2, 5, 3))
    assert dims(proto.graph.input[0]) == ["batch", 5, 3]


def test_dynamic_axes_given():
    model = randomize(mg.Sequential([nn.Dense(2, input_shape=(5, 3))]))
    proto = mg.onnx.export(model, None, dynamic_axes={"input": {1: "steps"},
                                                      "output": {1: "steps"}})
    assert dims(proto.graph.input[0]) == ["batch", "steps", 3]
    assert dims(proto.graph.output[0]) == ["batch", "steps", 2]
    proto = mg.onnx.export(model, None, dynamic_axes={})
    assert dims(proto.graph.input[0]) == ["batch", 5, 3]
    fixed = randomize(mg.Sequential([nn.Flatten(input_shape=(5, 3)), nn.Dense(2)]))
    with pytest.raises(ValueError, match="cannot vary"):
        mg.onnx.export(fixed, None, dynamic_axes={"input": [1]})
    with pytest.raises(ValueError, match="axes 1 to 2"):
        mg.onnx.export(model, None, dynamic_axes={"input": [3]})
    with pytest.raises(ValueError, match=r"names \['x'\], which are neither"):
        mg.onnx.export(model, None, dynamic_axes={"x": [1]})


@pytest.mark.parametrize("opset", range(13, 22))
def test_every_tested_opset(opset):
    model = randomize(mg.Sequential([
        nn.Conv2D(3, 3, padding="same", activation="hard_silu", input_shape=(6, 6, 2)),
        nn.AveragePooling2D(padding="same"), nn.BatchNormalization(),
        nn.GlobalAveragePooling2D(), nn.Dense(4, activation="mish"),
        nn.Dense(2, activation="gelu")]))
    proto, _ = assert_exports(model, images(2, 6, 6, 2), images(3, 6, 6, 2, seed=2),
                              opset=opset)
    assert proto.opset_import[0].version == opset


def test_a_bad_opset_is_refused():
    with pytest.raises(ValueError, match="opset must be between 13"):
        mg.onnx.export(small_model(), None, opset=11)


def test_the_file_is_written_and_reads_back(tmp_path):
    path = tmp_path / "model.onnx"
    proto = mg.onnx.export(small_model(), path)
    assert onnx.load(str(path)) == proto
    assert os.listdir(tmp_path) == ["model.onnx"]  # no temporary file left
    with pytest.raises(FileNotFoundError, match="does not exist"):
        mg.onnx.export(small_model(), tmp_path / "missing" / "model.onnx")


class Doubler(mg.nn.Layer):
    def forward(self, x):
        return x * 2


class MyDense(nn.Dense):
    pass


@pytest.mark.parametrize("layer", [Doubler(name="doubler"), MyDense(3, name="my_dense")],
                         ids=["custom layer", "subclass"])
def test_a_layer_without_converter_is_an_error_naming_it(layer):
    model = mg.Sequential([nn.Dense(3, input_shape=(2,)), layer])
    model.predict(np.ones((1, 2), np.float32), verbose=0)
    with pytest.raises(mg.onnx.UnsupportedLayerError, match=layer.name):
        mg.onnx.export(model, None)


def test_an_unbuilt_model_is_refused():
    with pytest.raises(ValueError, match="has not been built"):
        mg.onnx.export(mg.Sequential([nn.Dense(3)]), None)


def test_only_float32_and_float64_models():
    model = mg.Sequential([nn.Dense(3, input_shape=(2,), dtype="float16")])
    with pytest.raises(ValueError, match="float32 and float64 models.*float16"):
        mg.onnx.export(model, None)


def test_a_single_layer_with_its_input_shape():
    layer = randomize(nn.Dense(3, activation="tanh"))
    layer(mg.ones(1, 4))
    proto, _ = assert_exports(layer, vectors(2, 4), input_shape=(4,))
    assert dims(proto.graph.input[0]) == ["batch", 4]


def test_the_plain_container_and_a_container_inside_a_model():
    block = mg.nn.Sequential([nn.Dense(5, activation="relu"), nn.Dense(3)])
    block(mg.ones(1, 4))
    randomize(block)
    assert_exports(block, vectors(2, 4), vectors(3, 4, seed=2))
    model = mg.Sequential([nn.Dense(4, input_shape=(6,)), block, nn.Softmax()])
    assert_exports(randomize(model), vectors(2, 6))
