"""compile() refuses what fit would only refuse later: misspelt optimizers, metrics, losses."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


def model():
    return mg.Sequential([nn.Dense(2, input_shape=(3,))])


@pytest.mark.parametrize("optimizer, error, message", [
    ("adamm", ValueError, "unknown optimizer 'adamm'"),
    ({"class_name": "Nadamm"}, ValueError, "unknown optimizer 'Nadamm'"),
    (3, TypeError, "expected an optimizer name"),
])
def test_a_bad_optimizer_fails_at_compile(optimizer, error, message):
    with pytest.raises(error, match=message):
        model().compile(optimizer=optimizer, loss="mse")


def test_a_misspelt_metric_or_loss_fails_at_compile():
    with pytest.raises(ValueError, match="unknown metric 'acurracy'"):
        model().compile("adam", "mse", metrics=["acurracy"])
    with pytest.raises(ValueError, match="mean_sqared_error"):
        model().compile("adam", "mean_sqared_error")


def test_good_names_still_compile_and_train():
    m = model()
    m.compile("SGD", "mse", metrics=["mae", "accuracy"])
    history = m.fit(np.ones((8, 3)), np.ones((8, 2)), epochs=1, verbose=0)
    assert set(history.history) == {"loss", "mae", "accuracy"}


@pytest.mark.parametrize("last, loss, activation", [
    (lambda: nn.Dense(10, activation="softmax", name="head"),
     lambda: nn.losses.SparseCategoricalCrossentropy(from_logits=True), "softmax"),
    (lambda: nn.Dense(1, activation="sigmoid", name="head"),
     lambda: nn.losses.BinaryCrossentropy(from_logits=True), "sigmoid"),
    (lambda: nn.Activation("softmax", name="head"),
     lambda: nn.losses.CategoricalCrossentropy(from_logits=True), "softmax"),
])
def test_from_logits_on_a_probability_output_warns_naming_layer_and_fix(last, loss, activation):
    m = mg.Sequential([nn.Dense(4, input_shape=(3,)), last()])
    with pytest.warns(UserWarning, match=rf"last layer 'head' applies {activation}.*"
                                         r"from_logits=False"):
        m.compile("adam", loss())


def test_matching_logits_and_activations_compile_silently(recwarn):
    logits = mg.Sequential([nn.Dense(4, input_shape=(3,)), nn.Dense(10)])
    logits.compile("adam", nn.losses.SparseCategoricalCrossentropy(from_logits=True))
    probabilities = mg.Sequential([nn.Dense(4, input_shape=(3,)),
                                   nn.Dense(10, activation="softmax")])
    probabilities.compile("adam", "sparse_categorical_crossentropy")
    assert not [w for w in recwarn if "from_logits" in str(w.message)]
