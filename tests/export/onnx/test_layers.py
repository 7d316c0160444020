"""The core layers' ONNX converters: onnxruntime gives what ``model.predict`` gives."""

import functools

import numpy as np
import pytest

from .helpers import assert_exports, randomize, vectors

import minigrad as mg  # noqa: E402  (after helpers: skipped without the onnx extra)
from minigrad import nn  # noqa: E402

ACTIVATIONS = sorted(mg.nn.activations.ACTIVATIONS)


def model_of(*layers, input_shape):
    return randomize(mg.Sequential([nn.InputLayer(shape=input_shape), *layers]))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_with_each_named_activation(activation):
    model = model_of(nn.Dense(6, activation=activation), input_shape=(5,))
    assert_exports(model, vectors(2, 5), vectors(7, 5, seed=2))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activation_layer_on_images_at_opset_13(activation):
    # opset 13 has no Gelu, Mish or HardSwish operator: their formulas are spelled out
    model = model_of(nn.Activation(activation), input_shape=(3, 4, 2))
    assert_exports(model, vectors(2, 3, 4, 2), vectors(3, 3, 4, 2, seed=2), opset=13)


@pytest.mark.parametrize("function", [functools.partial(mg.gelu, approximate=True),
                                      functools.partial(mg.leaky_relu, negative_slope=0.1),
                                      functools.partial(mg.elu, alpha=0.5),
                                      functools.partial(mg.softmax, axis=1), mg.log_softmax])
@pytest.mark.parametrize("opset", [13, 20])
def test_activation_callables_with_arguments(function, opset):
    model = model_of(nn.Dense(4), nn.Activation(function), input_shape=(3, 5))
    assert_exports(model, vectors(2, 3, 5), vectors(5, 3, 5, seed=3), opset=opset)


def test_an_activation_without_onnx_form_names_the_layer():
    model = model_of(nn.Dense(3, activation=lambda x: x * 2, name="doubler"),
                     input_shape=(4,))
    with pytest.raises(mg.onnx.UnsupportedLayerError, match="doubler"):
        mg.onnx.export(model, None)


@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_on_sequences_and_without_bias(use_bias):
    model = model_of(nn.Dense(7, use_bias=use_bias, activation="tanh"), nn.Dense(2),
                     input_shape=(6, 3))
    proto, _ = assert_exports(model, vectors(2, 6, 3), vectors(4, 6, 3, seed=5))
    assert "MatMul" in {n.op_type for n in proto.graph.node}


@pytest.mark.parametrize("layer", [nn.ReLU(), nn.Sigmoid(), nn.Tanh(), nn.Softmax(),
                                   nn.Softmax(axis=1), nn.LeakyReLU(), nn.LeakyReLU(0.05)],
                         ids=lambda layer: type(layer).__name__)
def test_activation_layers(layer):
    model = model_of(nn.Dense(5), layer, input_shape=(4, 3))
    assert_exports(model, vectors(2, 4, 3), vectors(6, 4, 3, seed=7))


def test_dropouts_are_the_identity():
    model = model_of(nn.Dense(8), nn.Dropout(0.5), nn.Reshape((2, 2, 2)),
                     nn.SpatialDropout2D(0.5), nn.Reshape((4, 2)), nn.SpatialDropout1D(0.3),
                     input_shape=(3,))
    proto, _ = assert_exports(model, vectors(3, 3), vectors(5, 3, seed=2))
    assert not {"Dropout", "RandomUniform"} & {n.op_type for n in proto.graph.node}


def test_flatten_keeps_channels_last_order():
    model = model_of(nn.Flatten(), nn.Dense(3), input_shape=(4, 5, 2))
    assert_exports(model, vectors(2, 4, 5, 2), vectors(3, 4, 5, 2, seed=3))


def test_reshape_and_permute():
    model = model_of(nn.Reshape((3, -1)), nn.Permute((2, 1)), nn.Dense(4), nn.Flatten(),
                     input_shape=(12,))
    assert_exports(model, vectors(2, 12), vectors(5, 12, seed=4))


@pytest.mark.parametrize("options", [{}, {"axis": 1}, {"axis": 2, "epsilon": 0.1},
                                     {"center": False}, {"scale": False}],
                         ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
def test_batch_normalization_in_inference_form(options):
    model = model_of(nn.BatchNormalization(**options), input_shape=(3, 4, 5))
    model.train()  # export gives the inference form whatever mode the model is in
    assert_exports(model, vectors(2, 3, 4, 5), vectors(4, 3, 4, 5, seed=9))


def test_mnist_mlp_tutorial_architecture():
    model = randomize(mg.Sequential([nn.Dense(512, activation="relu", input_shape=(784,)),
                                     nn.Dense(512, activation="relu"),
                                     nn.Dense(10, activation="softmax")]))
    proto, _ = assert_exports(model, vectors(1, 784), vectors(32, 784, seed=2))
    assert [n.op_type for n in proto.graph.node] == ["Gemm", "Relu", "Gemm", "Relu", "Gemm",
                                                     "Softmax", "Identity"]


def test_a_float64_model_exports_float64():
    model = randomize(mg.Sequential([nn.Dense(6, activation="sigmoid", input_shape=(4,),
                                              dtype="float64"),
                                     nn.Dense(3, dtype="float64")]))
    proto, _ = assert_exports(model, vectors(2, 4, dtype=np.float64),
                              vectors(5, 4, seed=2, dtype=np.float64), tolerance=1e-12)
    assert proto.graph.input[0].type.tensor_type.elem_type == 11  # DOUBLE
