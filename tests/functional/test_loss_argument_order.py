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


# --- categorical_crossentropy(y_pred, y_true) with two float tensors of one shape -------------

def _one_hot(labels, classes=3):
    return np.eye(classes, dtype=np.float32)[labels]


def test_logits_then_one_hot_labels_is_an_error():
    """The PyTorch habit: loss(logits, target); the logits are detached here (in evaluation),
    so the requires-grad check cannot catch it."""
    logits = np.array([[2.0, -1.0, 0.5], [0.1, 3.0, -2.0]], np.float32)
    for from_logits in (True, False):
        with pytest.raises(ValueError, match="y_pred holds exact one-hot labels and y_true "
                                             r"values outside \[0, 1\] \(logits\?\).*" + ORDER):
            mg.categorical_crossentropy(logits, mg.tensor(_one_hot([0, 1])),
                                        from_logits=from_logits)


def test_probabilities_then_one_hot_labels_is_a_warning():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]], np.float32)
    with pytest.warns(UserWarning, match="y_pred holds exact one-hot labels and y_true soft "
                                         "probabilities.*" + ORDER + ".*saturated softmax"):
        nn.losses.CategoricalCrossentropy()(probs, mg.tensor(_one_hot([0, 1])))


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_valid_soft_labels_raise_no_alarm(from_logits, smoothing, recwarn):
    """Soft labels (distillation targets, mixup, label smoothing) beside real predictions or
    logits, one-hot beside one-hot, and soft labels beside logits that happen to be exact 0s
    and 1s (a toy example) pass without a word."""
    rng = np.random.default_rng(0)
    soft = rng.uniform(0.0, 1.0, (5, 3))
    soft /= soft.sum(axis=-1, keepdims=True)
    y_pred = rng.standard_normal((5, 3)) if from_logits else rng.dirichlet(np.ones(3), 5)
    for y_true, pred in [(soft, y_pred), (_one_hot([0, 1, 2, 1, 0]), y_pred),
                         (_one_hot([0, 1, 2]), _one_hot([0, 1, 2])),
                         (soft, _one_hot([0, 1, 2, 1, 0])) if from_logits else (soft, y_pred)]:
        loss = mg.categorical_crossentropy(y_true, mg.tensor(pred), from_logits=from_logits,
                                           label_smoothing=smoothing)
        assert np.isfinite(loss.item())
    assert not [w for w in recwarn if "one-hot" in str(w.message)]


def test_label_smoothing_does_not_hide_a_swap():
    """The check looks at the targets as given, before smoothing."""
    with pytest.raises(ValueError, match=ORDER):
        mg.categorical_crossentropy(np.array([[2.0, -1.0, 0.5]]), _one_hot([2]),
                                    from_logits=True, label_smoothing=0.1)


def test_a_prediction_that_requires_grad_is_never_checked_for_a_swap(recwarn):
    """In training y_pred is computed (requires grad); labels passed there never are. So a
    saturated softmax beside soft labels in a training step raises no alarm (and costs no
    device sync)."""
    saturated = mg.tensor(_one_hot([0, 1]), requires_grad=True)
    soft = np.array([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05]], np.float32)
    mg.categorical_crossentropy(soft, saturated).backward()
    assert not [w for w in recwarn if "one-hot" in str(w.message)]
