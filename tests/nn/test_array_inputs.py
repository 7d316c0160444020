"""Layers and models called on NumPy arrays, lists and numbers, as Keras's are: the input becomes
a tensor on the module's device, floats in the module's dtype, token ids kept as integers."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

CASES = [
    (lambda: nn.Dense(3), (2, 4)),
    (lambda: nn.Conv2D(2, 3), (2, 5, 5, 3)),
    (lambda: nn.MaxPooling2D(), (2, 4, 4, 3)),
    (lambda: nn.LSTM(3), (2, 4, 3)),
    (lambda: nn.Bidirectional(nn.GRU(2)), (2, 4, 3)),
    (lambda: nn.BatchNormalization(), (2, 4)),
    (lambda: nn.Dropout(0.5), (2, 4)),
    (lambda: nn.Flatten(), (2, 2, 3)),
]


@pytest.mark.parametrize("make, shape", CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32])
def test_a_layer_takes_an_array_and_answers_as_for_the_tensor(make, shape, dtype):
    layer = make()
    x = np.random.default_rng(0).normal(size=shape).round().astype(dtype)
    with mg.nn.module.eval_mode(layer):
        from_array = layer(x)
        from_tensor = layer(mg.tensor(x.astype(np.float32)))
    assert from_array.dtype == layer.dtype
    np.testing.assert_array_equal(from_array.numpy(), from_tensor.numpy())


def test_token_ids_stay_integers_and_lists_are_taken():
    model = mg.Sequential([nn.Embedding(10, 4), nn.LSTM(3)])
    ids = [[1, 2, 3], [4, 5, 0]]
    np.testing.assert_array_equal(model(np.array(ids)).numpy(), model(ids).numpy())
    assert nn.Dense(2)([[1, 2, 3]]).dtype == np.float32


def test_a_subclassed_model_takes_arrays_in_its_parameters_dtype():
    class Net(mg.Model):
        def __init__(self):
            super().__init__()
            self.dense = nn.Dense(2, dtype="float64")

        def forward(self, x):
            return self.dense(x)

    net = Net()
    net(np.ones((1, 3)))
    assert net(np.ones((1, 3), np.float32)).dtype == np.float64


def test_a_non_numeric_array_is_a_clear_error():
    with pytest.raises(TypeError, match="Dense takes tensors or numeric arrays, got ndarray of "
                                        "dtype <U1"):
        nn.Dense(2)(np.array(["a"]))


def test_merge_layers_take_lists_of_arrays():
    a, b = np.ones((2, 3)), np.full((2, 3), 2, np.int32)
    added = nn.Add()([a, b])
    assert added.dtype == np.float32
    np.testing.assert_array_equal(added.numpy(), np.full((2, 3), 3.0))
    assert nn.Concatenate()([a, b]).shape == (2, 6)
