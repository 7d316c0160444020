"""History.params as Keras 3 fills it: verbose, epochs and the batches per epoch."""

import os

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")


@pytest.mark.parametrize("samples, batch_size, epochs", [(10, 4, 2), (32, 8, 1), (7, 32, 3)])
def test_history_params_equal_keras(samples, batch_size, epochs):
    x, y = np.ones((samples, 3), np.float32), np.ones((samples, 2), np.float32)
    theirs = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    theirs.compile("sgd", "mse")
    expected = theirs.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0).params
    ours = mg.Sequential([nn.Dense(2, input_shape=(3,))])
    ours.compile("sgd", "mse")
    assert ours.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0).params == expected
