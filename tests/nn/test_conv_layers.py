"""Conv2D, MaxPooling2D, AveragePooling2D and GlobalAveragePooling2D as layers: lazy build,
Keras's input_shape, weights and fans, summary shapes, config round trip, bad inputs; grouped
Conv2D against Keras 3 (outputs and gradients) and through save/load."""

import json
import os
import re

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


def test_conv2d_builds_its_kernel_from_the_first_input():
    layer = nn.Conv2D(8, 3, activation="relu")
    assert not layer.built
    y = layer(mg.randn(2, 10, 9, 3))
    assert layer.kernel.shape == (3, 3, 3, 8) and layer.bias.shape == (8,)
    assert y.shape == (2, 8, 7, 8) and layer.output_shape == (None, 8, 7, 8)
    assert (y.numpy() >= 0).all()
    np.testing.assert_array_equal(layer.bias.numpy(), 0)


def test_conv2d_equals_conv2d_plus_activation():
    layer = nn.Conv2D(4, (3, 2), strides=(2, 1), padding="same", dilation_rate=(1, 2),
                      activation="tanh")
    x = mg.randn(2, 7, 8, 3)
    expected = mg.tanh(mg.conv2d(x, *_built_weights(layer, x), strides=(2, 1), padding="same",
                                 dilation=(1, 2)))
    np.testing.assert_allclose(layer(x).numpy(), expected.numpy(), rtol=1e-6)


def _built_weights(layer, x):
    layer(x)
    return layer.kernel, layer.bias


def test_conv2d_kernel_is_glorot_uniform_with_the_keras_fans():
    layer = nn.Conv2D(64, 3)
    layer(mg.ones(1, 5, 5, 32))
    limit = np.sqrt(6 / (9 * 32 + 9 * 64))  # fan_in = kh*kw*in, fan_out = kh*kw*filters
    kernel = layer.kernel.numpy()
    assert np.abs(kernel).max() <= limit
    assert kernel.std() == pytest.approx(limit / np.sqrt(3), rel=0.05)


def test_conv2d_gradients_check_numerically():
    layer = nn.Conv2D(3, 2, padding="same", activation="sigmoid", dtype="float64")
    x = mg.randn(2, 4, 5, 2, dtype="float64", requires_grad=True)
    layer(x)
    assert mg.testing.gradcheck(lambda inp, k, b: layer(inp), x, layer.kernel, layer.bias)


def test_conv2d_without_bias_has_only_a_kernel():
    layer = nn.Conv2D(2, 1, use_bias=False)
    layer(mg.ones(1, 3, 3, 4))
    assert [name for name, _ in layer.named_parameters()] == ["kernel"]


def test_the_cifar_tutorial_model_has_the_keras_summary():
    model = mg.Sequential([
        nn.Conv2D(32, 3, activation="relu", input_shape=(32, 32, 3)), nn.MaxPooling2D(),
        nn.Conv2D(64, 3, activation="relu"), nn.MaxPooling2D(),
        nn.Conv2D(64, 3, activation="relu"), nn.Flatten(),
        nn.Dense(64, activation="relu"), nn.Dense(10)])
    shapes = [layer.output_shape for layer in model.layers]
    assert shapes == [(None, 30, 30, 32), (None, 15, 15, 32), (None, 13, 13, 64),
                      (None, 6, 6, 64), (None, 4, 4, 64), (None, 1024), (None, 64), (None, 10)]
    assert model.count_params() == 122_570  # as in the TensorFlow CNN tutorial
    text = model.summary(print_fn=None)
    # Keras's layer names (conv2d, conv2d_1, ..., max_pooling2d, ...) and shapes
    assert re.search(r"conv2d(_\d+)? \(Conv2D\) +\(None, 30, 30, 32\) +896", text)
    assert re.search(r"max_pooling2d(_\d+)? \(MaxPooling2D\) +\(None, 6, 6, 64\) +0", text)



@pytest.mark.parametrize("cls, args, base", [
    (nn.Conv2D, (1, 3), "conv2d"), (nn.MaxPooling2D, (), "max_pooling2d"),
    (nn.AveragePooling2D, (), "average_pooling2d"),
    (nn.GlobalAveragePooling2D, (), "global_average_pooling2d")])
def test_default_names_are_keras_names_counted_per_class(cls, args, base):
    first, second = cls(*args), cls(*args)
    assert re.fullmatch(rf"{base}(_\d+)?", first.name)
    assert second.name != first.name and re.fullmatch(rf"{base}_\d+", second.name)
    assert cls(*args, name="mine").name == "mine"

@pytest.mark.parametrize("layer", [
    nn.Conv2D(16, (3, 5), strides=2, padding="same", dilation_rate=1, activation="relu",
              use_bias=False, kernel_regularizer="l2", input_shape=(32, 32, 3)),
    nn.Conv2D(4, 3, padding=(1, 2), kernel_initializer="he_normal"),
    nn.Conv2D(6, 3, groups=3, padding="same"),
    nn.MaxPooling2D(3, strides=2, padding="same"),
    nn.AveragePooling2D((2, 3)),
    nn.GlobalAveragePooling2D(keepdims=True),
], ids=["conv-same", "conv-int-padding", "conv-groups", "max", "avg", "global"])
def test_config_round_trips_through_json(layer):
    config = json.loads(json.dumps(layer.get_config()))
    rebuilt = type(layer).from_config(config)
    assert rebuilt.get_config() == layer.get_config()
    x = mg.randn(2, *(layer.input_shape or (9, 9, 3)))
    assert rebuilt(x).shape == layer(x).shape


def test_conv2d_with_input_shape_names_a_channels_first_batch():
    layer = nn.Conv2D(8, 3, input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match=r"conv2d\w* expected input of shape \(N, 32, 32, 3\), "
                                         r"got \(8, 3, 32, 32\).*channels-first.*permute"):
        layer(mg.ones(8, 3, 32, 32))


def test_a_built_conv2d_names_the_channels_it_expects():
    layer = nn.Conv2D(8, 3)
    layer(mg.ones(1, 8, 8, 3))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, H, W, 3\), got "
                                         r"\(2, 3, 8, 8\).*channels-first"):
        layer(mg.ones(2, 3, 8, 8))
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\), got \(8, 8, 3\).*batch axis"):
        layer(mg.ones(8, 8, 3))


def test_conv2d_on_images_smaller_than_its_kernel_says_so():
    with pytest.raises(ValueError, match=r"window 5x5 is larger than the input 3x3"):
        nn.Conv2D(2, 5)(mg.ones(1, 3, 3, 1))
    with pytest.raises(ValueError, match=r"window 2x2 is larger than the input 1x1"):
        nn.MaxPooling2D()(mg.ones(1, 1, 1, 4))


def test_layer_arguments_are_checked_when_the_layer_is_made():
    with pytest.raises(ValueError, match="filters must be a positive integer"):
        nn.Conv2D(0, 3)
    with pytest.raises(ValueError, match="padding must be"):
        nn.Conv2D(2, 3, padding="causal")
    with pytest.raises(TypeError, match="kernel_size must be an int or a pair"):
        nn.Conv2D(2, (3, 3, 3))
    with pytest.raises(ValueError, match='padding must be "valid" or "same"'):
        nn.MaxPooling2D(padding=1)


def test_pooling_layers_compute_their_functions():
    x = mg.randn(2, 6, 6, 3)
    np.testing.assert_array_equal(nn.MaxPooling2D(3, 2, "same")(x).numpy(),
                                  mg.max_pool2d(x, 3, 2, "same").numpy())
    np.testing.assert_array_equal(nn.AveragePooling2D()(x).numpy(), mg.avg_pool2d(x).numpy())
    pooled = nn.GlobalAveragePooling2D()
    np.testing.assert_allclose(pooled(x).numpy(), x.numpy().mean(axis=(1, 2)), rtol=1e-6)
    assert pooled.output_shape == (None, 3)
    assert list(nn.MaxPooling2D().parameters()) == []


def test_layer_reprs_show_the_geometry():
    layer = nn.Conv2D(8, 3, strides=2, padding="same", activation="relu")
    assert repr(layer) == "Conv2D(8, kernel_size=(3, 3), strides=(2, 2), padding='same', " \
                          "activation=relu)"
    layer(mg.ones(1, 4, 4, 3))
    assert repr(layer).startswith("Conv2D(3 -> 8,")
    assert repr(nn.MaxPooling2D(3, 2)) == "MaxPooling2D(pool_size=(3, 3), strides=(2, 2))"


def test_conv_layers_follow_the_module_to_float64():
    model = mg.Sequential([nn.Conv2D(2, 3, input_shape=(5, 5, 1)), nn.MaxPooling2D()])
    model.to("float64")
    y = model(mg.ones(1, 5, 5, 1, dtype="float64"))
    assert y.dtype == "float64" and model[0].kernel.dtype == "float64"


# --- groups ----------------------------------------------------------------------------------

def test_grouped_conv2d_has_keras_kernel_shape_and_fans():
    layer = nn.Conv2D(64, 3, groups=4)
    layer(mg.ones(1, 5, 5, 32))
    assert layer.kernel.shape == (3, 3, 8, 64)  # (kh, kw, in / groups, filters)
    limit = np.sqrt(6 / (9 * 8 + 9 * 64))  # fan_in = kh*kw*in/groups, fan_out = kh*kw*filters
    kernel = layer.kernel.numpy()
    assert np.abs(kernel).max() <= limit
    assert kernel.std() == pytest.approx(limit / np.sqrt(3), rel=0.05)
    assert layer.count_params() == 3 * 3 * 8 * 64 + 64
    assert repr(layer).startswith("Conv2D(32 -> 64, kernel_size=(3, 3), groups=4")


def test_grouped_conv2d_gradients_check_numerically():
    layer = nn.Conv2D(4, 2, padding="same", groups=2, activation="tanh", dtype="float64")
    x = mg.randn(2, 4, 5, 6, dtype="float64", requires_grad=True)
    layer(x)
    assert mg.testing.gradcheck(lambda inp, k, b: layer(inp), x, layer.kernel, layer.bias)


def test_grouped_conv2d_says_what_does_not_divide():
    with pytest.raises(ValueError, match=r"Conv2D: filters=5 is not divisible by groups=2"):
        nn.Conv2D(5, 3, groups=2)
    with pytest.raises(ValueError, match=r"Conv2D: groups must be >= 1, got 0"):
        nn.Conv2D(4, 3, groups=0)
    with pytest.raises(ValueError, match=r"conv2d\w*: the input's 5 channels \(input shape "
                                         r"\(1, 6, 6, 5\)\) are not divisible by groups=2"):
        nn.Conv2D(4, 3, groups=2)(mg.ones(1, 6, 6, 5))
    layer = nn.Conv2D(4, 3, groups=2)
    layer(mg.ones(1, 6, 6, 6))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, H, W, 6\), got "
                                         r"\(1, 6, 6, 4\)"):
        layer(mg.ones(1, 6, 6, 4))


def test_grouped_conv2d_saves_and_loads(tmp_path):
    model = mg.Sequential([nn.Conv2D(8, 3, groups=2, activation="relu", input_shape=(8, 8, 4)),
                           nn.Conv2D(8, 3, groups=8, padding="same"), nn.Flatten(),
                           nn.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).standard_normal((4, 8, 8, 4)).astype(np.float32)
    model.fit(x, np.zeros((4, 2), np.float32), epochs=1, verbose=0)
    model.save(tmp_path / "grouped.safetensors")
    restored = mg.load_model(tmp_path / "grouped.safetensors")
    assert [layer.groups for layer in restored.layers[:2]] == [2, 8]
    assert restored.layers[1].kernel.shape == (3, 3, 1, 8)
    np.testing.assert_array_equal(restored.predict(x), model.predict(x))


@pytest.mark.parametrize("options", [
    dict(filters=6, kernel_size=3, groups=2),
    dict(filters=4, kernel_size=(2, 3), groups=4, strides=2, padding="same"),
    dict(filters=9, kernel_size=3, groups=3, dilation_rate=2, padding="same", use_bias=False),
    dict(filters=8, kernel_size=1, groups=2),
], ids=["two_groups", "depthwise_strided_same", "dilated_no_bias", "pointwise"])
def test_grouped_conv2d_matches_keras(options):
    """The same weights in Keras 3's Conv2D(groups=) (torch backend): outputs and the gradients
    of the input and of every weight (Keras's from torch's autograd)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras", reason="Keras 3 not installed (pip install keras)")
    torch = pytest.importorskip("torch", reason="Keras 3 is compared on its torch backend")
    if keras.backend.backend() != "torch":
        pytest.skip("the gradients are read through torch: set KERAS_BACKEND=torch")
    rng = np.random.default_rng(0)
    shape = (2, 9, 8, 12 if options["groups"] != 4 else 8)
    ours, theirs = nn.Conv2D(**options), keras.layers.Conv2D(**options)
    ours.build((None, *shape[1:]))
    theirs.build((None, *shape[1:]))
    weights = [rng.standard_normal(w.shape).astype(np.float32) for w in theirs.get_weights()]
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in weights]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    x = rng.standard_normal(shape).astype(np.float32)

    x_m, x_k = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_m, out_k = ours(x_m), theirs(x_k)
    upstream = rng.standard_normal(out_m.shape).astype(np.float32)
    (out_m * mg.tensor(upstream)).sum().backward()
    (out_k * torch.tensor(upstream)).sum().backward()
    tolerance = dict(rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(out_m.numpy(), out_k.detach().numpy(), **tolerance)
    np.testing.assert_allclose(x_m.grad.numpy(), x_k.grad.numpy(), **tolerance)
    for mine, theirs_variable in zip(ours.parameters(), theirs.weights):
        np.testing.assert_allclose(mine.grad.numpy(), theirs_variable.value.grad.numpy(),
                                   **tolerance)
