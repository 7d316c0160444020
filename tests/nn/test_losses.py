"""Loss objects (minigrad.nn.losses): Keras's class names calling the fused functional losses,
``get`` resolving what ``compile(loss=...)`` is given, configs, and custom losses."""

import json

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import losses

RNG = np.random.default_rng(0)
LOGITS = RNG.standard_normal((5, 4))
LABELS = RNG.integers(0, 4, 5)
WEIGHTS = RNG.uniform(0, 2, 5)


@pytest.mark.parametrize("loss, fn, y_true, y_pred", [
    (losses.MeanSquaredError(), mg.mean_squared_error, LOGITS[:, ::-1], LOGITS),
    (losses.MeanAbsoluteError(), mg.mean_absolute_error, LOGITS[:, ::-1], LOGITS),
    (losses.BinaryCrossentropy(), mg.binary_crossentropy, (LOGITS > 0) * 1.0,
     1 / (1 + np.exp(-LOGITS))),
    (losses.BinaryCrossentropy(from_logits=True),
     lambda t, p, **kw: mg.binary_crossentropy(t, p, from_logits=True, **kw),
     (LOGITS > 0) * 1.0, LOGITS),
    (losses.CategoricalCrossentropy(from_logits=True),
     lambda t, p, **kw: mg.categorical_crossentropy(t, p, from_logits=True, **kw),
     np.eye(4)[LABELS], LOGITS),
    (losses.SparseCategoricalCrossentropy(),
     mg.sparse_categorical_crossentropy, LABELS, np.exp(LOGITS)),
    (losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum"),
     lambda t, p, reduction="sum", **kw: mg.sparse_categorical_crossentropy(
         t, p, from_logits=True, reduction=reduction, **kw),
     LABELS, LOGITS),
], ids=["mse", "mae", "bce", "bce_logits", "cce_logits", "sparse", "sparse_logits_sum"])
def test_loss_objects_give_the_functional_losses(loss, fn, y_true, y_pred):
    p1 = mg.tensor(y_pred, requires_grad=True)
    p2 = mg.tensor(y_pred, requires_grad=True)
    value = loss(y_true, p1, sample_weight=WEIGHTS)
    expected = fn(y_true, p2, sample_weight=WEIGHTS)
    assert value.item() == expected.item()
    value.backward()
    expected.backward()
    np.testing.assert_array_equal(p1.grad.numpy(), p2.grad.numpy())
    # call() gives the per-sample losses
    np.testing.assert_allclose(loss.call(y_true, mg.tensor(y_pred)).numpy(),
                               fn(y_true, mg.tensor(y_pred), reduction="none").numpy(),
                               rtol=1e-6)


def test_built_in_loss_objects_are_one_fused_graph_node():
    logits = mg.randn(3, 2, requires_grad=True)
    value = losses.CategoricalCrossentropy(from_logits=True)(np.eye(2)[[0, 1, 1]], logits)
    assert value.grad_fn.name == "SoftmaxCrossentropy"


@pytest.mark.parametrize("name, cls", [
    ("mse", losses.MeanSquaredError), ("mean_squared_error", losses.MeanSquaredError),
    ("MeanSquaredError", losses.MeanSquaredError), ("mae", losses.MeanAbsoluteError),
    ("mean_absolute_error", losses.MeanAbsoluteError),
    ("MeanAbsoluteError", losses.MeanAbsoluteError),
    ("binary_crossentropy", losses.BinaryCrossentropy),
    ("BinaryCrossentropy", losses.BinaryCrossentropy),
    ("categorical_crossentropy", losses.CategoricalCrossentropy),
    ("CategoricalCrossentropy", losses.CategoricalCrossentropy),
    ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy),
    ("SparseCategoricalCrossentropy", losses.SparseCategoricalCrossentropy),
])
def test_get_resolves_keras_names_and_class_names(name, cls):
    loss = losses.get(name)
    assert type(loss) is cls
    assert getattr(loss, "from_logits", False) is False


def test_get_returns_objects_as_they_are_and_maps_functions_to_their_class():
    obj = losses.BinaryCrossentropy(from_logits=True)
    assert losses.get(obj) is obj
    assert losses.get(None) is None
    assert type(losses.get(losses.MeanAbsoluteError)) is losses.MeanAbsoluteError
    assert type(losses.get(mg.sparse_categorical_crossentropy)) is \
        losses.SparseCategoricalCrossentropy
    assert type(losses.get(mg.functional.mean_squared_error)) is losses.MeanSquaredError


def test_get_refuses_unknown_names_and_types_with_the_choices():
    with pytest.raises(ValueError, match="unknown loss 'hinge'; choose from mse, mae, "
                                         ".*sparse_categorical_crossentropy"):
        losses.get("hinge")
    # spelling with or without underscores and capitals is one name
    assert type(losses.get("Binary_CrossEntropy")) is losses.BinaryCrossentropy
    with pytest.raises(TypeError, match="a loss must be a name, a Loss object or a function"):
        losses.get(3)


def test_a_custom_function_is_wrapped_with_weights_and_reduction():
    def squared(y_true, y_pred):
        return ((y_pred - y_true) ** 2).mean(axis=-1)

    loss = losses.get(squared)
    assert isinstance(loss, losses.LossFunctionWrapper) and loss.name == "squared"
    p = mg.tensor(LOGITS, requires_grad=True)
    value = loss(mg.tensor(LOGITS[:, ::-1].copy()), p, sample_weight=WEIGHTS)
    q = mg.tensor(LOGITS, requires_grad=True)
    expected = mg.mean_squared_error(LOGITS[:, ::-1].copy(), q, sample_weight=WEIGHTS)
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)
    value.backward()
    expected.backward()
    np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5)
    with pytest.raises(ValueError, match="sample_weight must hold one weight per sample"):
        loss(LOGITS, mg.tensor(LOGITS), sample_weight=np.ones(3))


def test_a_loss_subclass_defines_call():
    class Huber(losses.Loss):
        def call(self, y_true, y_pred):
            error = mg.abs(y_pred - mg.tensor(y_true))
            return mg.where(error < 1, 0.5 * error * error, error - 0.5).mean(axis=-1)

    loss = Huber(reduction="none")
    assert loss.name == "huber"
    values = loss(np.zeros((2, 1)), mg.tensor([[0.5], [3.0]]))
    np.testing.assert_allclose(values.numpy(), [0.125, 2.5])


def test_a_custom_loss_is_named_by_keras_snake_case_of_its_class():
    class MSLELoss(losses.Loss):
        def call(self, y_true, y_pred):
            return y_pred

    assert MSLELoss().name == "msle_loss"  # Keras's rule keeps an acronym together
    assert losses.LossFunctionWrapper(lambda t, p: p, name=None).name == "<lambda>"


def test_configs_round_trip_through_json():
    for loss in [losses.MeanSquaredError(reduction="sum"),
                 losses.BinaryCrossentropy(from_logits=True, name="bce"),
                 losses.SparseCategoricalCrossentropy(from_logits=True, axis=1)]:
        rebuilt = losses.get(json.loads(json.dumps(losses.serialize(loss))))
        assert type(rebuilt) is type(loss)
        assert rebuilt.get_config() == loss.get_config()
    assert losses.SparseCategoricalCrossentropy(from_logits=True).get_config() == {
        "name": "sparse_categorical_crossentropy", "reduction": "mean", "from_logits": True,
        "axis": -1}
    with pytest.raises(ValueError, match="not a built-in loss"):
        losses.serialize(lambda y_true, y_pred: y_pred)


def test_an_unknown_reduction_is_refused_at_construction():
    with pytest.raises(ValueError, match="MeanSquaredError: reduction must be"):
        losses.MeanSquaredError(reduction="avg")
    assert losses.MeanSquaredError(reduction="sum_over_batch_size").reduction == "mean"
