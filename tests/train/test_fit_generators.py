"""``fit``/``evaluate``/``predict`` on generators, PyDataset-like objects (batches by index) and
DataLoaders, with ``steps_per_epoch``, ``validation_steps`` and ``steps`` as in Keras 3: an
epoch takes the next ``steps_per_epoch`` batches of a pass that goes on across epochs; a
generator that runs out ends training with a warning; a re-iterable starts a new pass.

The Keras comparisons run Keras 3 (torch backend) on the same initial weights and batches;
they skip without Keras."""

import io
import os
import sys
import threading
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import keras as mk

os.environ.setdefault("KERAS_BACKEND", "torch")

HISTORY = dict(rtol=1e-5, atol=1e-6)
RNG = np.random.default_rng(0)
X = RNG.standard_normal((40, 6)).astype(np.float32)
Y = RNG.integers(0, 3, 40)
W = RNG.uniform(0.1, 2.0, 40).astype(np.float32)


def keras_or_skip():
    return pytest.importorskip("keras", reason="Keras 3 not installed (pip install keras)")


def build(k):
    return k.Sequential([k.Input(shape=(6,)), k.layers.Dense(8, activation="tanh"),
                         k.layers.Dense(3, activation="softmax")])


def models(k=None):
    """(minigrad's model, Keras's model or None) with the same initial weights, compiled
    alike."""
    ours = build(mk)
    theirs = None
    if k is not None:
        theirs = build(k)
        ours.set_weights(theirs.get_weights())
    for model in (ours, theirs):
        if model is not None:
            model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"],
                          weighted_metrics=["accuracy"])
    return ours, theirs


def endless(batch_size=8, weights=True, drawn=None):
    """An endless generator of batches cycling over the data; ``drawn`` counts them."""
    start = 0
    while True:
        s = slice(start, start + batch_size)
        if drawn is not None:
            drawn.append(start // batch_size)
        yield (X[s], Y[s], W[s]) if weights else (X[s], Y[s])
        start = (start + batch_size) % len(X)


def finite(count, batch_size=8):
    for i in range(count):
        yield X[i * batch_size:(i + 1) * batch_size], Y[i * batch_size:(i + 1) * batch_size]


class Batches:
    """Batches by index, as Keras's PyDataset (a subclass of it in the Keras tests)."""

    def __init__(self, count=40, batch_size=8, weights=True):
        self.count, self.batch_size, self.weights = count, batch_size, weights
        self.visited, self.epoch_ends = [], 0

    def __len__(self):
        return -(-self.count // self.batch_size)

    def __getitem__(self, i):
        self.visited.append(i)
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return (X[s], Y[s], W[s]) if self.weights else (X[s], Y[s])

    def on_epoch_end(self):
        self.epoch_ends += 1


class BatchCounter(mg.train.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.per_epoch = []

    def on_epoch_begin(self, epoch, logs=None):
        self.per_epoch.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.per_epoch[-1] += 1


def assert_same_history(ours, theirs, epochs=None):
    assert sorted(ours.history) == sorted(theirs.history)
    for key, expected in theirs.history.items():
        np.testing.assert_allclose(ours.history[key], expected[:epochs], **HISTORY, err_msg=key)


def keras_pydataset(keras, *args, **kwargs):
    class KerasBatches(Batches, keras.utils.PyDataset):
        def __init__(self):
            keras.utils.PyDataset.__init__(self)
            Batches.__init__(self, *args, **kwargs)
    return KerasBatches()


# --- against Keras 3 ---------------------------------------------------------------------------

def test_history_on_an_endless_generator_with_steps_per_epoch_matches_keras():
    keras = keras_or_skip()
    ours, theirs = models(keras)
    fit = dict(steps_per_epoch=3, epochs=4, verbose=0)
    expected = theirs.fit(endless(), validation_data=keras_pydataset(keras, batch_size=16),
                          validation_steps=2, **fit)
    got = ours.fit(endless(), validation_data=Batches(batch_size=16), validation_steps=2,
                   **fit)
    assert sorted(got.history) == ["accuracy", "loss", "val_accuracy", "val_loss",
                                   "val_weighted_accuracy", "weighted_accuracy"]
    assert_same_history(got, expected)
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=2e-6)


def test_pydataset_whose_pass_ends_inside_an_epoch_gives_a_short_epoch_as_keras():
    # 5 batches, 2 per epoch: epochs of 2, 2, 1 (the pass ends: warning), 2, 2
    keras = keras_or_skip()
    ours, theirs = models(keras)
    fit = dict(steps_per_epoch=2, epochs=5, verbose=0, shuffle=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = theirs.fit(keras_pydataset(keras), **fit)
    counter, data = BatchCounter(), Batches()
    with pytest.warns(UserWarning, match=r"x ran out of batches in epoch 3, after 1 of "
                                         r"steps_per_epoch=2: the epoch ends here and the "
                                         r"next one starts a new pass"):
        got = ours.fit(data, callbacks=[counter], **fit)
    assert counter.per_epoch == [2, 2, 1, 2, 2]
    assert data.visited == [0, 1, 2, 3, 4, 0, 1, 2, 3]
    assert data.epoch_ends == 5
    assert_same_history(got, expected)


def test_a_generator_that_runs_out_warns_and_stops_training():
    # 5 batches for 4 epochs of 2: epoch 3 gets one batch, then training stops. (Keras 3's
    # torch backend warns alike but goes on, replaying the two batches it peeked at first in
    # every later epoch; minigrad stops, as the warning says.)
    keras = keras_or_skip()
    ours, theirs = models(keras)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = theirs.fit(finite(5), steps_per_epoch=2, epochs=4, verbose=0)
    counter = BatchCounter()
    with pytest.warns(UserWarning, match=r"x ran out of data in epoch 3: interrupting "
                                         r"training .*steps_per_epoch \* epochs = 8 batches"):
        got = ours.fit(finite(5), steps_per_epoch=2, epochs=4, verbose=0, callbacks=[counter])
    assert got.epoch == [0, 1, 2] and counter.per_epoch == [2, 2, 1]
    assert_same_history(got, expected, epochs=3)


def test_evaluate_and_predict_on_a_generator_with_steps_match_keras():
    keras = keras_or_skip()
    ours, theirs = models(keras)
    expected = theirs.evaluate(endless(), steps=3, verbose=0, return_dict=True)
    got = ours.evaluate(endless(), steps=3, verbose=0, return_dict=True)
    assert sorted(got) == sorted(expected)
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-5, err_msg=key)
    np.testing.assert_allclose(ours.predict(endless(), steps=3),
                               theirs.predict(endless(), steps=3, verbose=0), rtol=1e-5,
                               atol=1e-7)


# --- how the batches are shared out --------------------------------------------------------------

def test_each_epoch_takes_the_next_steps_per_epoch_batches_of_the_generator():
    model, _ = models()
    drawn, counter = [], BatchCounter()
    model.fit(endless(drawn=drawn), steps_per_epoch=3, epochs=3, verbose=0, callbacks=[counter])
    assert counter.per_epoch == [3, 3, 3]
    # the batch drawn ahead to know that an epoch can start is the first it trains on
    assert drawn == [0, 1, 2, 3, 4, 0, 1, 2, 3]


def test_a_generator_used_up_at_an_epoch_boundary_starts_no_empty_epoch():
    model, _ = models()
    counter = BatchCounter()
    with pytest.warns(UserWarning, match="ran out of data in epoch 3"):
        history = model.fit(finite(4), steps_per_epoch=2, epochs=3, verbose=0,
                            callbacks=[counter])
    assert history.epoch == [0, 1] and counter.per_epoch == [2, 2]


def test_without_steps_per_epoch_a_generator_is_read_to_its_end():
    model, _ = models()
    counter = BatchCounter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one epoch: the end of the data is no surprise
        model.fit(finite(3), epochs=1, verbose=0, callbacks=[counter])
    assert counter.per_epoch == [3]
    with pytest.warns(UserWarning, match=r"ran out of data in epoch 2.* a pass per epoch"):
        history = model.fit(finite(3), epochs=3, verbose=0)
    assert history.epoch == [0]


def test_a_dataloader_with_steps_per_epoch_goes_on_across_epochs_and_restarts():
    model, _ = models()
    loader = mg.data.DataLoader(mg.data.TensorDataset(X[:32], Y[:32]), batch_size=8)
    counter = BatchCounter()
    with pytest.warns(UserWarning, match="epoch 2, after 1 of steps_per_epoch=3"):
        model.fit(loader, steps_per_epoch=3, epochs=3, verbose=0, callbacks=[counter])
    assert counter.per_epoch == [3, 1, 3]  # 4 batches a pass


def test_steps_per_epoch_that_divides_the_pass_gives_whole_epochs_without_warning():
    model, _ = models()
    data, counter = Batches(weights=False), BatchCounter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(data, steps_per_epoch=5, epochs=3, verbose=0, callbacks=[counter],
                  shuffle=False)
    assert counter.per_epoch == [5, 5, 5] and data.visited == list(range(5)) * 3


def test_an_endless_pydataset_is_read_with_steps():
    class Endless:  # Keras's PyDataset says "endless" with num_batches None
        num_batches = None

        def __init__(self):
            self.visited = []

        def __getitem__(self, i):
            self.visited.append(i)
            return X[:8], Y[:8]

    model, _ = models()
    data = Endless()
    model.fit(data, steps_per_epoch=3, epochs=2, verbose=0)
    assert data.visited == [0, 1, 2, 3, 4, 5]


def test_a_pydataset_is_shuffled_by_batch_with_the_seed():
    model, _ = models()
    first, second = Batches(), Batches()
    model.fit(first, epochs=2, seed=3, verbose=0)
    model.fit(second, epochs=2, seed=3, verbose=0)
    assert first.visited == second.visited
    assert sorted(first.visited[:5]) == list(range(5)) and first.visited[:5] != list(range(5))


def test_a_validation_generator_with_validation_steps_reads_on_each_epoch():
    model, _ = models()
    drawn = []
    history = model.fit(endless(), steps_per_epoch=2, epochs=3, verbose=0,
                        validation_data=endless(batch_size=8, drawn=drawn),
                        validation_steps=2)
    assert drawn == [0, 1, 2, 3, 4, 0]
    assert len(history.history["val_loss"]) == 3


def test_a_validation_dataloader_is_evaluated_whole_each_epoch():
    model, _ = models()
    loader = mg.data.DataLoader(mg.data.TensorDataset(X[:16], Y[:16]), batch_size=8)
    history = model.fit(endless(), steps_per_epoch=2, epochs=2, verbose=0,
                        validation_data=loader)
    expected = model.evaluate(X[:16], Y[:16], verbose=0, return_dict=True)
    assert history.history["val_loss"][-1] == pytest.approx(expected["loss"], rel=1e-6)


def test_class_weight_applies_to_the_batches_of_an_iterable():
    weights = {0: 0.5, 1: 2.0, 2: 1.0}
    on_arrays, _ = models()
    on_batches, _ = models()
    on_batches.set_weights(on_arrays.get_weights())
    expected = on_arrays.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0,
                             class_weight=weights)
    got = on_batches.fit(Batches(weights=False), epochs=2, shuffle=False, verbose=0,
                         class_weight=weights)
    for key in expected.history:
        np.testing.assert_allclose(got.history[key], expected.history[key], rtol=1e-6)


def test_evaluate_that_runs_out_before_its_steps_warns_and_uses_what_it_got():
    model, _ = models()
    with pytest.warns(UserWarning, match=r"evaluate\(\): x ran out of batches after 2 of "
                                         r"steps=5"):
        got = model.evaluate(finite(2), steps=5, verbose=0, return_dict=True)
    expected = model.evaluate(X[:16], Y[:16], verbose=0, return_dict=True)
    assert got == pytest.approx(expected)
    assert model.predict(endless(batch_size=5), steps=4).shape == (20, 3)


def test_a_dataloader_thread_left_mid_pass_is_ended_after_fit():
    model, _ = models()
    loader = mg.data.DataLoader(mg.data.TensorDataset(X, Y), batch_size=4, prefetch=2)
    model.fit(loader, steps_per_epoch=3, epochs=2, verbose=0)
    assert not any(t.name == "minigrad-DataLoader" for t in threading.enumerate())


def test_the_bar_of_an_unknown_length_learns_it_after_the_first_epoch(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    model, _ = models()
    stream = Terminal()
    monkeypatch.setattr(sys, "stdout", stream)

    class Pass:  # re-iterable, no len(): 5 batches a pass
        def __iter__(self):
            return finite(5)

    model.fit(Pass(), epochs=2, verbose=1)
    out = stream.getvalue()
    cut = out.index("Epoch 2/2")
    first, second = out[:cut], out[cut:]
    assert "5batch" in first and "/5" not in first
    assert "5/5" in second


# --- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, message", [
    (lambda m: m.fit(endless(), steps_per_epoch=0), ValueError,
     r"steps_per_epoch must be an integer >= 1, got 0"),
    (lambda m: m.fit(endless(), steps_per_epoch=1.5), ValueError, "steps_per_epoch"),
    (lambda m: m.fit(endless(), steps_per_epoch=1, validation_data=endless(),
                     validation_steps=-1), ValueError, "validation_steps must be"),
    (lambda m: m.fit(endless(), Y, steps_per_epoch=1), ValueError,
     r"y and sample_weight must be None when x is an iterable of batches"),
    (lambda m: m.fit(endless(), sample_weight=W, steps_per_epoch=1), ValueError,
     "y and sample_weight must be None"),
    (lambda m: m.fit(mg.data.TensorDataset(X, Y)), TypeError,
     r"a dataset of single samples; wrap it in mg.data.DataLoader"),
    (lambda m: m.fit(endless(), steps_per_epoch=1, validation_data="val"), ValueError,
     "validation_data must be"),
    (lambda m: m.fit(endless(), steps_per_epoch=1, validation_split=0.2), ValueError,
     "validation_split needs array inputs"),
    (lambda m: m.fit(endless(), steps_per_epoch=1, class_weight={0: 2.0}), ValueError,
     "give class_weight or sample_weight, not both"),
    (lambda m: m.fit(iter([(X, Y, W, W)]), epochs=1), ValueError,
     "a batch must be x, .x, y. or .x, y, sample_weight.; got 4 items"),
    (lambda m: m.fit(iter([])), ValueError, "fit.. got no training batches"),
    (lambda m: m.fit(object()), TypeError, "x must be arrays, an iterable of batches"),
    (lambda m: m.evaluate(X, Y, batch_size=0), ValueError,
     r"batch_size must be a positive integer .* got 0"),
    (lambda m: m.predict(X, batch_size=2.5), ValueError, "batch_size must be a positive"),
    (lambda m: m.evaluate(endless(), steps=0), ValueError, "steps must be an integer >= 1"),
    (lambda m: m.predict(endless(), steps=-2), ValueError, "steps must be an integer >= 1"),
])
def test_bad_arguments_are_refused_with_a_message(call, error, message):
    model, _ = models()
    with pytest.raises(error, match=message):
        call(model)


@pytest.mark.parametrize("batch_size, steps", [(None, 3), (8, 3), (8, 7)])
def test_arrays_with_steps_per_epoch_match_keras(batch_size, steps):
    # no batch_size: the 40 samples cut in 3 steps (14 each); 8 a batch and 3 steps: the pass
    # of 5 batches goes on across epochs; 7 steps of 5 batches: every epoch runs short
    keras = keras_or_skip()
    ours, theirs = models(keras)
    fit = dict(batch_size=batch_size, steps_per_epoch=steps, epochs=4, verbose=0,
               shuffle=False, sample_weight=W)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = theirs.fit(X, Y, **fit)
        got = ours.fit(X, Y, **fit)
    assert_same_history(got, expected)
