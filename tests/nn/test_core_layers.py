"""Dense, Flatten, Dropout, activation layers; initializers."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


def test_dense_builds_from_the_first_input_and_matches_the_formula():
    layer = nn.Dense(3, activation="tanh")
    x = mg.randn(4, 5)
    y = layer(x)
    assert layer.kernel.shape == (5, 3) and layer.bias.shape == (3,)
    expected = np.tanh(x.numpy() @ layer.kernel.numpy() + layer.bias.numpy())
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-5)
    assert layer.output_shape == (None, 3)


def test_dense_gradients_check_numerically():
    layer = nn.Dense(3, activation="sigmoid", dtype="float64")
    x = mg.randn(4, 5, dtype="float64", requires_grad=True)
    layer(x)
    assert mg.testing.gradcheck(lambda inp, w, b: layer(inp), x, layer.kernel, layer.bias)


def test_dense_against_torch_linear():
    torch = pytest.importorskip("torch", reason="PyTorch not installed (in your minigrad "
                                                'clone: pip install -e ".[torch]")')
    layer = nn.Dense(3)
    x = mg.randn(4, 5)
    y = layer(x)
    reference = torch.nn.functional.linear(torch.tensor(x.numpy()),
                                           torch.tensor(layer.kernel.numpy().T),
                                           torch.tensor(layer.bias.numpy()))
    np.testing.assert_allclose(y.numpy(), reference.numpy(), rtol=1e-5, atol=1e-6)


def test_dense_names_the_expected_input_shape():
    layer = nn.Dense(3, input_shape=(784,))
    with pytest.raises(ValueError, match=r"dense\w* expected input of shape \(N, 784\), got "
                                         r"\(32, 28, 28\)"):
        layer(mg.ones(32, 28, 28))
    built = nn.Dense(3)
    built(mg.ones(2, 4))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 4\), got \(2, 5\)"):
        built(mg.ones(2, 5))


def test_dense_rejects_bad_arguments():
    with pytest.raises(ValueError, match="units must be a positive integer"):
        nn.Dense(0)
    with pytest.raises(ValueError, match="unknown activation 'relux'"):
        nn.Dense(2, activation="relux")
    with pytest.raises(ValueError, match="unknown initializer 'glorot'"):
        nn.Dense(2, kernel_initializer="glorot")(mg.ones(1, 2))


def test_glorot_uniform_has_the_keras_limit():
    layer = nn.Dense(300)
    layer(mg.ones(1, 200))
    limit = np.sqrt(6 / 500)
    kernel = layer.kernel.numpy()
    assert kernel.min() >= -limit and kernel.max() <= limit
    assert kernel.std() == pytest.approx(limit / np.sqrt(3), rel=0.05)


def test_orthogonal_initializer_is_orthogonal():
    q = nn.init.orthogonal((8, 32), 8, 32, np.float64, mg.backends.get_backend("cpu"))
    np.testing.assert_allclose(q @ q.T, np.eye(8), atol=1e-10)


def test_flatten_keeps_the_batch_axis():
    assert nn.Flatten()(mg.ones(2, 3, 4, 5)).shape == (2, 60)


def test_dropout_is_inverted_and_off_in_eval():
    layer = nn.Dropout(0.25)
    x = mg.ones(200, 500)
    y = layer(x).numpy()
    kept = y != 0
    assert kept.mean() == pytest.approx(0.75, abs=0.01)
    np.testing.assert_allclose(y[kept], 1 / 0.75)
    layer.eval()
    assert layer(x) is x


def test_dropout_gradient_flows_through_the_kept_units():
    x = mg.ones(50, 40, requires_grad=True)
    y = nn.Dropout(0.5)(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy())


def test_dropout_rate_is_checked():
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\), got 1"):
        nn.Dropout(1)


@pytest.mark.parametrize("layer, function", [
    (nn.ReLU(), mg.relu), (nn.Sigmoid(), mg.sigmoid), (nn.Tanh(), mg.tanh),
    (nn.Softmax(), mg.softmax), (nn.LeakyReLU(0.2), lambda x: mg.leaky_relu(x, 0.2)),
    (nn.Activation("elu"), mg.elu)])
def test_activation_layers_apply_their_function(layer, function):
    x = mg.randn(3, 4)
    np.testing.assert_array_equal(layer(x).numpy(), function(x).numpy())


def test_layer_configs_rebuild_the_layer():
    for layer in (nn.Dense(3, activation="relu", kernel_regularizer="l2"), nn.Dropout(0.3),
                  nn.ReLU(), nn.Softmax(axis=1), nn.Flatten(input_shape=(2, 3))):
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()


def test_regularized_layer_config_survives_two_round_trips():
    layer = nn.Dense(2, kernel_regularizer=nn.regularizers.L1L2(0.0, 0.1))
    once = nn.Dense.from_config(layer.get_config())
    twice = nn.Dense.from_config(once.get_config())
    assert twice.get_config()["kernel_regularizer"] == {"l1": 0.0, "l2": 0.1}
    twice(mg.ones(1, 3))
    expected = 0.1 * (twice.kernel.numpy() ** 2).sum()
    assert twice.regularization_loss().item() == pytest.approx(expected, rel=1e-6)


def test_default_names_follow_keras():
    assert nn.Dense(1).name.startswith("dense")
    assert nn.Conv2D(1, 3).name.startswith("conv2d")
    assert nn.MaxPooling2D().name.startswith("max_pooling2d")
    assert nn.LSTM(1).name.startswith("lstm")
