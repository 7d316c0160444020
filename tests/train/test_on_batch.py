"""Keras's ``train_on_batch``, ``test_on_batch`` and ``predict_on_batch``, against Keras 3 itself
(torch backend: same weights, same batches, same returned values and weights), and continuing
training on a loaded model with its optimizer state: ``fit`` 2 epochs equals ``fit`` 1 epoch,
``save``, ``load_model``, ``fit`` 1 more (Adam: a reset optimizer would jump)."""

import os

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

CLOSE = dict(rtol=1e-5, atol=1e-6)


def classifier(seed=0):
    mg.manual_seed(seed)
    model = mg.Sequential([nn.Dense(8, activation="tanh", input_shape=(6,)),
                           nn.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, 6)).astype(np.float32), rng.integers(0, 3, n),
            rng.random(n).astype(np.float32))


# --- against Keras 3 -----------------------------------------------------------------------
@pytest.fixture
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras", reason="Keras 3 not installed (pip install keras; it "
                                               "runs on the torch backend)")


def both(keras, metrics=("accuracy",), loss="sparse_categorical_crossentropy"):
    from minigrad import keras as mk

    def build(k):
        return k.Sequential([k.Input(shape=(6,)), k.layers.Dense(8, activation="tanh"),
                             k.layers.Dense(3, activation="softmax")])
    theirs, ours = build(keras), build(mk)
    ours.set_weights(theirs.get_weights())
    for model in (theirs, ours):
        model.compile(optimizer="adam", loss=loss, metrics=list(metrics))
    return theirs, ours


def assert_same(ours, theirs):
    if isinstance(theirs, dict):
        assert sorted(ours) == sorted(theirs)
        ours, theirs = [ours[k] for k in sorted(theirs)], [theirs[k] for k in sorted(theirs)]
    assert type(ours) is type(theirs)  # a float alone, or a list of floats
    np.testing.assert_allclose(ours, theirs, **CLOSE)


def test_train_on_batch_returns_and_trains_as_keras(keras):
    theirs, ours = both(keras)
    x, y, w = data()
    for start, size in ((0, 8), (8, 8), (16, 5), (21, 19)):
        batch = slice(start, start + size)
        for kwargs in ({}, {"sample_weight": w[batch]},
                       {"class_weight": {0: 1.0, 1: 3.0, 2: 0.5}, "return_dict": True}):
            assert_same(ours.train_on_batch(x[batch], y[batch], **kwargs),
                        theirs.train_on_batch(x[batch], y[batch], **kwargs))
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert ours.optimizer.iterations == int(theirs.optimizer.iterations) == 12


def test_test_and_predict_on_batch_as_keras_and_change_nothing(keras):
    theirs, ours = both(keras)
    x, y, w = data()
    before = ours.get_weights()
    assert_same(ours.test_on_batch(x[:7], y[:7]), theirs.test_on_batch(x[:7], y[:7]))
    assert_same(ours.test_on_batch(x, y, sample_weight=w, return_dict=True),
                theirs.test_on_batch(x, y, sample_weight=w, return_dict=True))
    predicted = ours.predict_on_batch(x)
    assert isinstance(predicted, np.ndarray) and predicted.dtype == np.float32
    np.testing.assert_allclose(predicted, theirs.predict_on_batch(x), **CLOSE)
    for a, b in zip(before, ours.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_without_metrics_the_loss_alone_is_returned_as_keras(keras):
    theirs, ours = both(keras, metrics=())
    x, y, _ = data()
    assert_same(ours.train_on_batch(x, y), theirs.train_on_batch(x, y))
    assert_same(ours.test_on_batch(x, y), theirs.test_on_batch(x, y))
    assert_same(ours.train_on_batch(x, y, return_dict=True),
                theirs.train_on_batch(x, y, return_dict=True))


def test_each_call_reports_its_own_batch_as_keras_3_does(keras):
    # Keras 3 resets the metrics at each *_on_batch call (keras-team/keras#22617; earlier
    # Keras 3 releases summed them up across calls): the second call is not a running mean.
    theirs, ours = both(keras)
    x, y, _ = data()
    ours.test_on_batch(x[:20], y[:20])
    theirs.test_on_batch(x[:20], y[:20])
    assert_same(ours.test_on_batch(x[20:], y[20:]), theirs.test_on_batch(x[20:], y[20:]))
    assert ours.test_on_batch(x[20:], y[20:]) == ours.evaluate(x[20:], y[20:], verbose=0)


# --- minigrad's own promises ---------------------------------------------------------------
def test_reset_metrics_false_counts_across_calls_until_reset_metrics():
    model = classifier()
    x, y, w = data()
    model.test_on_batch(x[:10], y[:10], sample_weight=w[:10], reset_metrics=False)
    model.test_on_batch(x[10:25], y[10:25], sample_weight=w[10:25], reset_metrics=False)
    counted = model.test_on_batch(x[25:], y[25:], sample_weight=w[25:], reset_metrics=False)
    np.testing.assert_allclose(counted, model.evaluate(x, y, sample_weight=w, verbose=0,
                                                       batch_size=10), **CLOSE)
    model.reset_metrics()
    alone = model.test_on_batch(x[25:], y[25:], reset_metrics=False)
    np.testing.assert_allclose(alone, model.evaluate(x[25:], y[25:], verbose=0), **CLOSE)


def test_train_on_batch_steps_as_fit_does_on_the_same_batches():
    x, y, _ = data()
    by_fit, by_batch = classifier(), classifier()
    history = by_fit.fit(x, y, batch_size=10, epochs=2, shuffle=False, verbose=0)
    losses = [[by_batch.train_on_batch(x[i:i + 10], y[i:i + 10])[0] for i in range(0, 40, 10)]
              for _ in range(2)]
    for a, b in zip(by_fit.get_weights(), by_batch.get_weights()):
        np.testing.assert_allclose(a, b, **CLOSE)
    np.testing.assert_allclose(history.history["loss"], np.mean(losses, axis=1), **CLOSE)


def test_a_model_built_by_its_first_batch_and_lists_as_input():
    model = mg.Sequential([nn.Dense(2)])
    model.compile("sgd", "mse")
    loss = model.train_on_batch([[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [1.0, 0.0]])
    assert isinstance(loss, float) and model.optimizer.iterations == 1
    assert model.predict_on_batch([[1.0, 2.0]]).shape == (1, 2)


@pytest.mark.parametrize("call, error, message", [
    (lambda m, x, y: m.train_on_batch(x, y, sample_weight=np.ones(40), class_weight={0: 2}),
     ValueError, "class_weight or sample_weight, not both"),
    (lambda m, x, y: m.train_on_batch(x), ValueError, "train_on_batch\\(\\) needs the targets"),
    (lambda m, x, y: m.test_on_batch(x, y[:5]), ValueError, "x has 40 samples but y has 5"),
    (lambda m, x, y: m.train_on_batch(x[:0], y[:0]), ValueError, "x has no samples"),
    (lambda m, x, y: m.train_on_batch(x, y, class_weight=[1, 2]), ValueError,
     "class_weight must be a dict"),
])
def test_bad_batches_are_clear_errors(call, error, message):
    x, y, _ = data()
    with pytest.raises(error, match=message):
        call(classifier(), x, y)


def test_an_uncompiled_model_is_told_to_compile():
    model = mg.Sequential([nn.Dense(2, input_shape=(3,))])
    with pytest.raises(RuntimeError, match="train_on_batch\\(\\) needs a compiled model"):
        model.train_on_batch(np.ones((2, 3)), np.ones((2, 2)))


# --- continuing training on a loaded model ---------------------------------------------------
def test_fit_continues_on_a_loaded_model_as_if_never_stopped(tmp_path):
    x, y, _ = data(n=50)
    fit = dict(batch_size=8, shuffle=False, verbose=0)
    straight = classifier()
    history = straight.fit(x, y, epochs=2, **fit)
    interrupted = classifier()
    interrupted.fit(x, y, epochs=1, **fit)
    interrupted.save(tmp_path / "model.safetensors")
    loaded = mg.load_model(tmp_path / "model.safetensors")
    continued = loaded.fit(x, y, epochs=1, **fit)
    for a, b in zip(straight.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    np.testing.assert_allclose(continued.history["loss"], history.history["loss"][1:], **CLOSE)
    assert loaded.optimizer.iterations == straight.optimizer.iterations == 14

    # What the test guards against: the same file with a fresh Adam jumps.
    reset = mg.load_model(tmp_path / "model.safetensors", compile=False)
    reset.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    reset.fit(x, y, epochs=1, **fit)
    assert max(np.abs(a - b).max() for a, b in zip(straight.get_weights(),
                                                   reset.get_weights())) > 1e-3


def test_train_on_batch_continues_on_a_loaded_model(tmp_path):
    x, y, _ = data()
    straight, interrupted = classifier(), classifier()
    for i in range(0, 40, 10):
        straight.train_on_batch(x[i:i + 10], y[i:i + 10])
    for i in range(0, 20, 10):
        interrupted.train_on_batch(x[i:i + 10], y[i:i + 10])
    interrupted.save(tmp_path / "model.safetensors")
    loaded = mg.load_model(tmp_path / "model.safetensors")
    for i in range(20, 40, 10):
        loaded.train_on_batch(x[i:i + 10], y[i:i + 10])
    for a, b in zip(straight.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
