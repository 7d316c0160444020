"""``minigrad.keras`` is laid out as Keras 3's public API and re-exports minigrad's own objects;
its optimizers take Keras's constructors and defaults (compared with Keras 3 itself) and bind
the model's parameters at compile."""

import os
import subprocess
import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad import keras


def test_names_are_minigrads_own_objects():
    assert keras.Sequential is mg.Sequential and keras.models.Sequential is mg.Sequential
    assert keras.Model is mg.Model and keras.models.load_model is mg.load_model
    assert keras.Input is mg.nn.Input and keras.layers.Input is mg.nn.Input
    for name in ["Dense", "Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
                 "Flatten", "Dropout", "BatchNormalization", "Embedding", "LSTM", "GRU",
                 "SimpleRNN", "Bidirectional", "Activation", "ReLU", "Softmax", "LeakyReLU",
                 "InputLayer", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
                 "Concatenate", "Reshape", "Permute", "Layer"]:
        assert getattr(keras.layers, name) is getattr(mg.nn, name), name
    assert keras.losses.SparseCategoricalCrossentropy is mg.nn.losses.SparseCategoricalCrossentropy
    assert keras.metrics.SparseCategoricalAccuracy is mg.train.metrics.SparseCategoricalAccuracy
    assert keras.callbacks.EarlyStopping is mg.train.callbacks.EarlyStopping
    assert keras.activations.relu is mg.functional.relu
    assert keras.datasets.mnist is mg.datasets.mnist
    for name in ("mnist", "fashion_mnist", "cifar10", "imdb"):
        assert callable(getattr(keras.datasets, name).load_data)
    assert keras.preprocessing.sequence.pad_sequences is mg.datasets.pad_sequences
    assert keras.utils.pad_sequences is mg.datasets.pad_sequences


def test_every_layer_of_minigrad_nn_is_in_keras_layers():
    missing = [name for name in mg.nn.__all__
               if isinstance(getattr(mg.nn, name), type)
               and issubclass(getattr(mg.nn, name), mg.nn.Layer)
               and not hasattr(keras.layers, name)]
    assert not missing


def test_every_activation_by_name_is_in_keras_activations():
    for name, function in mg.nn.activations.ACTIVATIONS.items():
        assert getattr(keras.activations, name) is function


def test_importing_minigrad_does_not_import_the_keras_namespace():
    code = "import sys, minigrad; print('minigrad.keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    code = "import minigrad as mg; print(mg.keras.layers.Dense is mg.nn.Dense)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_to_categorical():
    np.testing.assert_array_equal(keras.utils.to_categorical([2, 0, 1]),
                                  np.eye(3, dtype=np.float32)[[2, 0, 1]])
    result = keras.utils.to_categorical(np.array([[1], [3]]), num_classes=5)
    assert result.shape == (2, 5) and result.dtype == np.float32 and result[1, 3] == 1
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\), got \[0, 4\]"):
        keras.utils.to_categorical([0, 4], num_classes=2)
    with pytest.raises(ValueError, match="expects integer labels"):
        keras.utils.to_categorical([0.5])


def test_optimizer_made_without_parameters_binds_them_at_compile():
    optimizer = keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)
    assert optimizer.param_groups == []
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(np.ones((8, 3), np.float32), np.zeros((8, 2), np.float32), verbose=0)
    assert model.optimizer is optimizer
    assert len(optimizer.param_groups[0]["params"]) == 2
    assert optimizer.param_groups[0]["lr"] == 0.05


def test_optimizers_refuse_arguments_minigrad_lacks():
    with pytest.raises(TypeError, match=r"keras.optimizers.Adam does not take \['use_ema'\]"):
        keras.optimizers.Adam(use_ema=True)


@pytest.fixture(scope="module")
def real_keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras", reason="Keras 3 not installed (pip install keras; it "
                                               "runs on the torch backend)")


DEFAULTS = {  # Keras's argument -> (minigrad's option, how to read it)
    "SGD": {"learning_rate": "lr", "momentum": "momentum", "nesterov": "nesterov"},
    "Adam": {"learning_rate": "lr", "epsilon": "eps", "amsgrad": "amsgrad"},
    "AdamW": {"learning_rate": "lr", "epsilon": "eps", "weight_decay": "weight_decay"},
    "RMSprop": {"learning_rate": "lr", "rho": "alpha", "momentum": "momentum",
                "epsilon": "eps", "centered": "centered"},
    "Adagrad": {"learning_rate": "lr", "epsilon": "eps",
                "initial_accumulator_value": "initial_accumulator_value"},
}


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_optimizer_defaults_are_keras(real_keras, name):
    theirs = getattr(real_keras.optimizers, name)().get_config()
    ours = getattr(keras.optimizers, name)().defaults
    for keras_name, our_name in DEFAULTS[name].items():
        np.testing.assert_allclose(float(ours[our_name]), float(theirs[keras_name]),
                                   err_msg=f"{name}({keras_name})")
    if name in ("Adam", "AdamW"):
        assert ours["betas"] == (theirs["beta_1"], theirs["beta_2"])


@pytest.mark.parametrize("make", [
    lambda k: k.optimizers.SGD(learning_rate=0.1),
    lambda k: k.optimizers.SGD(learning_rate=0.05, momentum=0.9),
    lambda k: k.optimizers.Adam(learning_rate=0.01),
    # Keras's epsilon, inside the square root as Keras has it (formulas="keras")
    lambda k: k.optimizers.RMSprop(learning_rate=0.01),
    lambda k: k.optimizers.Adagrad(learning_rate=0.1),
], ids=["sgd", "sgd_momentum", "adam", "rmsprop", "adagrad"])
def test_fit_with_keras_optimizer_objects_matches_keras(real_keras, make):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 5)).astype(np.float32)
    y = rng.standard_normal((32, 2)).astype(np.float32)
    theirs = real_keras.Sequential([real_keras.Input(shape=(5,)),
                                    real_keras.layers.Dense(4, activation="tanh"),
                                    real_keras.layers.Dense(2)])
    ours = keras.Sequential([keras.Input(shape=(5,)), keras.layers.Dense(4, activation="tanh"),
                             keras.layers.Dense(2)])
    ours.set_weights(theirs.get_weights())
    theirs.compile(optimizer=make(real_keras), loss="mse")
    ours.compile(optimizer=make(keras), loss="mse")
    fit = dict(epochs=3, batch_size=8, shuffle=False, verbose=0)
    expected = theirs.fit(x, y, **fit).history["loss"]
    got = ours.fit(x, y, **fit).history["loss"]
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
