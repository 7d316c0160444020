"""get_weights / set_weights against Keras 3 itself: the same arrays in the same order and shapes
for each layer kind and for a model, and the same outputs after copying the weights across.

Keras runs on its torch backend (``KERAS_BACKEND=torch`` unless set otherwise); the tests skip
when Keras is not installed."""

import os

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras", reason="Keras 3 not installed (pip install keras; it runs "
                                            "on the torch backend)")

FLOAT32 = dict(rtol=1e-5, atol=1e-5)


def numpy(value):
    return keras.ops.convert_to_numpy(value)


def random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def randomized(weights, seed=1):
    """Random weights of the same shapes (variances positive, so BatchNormalization is valid)."""
    rng = np.random.default_rng(seed)
    return [np.abs(rng.standard_normal(w.shape)).astype(np.float32) + 0.5 for w in weights]


def pairs():
    """(name, minigrad layer, Keras layer, input shape with the batch axis, input maker)."""
    k = keras.layers
    ids = (lambda shape: np.random.default_rng(0).integers(0, 20, size=shape))
    return [
        ("dense", nn.Dense(4), k.Dense(4), (3, 6), random),
        ("dense_no_bias", nn.Dense(4, use_bias=False), k.Dense(4, use_bias=False), (3, 6),
         random),
        ("conv2d", nn.Conv2D(5, 3), k.Conv2D(5, 3), (2, 8, 8, 3), random),
        ("conv2d_same_strided", nn.Conv2D(5, 3, strides=2, padding="same"),
         k.Conv2D(5, 3, strides=2, padding="same"), (2, 9, 8, 3), random),
        ("embedding", nn.Embedding(20, 4), k.Embedding(20, 4), (3, 5), ids),
        ("batch_norm", nn.BatchNormalization(), k.BatchNormalization(), (4, 5, 5, 3), random),
        ("lstm", nn.LSTM(4, return_sequences=True), k.LSTM(4, return_sequences=True),
         (2, 6, 3), random),
        ("gru", nn.GRU(4), k.GRU(4), (2, 6, 3), random),
        ("simple_rnn", nn.SimpleRNN(4, return_sequences=True),
         k.SimpleRNN(4, return_sequences=True), (2, 6, 3), random),
        ("bidirectional", nn.Bidirectional(nn.LSTM(3, return_sequences=True)),
         k.Bidirectional(k.LSTM(3, return_sequences=True)), (2, 6, 3), random),
    ]


@pytest.mark.parametrize("index", range(10), ids=[p[0] for p in pairs()])
def test_layer_weights_match_keras(index):
    _, ours, theirs, shape, make = pairs()[index]
    ours.build((None,) + shape[1:])
    theirs.build((None,) + shape[1:])
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    weights = randomized(ours.get_weights())
    ours.set_weights(weights)
    theirs.set_weights(weights)
    x = make(shape)
    ours.eval()
    np.testing.assert_allclose(ours(mg.tensor(x)).numpy(), numpy(theirs(x, training=False)),
                               **FLOAT32)


def test_model_weights_match_keras():
    k = keras.layers
    theirs = keras.Sequential([keras.Input((8, 8, 3)), k.Conv2D(4, 3, activation="relu"),
                               k.BatchNormalization(), k.MaxPooling2D(), k.Flatten(),
                               k.Dense(5)])
    ours = mg.Sequential([nn.Conv2D(4, 3, activation="relu"), nn.BatchNormalization(),
                          nn.MaxPooling2D(), nn.Flatten(), nn.Dense(5)])
    ours.build((None, 8, 8, 3))
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    ours.set_weights(randomized(theirs.get_weights()))
    theirs.set_weights(ours.get_weights())  # and back
    x = random((3, 8, 8, 3))
    ours.eval()
    np.testing.assert_allclose(ours(mg.tensor(x)).numpy(), numpy(theirs(x, training=False)),
                               **FLOAT32)
