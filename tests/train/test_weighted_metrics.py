"""``compile(weighted_metrics=[...])``: metrics that count each sample with its sample_weight
(or class_weight), beside ``metrics`` that ignore the weights, as in Keras 3; logged with
Keras's names (``weighted_<name>`` when the name is taken). Compared with Keras 3 (torch
backend) on identical weights where it is installed."""

import os

import numpy as np
import pytest

import minigrad as mg
from minigrad import keras as mk

os.environ.setdefault("KERAS_BACKEND", "torch")

RNG = np.random.default_rng(7)
X = RNG.standard_normal((30, 5)).astype(np.float32)
Y = RNG.integers(0, 3, 30)
W = RNG.uniform(0.0, 2.0, 30).astype(np.float32)
CLASS_WEIGHT = {0: 0.25, 1: 3.0, 2: 1.0}


def build(k):
    return k.Sequential([k.Input(shape=(5,)), k.layers.Dense(6, activation="tanh"),
                         k.layers.Dense(3, activation="softmax")])


def compiled(k, metrics, weighted_metrics, optimizer="sgd"):
    model = build(k)
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=metrics,
                  weighted_metrics=weighted_metrics)
    return model


def both(metrics, weighted_metrics):
    keras = pytest.importorskip("keras", reason="Keras 3 not installed (pip install keras)")
    theirs = compiled(keras, metrics, weighted_metrics)
    ours = compiled(mk, metrics, weighted_metrics)
    ours.set_weights(theirs.get_weights())
    return ours, theirs


def test_metrics_ignore_sample_weight_and_weighted_metrics_use_it():
    model = compiled(mk, ["accuracy"], ["accuracy", "sparse_categorical_crossentropy"])
    logs = model.evaluate(X, Y, sample_weight=W, verbose=0, return_dict=True)
    probabilities = model.predict(X)
    right = (probabilities.argmax(axis=1) == Y).astype(np.float64)
    assert logs["accuracy"] == pytest.approx(right.mean())
    assert logs["weighted_accuracy"] == pytest.approx((right * W).sum() / W.sum())
    per_sample = -np.log(probabilities[np.arange(len(Y)), Y])
    assert logs["sparse_categorical_crossentropy"] == pytest.approx(
        (per_sample * W).sum() / W.sum(), rel=1e-5)
    assert logs["weighted_accuracy"] != pytest.approx(logs["accuracy"])  # the data shows it


def test_without_weights_weighted_metrics_equal_the_plain_ones():
    model = compiled(mk, ["accuracy"], ["accuracy"])
    logs = model.evaluate(X, Y, verbose=0, return_dict=True)
    assert logs["weighted_accuracy"] == logs["accuracy"]


@pytest.mark.parametrize("metrics, weighted_metrics, keys", [
    (["accuracy"], ["accuracy"], ["loss", "accuracy", "weighted_accuracy"]),
    (["accuracy", "accuracy"], ["accuracy", "accuracy"],
     ["loss", "accuracy", "accuracy_1", "weighted_accuracy", "weighted_accuracy_1"]),
    ([], ["accuracy", "sparse_top_k_categorical_accuracy"],
     ["loss", "accuracy", "sparse_top_k_categorical_accuracy"]),
    (["sparse_top_k_categorical_accuracy"], ["accuracy"],
     ["loss", "sparse_top_k_categorical_accuracy", "accuracy"]),
])
def test_names_follow_keras(metrics, weighted_metrics, keys):
    model = compiled(mk, metrics, weighted_metrics)
    logs = model.evaluate(X, Y, sample_weight=W, verbose=0, return_dict=True)
    assert list(logs) == keys


@pytest.mark.parametrize("metrics, weighted_metrics", [
    (["accuracy"], ["accuracy"]),
    (["accuracy", "accuracy"], ["accuracy", "accuracy"]),
    (["sparse_categorical_crossentropy"], ["accuracy", "sparse_categorical_crossentropy"]),
])
def test_evaluate_with_sample_weight_matches_keras(metrics, weighted_metrics):
    ours, theirs = both(metrics, weighted_metrics)
    expected = theirs.evaluate(X, Y, sample_weight=W, verbose=0, return_dict=True)
    got = ours.evaluate(X, Y, sample_weight=W, verbose=0, return_dict=True)
    assert sorted(got) == sorted(expected)
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-5, err_msg=key)


@pytest.mark.parametrize("weighting", ["sample_weight", "class_weight"])
def test_fit_history_with_weights_matches_keras(weighting):
    ours, theirs = both(["accuracy"], ["accuracy", "sparse_categorical_crossentropy"])
    weights = {"sample_weight": W} if weighting == "sample_weight" else \
        {"class_weight": CLASS_WEIGHT}
    fit = dict(epochs=3, batch_size=7, shuffle=False, verbose=0, validation_split=0.2,
               **weights)
    expected = theirs.fit(X, Y, **fit)
    got = ours.fit(X, Y, **fit)
    assert sorted(got.history) == sorted(expected.history)
    for key, values in expected.history.items():
        np.testing.assert_allclose(got.history[key], values, rtol=1e-5, atol=1e-6,
                                   err_msg=key)


def test_class_weight_weighs_only_the_weighted_metrics():
    model = compiled(mk, ["accuracy"], ["accuracy"], optimizer=mg.optim.SGD(lr=0.0))
    history = model.fit(X, Y, epochs=1, batch_size=30, shuffle=False, verbose=0,
                        class_weight=CLASS_WEIGHT)
    right = (model.predict(X).argmax(axis=1) == Y).astype(np.float64)
    weights = np.array([CLASS_WEIGHT[int(c)] for c in Y])
    assert history.history["accuracy"][0] == pytest.approx(right.mean())
    assert history.history["weighted_accuracy"][0] == pytest.approx(
        (right * weights).sum() / weights.sum())


def test_one_metric_object_in_both_lists_counts_twice_apart():
    shared = mg.train.metrics.SparseCategoricalAccuracy(name="acc")
    model = compiled(mk, [shared], [shared])
    logs = model.evaluate(X, Y, sample_weight=W, verbose=0, return_dict=True)
    reference = compiled(mk, ["accuracy"], ["accuracy"])
    reference.set_weights(model.get_weights())
    expected = reference.evaluate(X, Y, sample_weight=W, verbose=0, return_dict=True)
    assert logs["acc"] == pytest.approx(expected["accuracy"])
    assert logs["weighted_acc"] == pytest.approx(expected["weighted_accuracy"])


def test_several_outputs_get_keras_names():
    inputs = mk.Input(shape=(5,))
    a = mk.layers.Dense(3, activation="softmax", name="a")(inputs)
    b = mk.layers.Dense(1, name="b")(inputs)
    model = mk.Model(inputs, [a, b])
    model.compile("sgd", ["sparse_categorical_crossentropy", "mse"],
                  metrics=[["accuracy"], ["mae"]], weighted_metrics=[["accuracy"], ["mse"]])
    target = RNG.standard_normal((30, 1)).astype(np.float32)
    logs = model.evaluate(X, [Y, target], sample_weight=W, verbose=0, return_dict=True)
    metric_keys = [key for key in logs if not key.endswith("loss")]
    assert metric_keys == ["a_accuracy", "b_mae", "a_weighted_accuracy", "b_mse"]
    error = (model.predict(X)[1] - target)[:, 0] ** 2
    assert logs["b_mse"] == pytest.approx((error * W).sum() / W.sum(), rel=1e-5)


def test_weighted_metrics_survive_save_and_load(tmp_path):
    model = compiled(mk, ["accuracy"], ["accuracy"])
    model.fit(X, Y, epochs=1, verbose=0)
    model.save(tmp_path / "model.safetensors")
    loaded = mg.load_model(tmp_path / "model.safetensors")
    assert loaded.get_compile_config()["weighted_metrics"] == ["accuracy"]
    expected = model.evaluate(X, Y, sample_weight=W, verbose=0, return_dict=True)
    assert loaded.evaluate(X, Y, sample_weight=W, verbose=0, return_dict=True) == \
        pytest.approx(expected)


def test_a_single_weighted_metric_may_be_given_alone_and_a_dict_is_refused():
    model = compiled(mk, None, "accuracy")
    assert list(model.evaluate(X, Y, verbose=0, return_dict=True)) == ["loss", "accuracy"]
    with pytest.raises(ValueError, match=r"weighted_metrics must be a list of metrics"):
        mk.Sequential([mk.layers.Dense(3)]).compile("sgd", "mse",
                                                     weighted_metrics={"out": "mae"})
    with pytest.raises(ValueError, match="Unknown metric|unknown metric|accuracyy"):
        compiled(mk, None, ["accuracyy"])
