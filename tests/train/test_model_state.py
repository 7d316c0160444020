"""Model's public state accessors, which saving and loading use (and users may too)."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


def compiled(optimizer="adam"):
    model = mg.Sequential([nn.Dense(4, activation="relu", input_shape=(3,)), nn.Dense(2)])
    model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    return model


def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(16, 3)).astype(np.float32), rng.normal(size=(16, 2)).astype(np.float32)


def test_compile_config_describes_named_arguments_and_not_functions():
    assert compiled().get_compile_config() == {"optimizer": "adam", "loss": "mse",
                                               "metrics": ["mae"]}
    model = mg.Sequential([nn.Dense(1)])
    assert model.get_compile_config() is None
    model.compile(optimizer="sgd", loss=lambda y_true, y_pred: ((y_true - y_pred) ** 2).mean())
    assert model.get_compile_config() is None  # a bare function has no name to save


def test_optimizer_state_is_none_until_the_optimizer_exists():
    model = compiled()
    assert not model.optimizer_built and model.get_optimizer_state() is None
    model.fit(*data(), epochs=1, verbose=0)
    assert model.optimizer_built
    state = model.get_optimizer_state()
    assert state["iterations"] == 1 and sorted(state["state"]) == [0, 1, 2, 3]
    np.testing.assert_array_equal(state["state"][0]["exp_avg"],
                                  model.optimizer.state_dict()["state"][0]["exp_avg"])


def test_optimizer_state_moves_to_another_model():
    x, y = data()
    source = compiled()
    source.fit(x, y, epochs=2, verbose=0)
    target = compiled()
    target.load_state_dict(source.state_dict())
    target.set_optimizer_state(source.get_optimizer_state())
    source.fit(x, y, epochs=1, verbose=0, shuffle=False)
    target.fit(x, y, epochs=1, verbose=0, shuffle=False)
    np.testing.assert_allclose(target.predict(x), source.predict(x), rtol=1e-6, atol=1e-7)


def test_build_optimizer_needs_compile_and_makes_the_optimizer_once():
    with pytest.raises(RuntimeError, match="compile"):
        mg.Sequential([nn.Dense(1, input_shape=(2,))]).build_optimizer()
    model = compiled("sgd")
    optimizer = model.build_optimizer()
    assert isinstance(optimizer, mg.optim.SGD) and model.build_optimizer() is optimizer
    assert len(optimizer.param_groups[0]["params"]) == 4


def test_architecture_only_for_plain_sequential_models():
    architecture = compiled().get_architecture()
    assert architecture["class_name"] == "Sequential"
    assert architecture["build_input_shape"] == [3]
    assert [layer["class_name"] for layer in architecture["config"]["layers"]] == ["Dense"] * 2

    class Custom(mg.Sequential):
        pass

    with pytest.raises(TypeError, match="Custom use save_weights"):
        Custom([nn.Dense(1, input_shape=(2,))]).get_architecture()
    with pytest.raises(ValueError, match="no weights yet"):
        mg.Sequential([nn.Dense(1)]).get_architecture()
