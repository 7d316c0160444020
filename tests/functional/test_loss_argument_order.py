"""Losses take (y_true, y_pred) as Keras does; PyTorch users write loss(input, target). Every way
that swap shows up says so, instead of a message about detach() or shapes alone."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

LOSSES = [nn.losses.SparseCategoricalCrossentropy(from_logits=True),
          nn.losses.CategoricalCrossentropy(from_logits=True),
          nn.losses.BinaryCrossentropy(from_logits=True), nn.losses.MeanSquaredError(),
          nn.losses.MeanAbsoluteError()]
ORDER = r"losses take \(y_true, y_pred\).*PyTorch's take \(input, target\)"


@pytest.mark.parametrize("loss", LOSSES, ids=lambda loss: loss.name)
def test_training_logits_first_name_the_argument_order(loss):
    logits = mg.randn(4, 3, requires_grad=True)
    with pytest.raises(ValueError, match="y_true requires grad.*" + ORDER + ".*detach"):
        loss(logits, mg.zeros(4, 3))  # float targets (one-hot, say) after the logits


@pytest.mark.parametrize("loss", LOSSES, ids=lambda loss: loss.name)
def test_integer_labels_second_name_the_argument_order(loss):
    with mg.no_grad():
        logits = mg.randn(4, 3)
    with pytest.raises(ValueError, match="y_pred has dtype int64: it holds labels.*" + ORDER):
        loss(logits, mg.tensor([0, 1, 2, 1]))


@pytest.mark.parametrize("function, y_true, y_pred", [
    (mg.sparse_categorical_crossentropy, np.zeros((4, 3), np.float32),
     np.zeros(4, np.float32)),
    (mg.categorical_crossentropy, np.zeros((4, 3), np.float32), np.zeros(4, np.float32)),
    (mg.mean_squared_error, np.zeros((4, 3), np.float32), np.zeros(4, np.float32))])
def test_shape_errors_remind_of_the_order(function, y_true, y_pred):
    with pytest.raises(ValueError, match=ORDER):
        function(y_true, y_pred)


def test_the_right_order_still_works_and_integer_targets_stay_allowed():
    logits = mg.randn(4, 3, requires_grad=True)
    loss = mg.sparse_categorical_crossentropy(mg.tensor([0, 1, 2, 1]), logits, from_logits=True)
    loss.backward()
    assert logits.grad.shape == (4, 3)
    # Integer targets and integer predictions together are plain numbers, not a swap.
    assert float(mg.mean_squared_error(np.array([1, 2]), np.array([1, 4]))) == 2.0
