"""The image layers' ONNX converters (channels-last minigrad, channels-first ONNX)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .helpers import assert_exports, images, randomize

import minigrad as mg  # noqa: E402
from minigrad import nn  # noqa: E402


def image_model(*layers, input_shape):
    return randomize(mg.Sequential([nn.InputLayer(shape=input_shape), *layers]))


@settings(max_examples=25, deadline=None)
@given(size=st.tuples(st.integers(7, 11), st.integers(7, 11)),
       kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       strides=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       padding=st.sampled_from(["valid", "same", (1, 0), (0, 2)]),
       dilated=st.booleans(), groups=st.sampled_from([1, 2]), use_bias=st.booleans())
def test_conv2d_shapes_strides_padding(size, kernel, strides, padding, dilated, groups,
                                       use_bias):
    dilation = (2, 1) if dilated else (1, 1)
    if dilated:
        strides = (1, 1)  # minigrad (as Keras) takes strides or dilation, not both
    conv = nn.Conv2D(4, kernel, strides=strides, padding=padding, dilation_rate=dilation,
                     groups=groups, use_bias=use_bias, activation="relu")
    model = image_model(conv, input_shape=(*size, 4))
    assert_exports(model, images(2, *size, 4), images(3, *size, 4, seed=2))


@pytest.mark.parametrize("activation", ["softmax", "elu", None])
def test_conv2d_activation_over_channels(activation):
    model = image_model(nn.Conv2D(5, 3, padding="same", activation=activation),
                        input_shape=(6, 7, 3))
    assert_exports(model, images(2, 6, 7, 3), images(4, 6, 7, 3, seed=3))


@settings(max_examples=20, deadline=None)
@given(size=st.tuples(st.integers(4, 9), st.integers(4, 9)),
       pool=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       strides=st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))),
       padding=st.sampled_from(["valid", "same"]),
       layer=st.sampled_from([nn.MaxPooling2D, nn.AveragePooling2D]))
def test_pooling(size, pool, strides, padding, layer):
    model = image_model(layer(pool, strides=strides, padding=padding), input_shape=(*size, 3))
    assert_exports(model, images(2, *size, 3), images(3, *size, 3, seed=2))


def test_average_pooling_same_leaves_padding_out_of_the_mean():
    # 3x3 windows, stride 2, on 7x7: the border windows hold padded cells
    model = image_model(nn.AveragePooling2D(3, strides=2, padding="same"),
                        input_shape=(7, 7, 2))
    proto, _ = assert_exports(model, images(2, 7, 7, 2) + 5.0, images(3, 7, 7, 2) - 5.0)
    (pool,) = [n for n in proto.graph.node if n.op_type == "AveragePool"]
    assert {a.name: a.i for a in pool.attribute}["count_include_pad"] == 0


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_average_pooling(keepdims):
    model = image_model(nn.Conv2D(4, 3), nn.GlobalAveragePooling2D(keepdims=keepdims),
                        input_shape=(6, 6, 3))
    assert_exports(model, images(2, 6, 6, 3), images(5, 6, 6, 3, seed=4))


@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_batch_normalization_after_a_convolution_on_any_axis(axis):
    model = image_model(nn.Conv2D(4, 3), nn.BatchNormalization(axis=axis),
                        nn.Activation("softmax"), input_shape=(7, 6, 3))
    assert_exports(model, images(2, 7, 6, 3), images(3, 7, 6, 3, seed=2))


def test_batch_normalization_between_convolutions():
    model = image_model(nn.Conv2D(6, 3, use_bias=False), nn.BatchNormalization(),
                        nn.Activation("relu"), nn.Conv2D(4, 3, strides=2, padding="same"),
                        input_shape=(9, 9, 3))
    proto, _ = assert_exports(model, images(2, 9, 9, 3), images(3, 9, 9, 3, seed=2))
    # the per-channel and elementwise layers run in NCHW too: one transpose in, one out
    assert [n.op_type for n in proto.graph.node].count("Transpose") == 2


def test_cifar10_cnn_tutorial_architecture_runs_in_nchw_between_layers():
    mg.manual_seed(3)
    model = mg.Sequential([
        nn.Conv2D(32, 3, activation="relu", input_shape=(32, 32, 3)),
        nn.MaxPooling2D(),
        nn.Conv2D(64, 3, activation="relu"),
        nn.MaxPooling2D(),
        nn.Conv2D(64, 3, activation="relu"),
        nn.Flatten(),
        nn.Dense(64, activation="relu"),
        nn.Dense(10),
    ])
    for name, parameter in model.named_parameters():  # glorot kernels, random small biases
        if name.endswith("bias"):
            parameter.data[...] = np.random.default_rng(3).normal(0, 0.1, parameter.shape)
    proto, _ = assert_exports(model, images(1, 32, 32, 3), images(16, 32, 32, 3, seed=2))
    # one transpose in (to NCHW) and one out (back to NHWC before Flatten): none between
    assert [n.op_type for n in proto.graph.node].count("Transpose") == 2
