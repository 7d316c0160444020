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
