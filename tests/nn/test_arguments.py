"""Layer arguments are checked at construction, naming the layer, the argument and the value:
sizes are whole positive numbers, epsilon is not negative, LeakyReLU's slope is >= 0 (Keras's
default 0.3)."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

SIZES = [
    (lambda v: nn.Dense(v), "Dense: units"),
    (lambda v: nn.Conv2D(v, 3), "Conv2D: filters"),
    (lambda v: nn.LSTM(v), "LSTM: units"),
    (lambda v: nn.GRU(v), "GRU: units"),
    (lambda v: nn.SimpleRNN(v), "SimpleRNN: units"),
    (lambda v: nn.Embedding(v, 4), "Embedding: input_dim"),
    (lambda v: nn.Embedding(10, v), "Embedding: output_dim"),
]


@pytest.mark.parametrize("make, says", SIZES)
@pytest.mark.parametrize("bad, error", [(0, ValueError), (-3, ValueError), (2.5, ValueError),
                                        (float("nan"), ValueError), ("8", TypeError),
                                        (True, TypeError), (None, TypeError)])
def test_a_size_must_be_a_whole_positive_number(make, says, bad, error):
    with pytest.raises(error, match=rf"{says} must be a positive integer, got .*{bad!r}"):
        make(bad)


@pytest.mark.parametrize("make, says", SIZES)
@pytest.mark.parametrize("good", [7, 7.0, np.int64(7)])
def test_whole_numbers_of_any_type_are_taken_as_ints(make, says, good):
    layer = make(good)
    attribute = says.split(": ")[1]
    assert getattr(layer, attribute) == 7 and type(getattr(layer, attribute)) is int


@pytest.mark.parametrize("epsilon", [-1e-3, -1, float("inf"), float("nan")])
def test_batch_normalization_epsilon_must_be_a_finite_number_at_least_0(epsilon):
    with pytest.raises(ValueError, match="BatchNormalization: epsilon must be a number >= 0"):
        nn.BatchNormalization(epsilon=epsilon)


def test_leaky_relu_layer_has_keras_default_and_refuses_negative_slopes():
    x = mg.tensor([-2.0, 3.0])
    np.testing.assert_allclose(nn.LeakyReLU()(x).numpy(), [-0.6, 3.0])
    with pytest.raises(ValueError, match="LeakyReLU: negative_slope must be a number >= 0"):
        nn.LeakyReLU(-0.1)


def test_keras_3_leaky_relu_default_is_the_same():
    import os
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    assert keras.layers.LeakyReLU().negative_slope == nn.LeakyReLU().negative_slope
