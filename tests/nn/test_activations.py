"""Activations by name (minigrad.nn.activations): every name Keras users pass works in the
layers' ``activation=`` and as an ``Activation`` layer, means what it means in Keras 3, and is
saved and loaded by name (aliases under the first name, as Keras serializes them)."""

import os

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import activations

#: name -> what it computes, written out here with NumPy (float64) so that a wrong mapping fails.
_SQRT_2_OVER_PI = np.sqrt(2 / np.pi)
_ERF = np.vectorize(__import__("math").erf)
REFERENCES = {
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "tanh": np.tanh,
    "softmax": lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True),
    "log_softmax": lambda x: x - np.log(np.exp(x).sum(-1, keepdims=True)),
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)),
    "softplus": lambda x: np.log1p(np.exp(x)),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),  # Keras's slope, not PyTorch's 0.01
    "linear": lambda x: x,
    "gelu": lambda x: 0.5 * x * (1 + _ERF(x / np.sqrt(2))),  # exact, Keras's default
    "silu": lambda x: x / (1 + np.exp(-x)),
    "swish": lambda x: x / (1 + np.exp(-x)),
    "relu6": lambda x: np.clip(x, 0, 6),
    "hard_sigmoid": lambda x: np.clip(x / 6 + 0.5, 0, 1),  # Keras 3 (not 0.2 x + 0.5)
    "hard_silu": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "hard_swish": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "mish": lambda x: x * np.tanh(np.log1p(np.exp(x))),
    "exponential": np.exp,
}
ALIASES = {"swish": "silu", "hard_swish": "hard_silu"}


def _x(shape=(4, 5), seed=0):
    return np.random.default_rng(seed).uniform(-4, 4, shape)


def test_every_name_is_known_and_every_known_name_is_tested():
    assert set(activations.ACTIVATIONS) == set(REFERENCES)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_a_name_means_what_it_means_in_keras(name):
    x = _x()
    fn = activations.get(name)
    y = x if fn is None else fn(mg.tensor(x, dtype="float64")).numpy()
    np.testing.assert_allclose(y, REFERENCES[name](x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_names_work_in_dense_conv2d_and_activation_layers(name):
    mg.manual_seed(0)
    x = mg.tensor(_x((2, 3)), dtype="float64")
    dense = nn.Dense(4, activation=name, dtype="float64")
    pre = nn.Dense(4, dtype="float64")
    y = dense(x)
    pre.build((None, 3))
    pre.set_weights(dense.get_weights())
    np.testing.assert_allclose(y.numpy(), REFERENCES[name](pre(x).numpy()), rtol=1e-12,
                               atol=1e-14)
    np.testing.assert_allclose(nn.Activation(name)(x).numpy(), REFERENCES[name](x.numpy()),
                               rtol=1e-12, atol=1e-14)
    images = mg.tensor(_x((1, 5, 5, 2)), dtype="float32")
    assert nn.Conv2D(3, 3, activation=name)(images).shape == (1, 3, 3, 3)


def test_names_are_case_insensitive_and_unknown_names_list_the_choices():
    assert activations.get("GELU") is mg.gelu
    with pytest.raises(ValueError, match="unknown activation 'gelux'; choose from .*hard_silu"):
        nn.Dense(2, activation="gelux")


@pytest.mark.parametrize("alias, name", sorted(ALIASES.items()))
def test_an_alias_is_saved_under_its_first_name_as_keras_does(alias, name):
    assert activations.name_of(activations.get(alias)) == name
    assert nn.Dense(2, activation=alias).get_config()["activation"] == name


def test_pytorchs_leaky_relu_has_no_name():
    """mg.leaky_relu's default slope is PyTorch's 0.01, Keras's "leaky_relu" has 0.2: a model
    with the former cannot be saved under the latter's name."""
    with pytest.raises(ValueError, match="has no name"):
        activations.name_of(mg.leaky_relu)


@pytest.mark.parametrize("name", sorted(set(REFERENCES) - {"linear"}))
def test_models_save_and_load_activations_by_name(name, tmp_path):
    mg.manual_seed(0)
    model = mg.Sequential([nn.Dense(4, activation=name, input_shape=(3,)), nn.Activation(name),
                           nn.Dense(2)])
    x = (_x((5, 3)) / 4).astype(np.float32)  # small: "exponential" twice stays finite
    path = tmp_path / "model.safetensors"
    model.save(path)
    restored = mg.load_model(path)
    layers = restored.get_config()["layers"]
    expected = ALIASES.get(name, name)
    assert layers[0]["config"]["activation"] == expected
    assert layers[1]["config"]["activation"] == expected
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))


# --- against Keras 3 itself: a Dense layer with the same weights ---------------------------

@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras", reason="Keras 3 not installed (pip install keras; it "
                                               "runs on the torch backend)")


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_dense_with_a_named_activation_matches_keras(name, keras):
    x = _x((3, 6)).astype(np.float32)
    ours = nn.Dense(4, activation=name)
    ours(mg.tensor(x))
    theirs = keras.layers.Dense(4, activation=name)
    theirs.build((None, 6))
    theirs.set_weights(ours.get_weights())
    expected = keras.ops.convert_to_numpy(theirs(x))
    np.testing.assert_allclose(ours(mg.tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)
