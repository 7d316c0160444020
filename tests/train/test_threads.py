"""Inference from many threads at once: predict / evaluate / model(x) under eval_mode give
bitwise the serial answer and change nothing in the model; fit owns the model while it runs
(inference from other threads is refused, fit waits for the predictions already running)."""

import sys
import threading

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn.module import eval_mode, training_mode

THREADS, ROUNDS = 8, 25


@pytest.fixture(autouse=True)
def _switch_threads_often():
    """Let the interpreter switch threads every 10 microseconds (not every 5 ms), so that the
    interleavings a web server meets over hours show up in a test of seconds."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(interval)


def conv_model():
    """Conv2D, BatchNormalization and Dropout: the layers whose behaviour depends on the mode."""
    return mg.Sequential([nn.Conv2D(4, 3, padding="same", input_shape=(6, 6, 2)),
                          nn.BatchNormalization(), nn.Activation("relu"), nn.Dropout(0.5),
                          nn.Flatten(), nn.Dense(3)])


def recurrent_model():
    """An LSTM, a Bidirectional LSTM (input dropout in both), BatchNormalization, Dropout."""
    return mg.Sequential([nn.LSTM(5, return_sequences=True, dropout=0.3, input_shape=(7, 3)),
                          nn.Bidirectional(nn.LSTM(4, dropout=0.3)), nn.BatchNormalization(),
                          nn.Dropout(0.4), nn.Dense(3)])


def trained(make, n=48, seed=0):
    """A model after one epoch of fit (so it is left in training mode, with moving statistics
    that are no longer the initial zeros and ones), and inputs and labels for it."""
    model = make()
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *model.input_shape)).astype(np.float32)
    y = rng.integers(0, 3, n)
    model.compile("adam", nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, seed=seed)
    assert model.training
    return model, x, y


def hammer(call, reference, threads=THREADS, rounds=ROUNDS):
    """Run ``call()`` ``rounds`` times in each of ``threads`` threads started together; returns
    (answers that differ from ``reference`` bit for bit, exceptions raised)."""
    start = threading.Barrier(threads)
    wrong, errors, lock = [0], [], threading.Lock()

    def work():
        start.wait()
        for _ in range(rounds):
            try:
                answer = call()
            except Exception as error:  # counted: the test fails with it
                with lock:
                    errors.append(error)
                continue
            if not _bitwise_equal(answer, reference):
                with lock:
                    wrong[0] += 1

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return wrong[0], errors


def _bitwise_equal(a, b):
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_bitwise_equal(u, v) for u, v in zip(a, b))
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def weights_of(model):
    """Every weight, BatchNormalization's moving statistics included, as copies."""
    return [np.array(w, copy=True) for w in model.get_weights()]


def assert_unchanged(model, before, training=True):
    after = weights_of(model)
    assert len(after) == len(before)
    changed = [name for (name, _), a, b in zip(model.named_weights(), after, before)
               if a.tobytes() != b.tobytes()]
    assert not changed, f"inference changed {changed}"
    assert all(m.training == training for m in model.modules())


@pytest.mark.parametrize("make", [conv_model, recurrent_model], ids=["conv", "recurrent"])
def test_predict_from_many_threads_gives_the_serial_answer_and_changes_nothing(make, device):
    model, x, _ = trained(make)
    model.to(device)
    reference = model.predict(x, batch_size=16)
    before = weights_of(model)
    wrong, errors = hammer(lambda: model.predict(x, batch_size=16), reference)
    assert not errors, errors[:3]
    assert wrong == 0, f"{wrong} of {THREADS * ROUNDS} answers differ from the serial predict"
    assert_unchanged(model, before)
    assert _bitwise_equal(model.predict(x, batch_size=16), reference)


@pytest.mark.parametrize("make", [conv_model, recurrent_model], ids=["conv", "recurrent"])
def test_evaluate_and_eval_mode_calls_from_many_threads_give_the_serial_answer(make):
    model, x, y = trained(make)
    reference = model.evaluate(x, y, batch_size=16, verbose=0)
    with eval_mode(model):
        outputs = model(mg.tensor(x)).numpy()
    before = weights_of(model)

    def call_in_eval_mode():
        with eval_mode(model):
            return model(mg.tensor(x)).numpy()

    def evaluate():
        return model.evaluate(x, y, batch_size=16, verbose=0)

    for call, expected in ((evaluate, reference), (call_in_eval_mode, outputs)):
        wrong, errors = hammer(call, expected, rounds=ROUNDS // 2)
        assert not errors, errors[:3]
        assert wrong == 0, f"{wrong} of {THREADS * ROUNDS // 2} answers differ ({call.__name__})"
    assert_unchanged(model, before)


def test_evaluate_from_many_threads_counts_each_call_with_its_own_metric_objects():
    model, x, y = trained(conv_model)
    accuracy, mean_error = mg.train.metrics.SparseCategoricalAccuracy(), _MeanLabel()
    model.compile("adam", nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[accuracy, mean_error, "accuracy"])
    reference = model.evaluate(x, y, batch_size=8, verbose=0)
    wrong, errors = hammer(lambda: model.evaluate(x, y, batch_size=8, verbose=0), reference,
                           rounds=ROUNDS // 2)
    assert not errors, errors[:3]
    assert wrong == 0, f"{wrong} of {THREADS * ROUNDS // 2} evaluate results differ"
    assert accuracy.result() == 0.0  # fit counts on the objects given; evaluate on copies


class _MeanLabel(mg.train.metrics.Metric):
    """The mean label: a user-defined metric object with counts of its own."""

    def __init__(self, name="mean_label"):
        super().__init__(name=name)
        self.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.total += float(y_true.numpy().sum())
        self.count += len(y_true)

    def result(self):
        return self.total / self.count if self.count else 0.0

    def reset_state(self):
        self.total, self.count = 0.0, 0


def test_eval_mode_is_seen_only_by_the_thread_that_entered_it():
    layer = nn.Dropout(0.5)
    inside, leave = threading.Event(), threading.Event()
    seen = {}

    def infer():
        with eval_mode(layer):
            seen["inside"] = layer.training
            inside.set()
            leave.wait(5)

    worker = threading.Thread(target=infer)
    worker.start()
    assert inside.wait(5)
    seen["other thread"] = layer.training  # while the worker is in eval_mode
    leave.set()
    worker.join()
    assert seen == {"inside": False, "other thread": True}
    assert layer.training


def test_a_training_argument_is_seen_only_by_the_calling_thread():
    # Keras's layer(x, training=True) on a layer switched to eval(): MC dropout in one thread
    # while another serves plain predictions.
    layer = nn.Dropout(0.5)
    layer.eval()
    inside, leave = threading.Event(), threading.Event()
    seen = {}

    def sample():
        with training_mode(layer, True):
            seen["inside"] = layer.training
            seen["dropped"] = bool((layer(mg.ones(1000)).numpy() == 0).any())
            inside.set()
            leave.wait(5)

    worker = threading.Thread(target=sample)
    worker.start()
    assert inside.wait(5)
    seen["other thread"] = layer.training
    seen["other thread dropped"] = bool((layer(mg.ones(1000)).numpy() == 0).any())
    leave.set()
    worker.join()
    assert seen == {"inside": True, "dropped": True, "other thread": False,
                    "other thread dropped": False}
    assert not layer.training


def test_a_lazy_model_built_by_many_threads_at_once_gets_one_set_of_weights():
    x = np.random.default_rng(1).normal(size=(16, 6, 6, 2)).astype(np.float32)
    for _ in range(20):  # a race: give it several chances
        model = mg.Sequential([nn.Conv2D(4, 3), nn.BatchNormalization(), nn.Flatten(),
                               nn.Dense(3)])
        model.compile("adam", "mse")
        made = []
        for layer in model.layers:
            layer.add_weight = _counting(layer.add_weight, made)
        answers, errors = [], []

        def work():
            try:
                answers.append(model.predict(x))
            except Exception as error:
                errors.append(error)

        start = threading.Barrier(THREADS)
        workers = [threading.Thread(target=lambda: (start.wait(), work())) for _ in range(THREADS)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert not errors, errors[:3]
        assert len(made) == 6, f"{len(made)} weights created for a model that has 6"
        assert all(_bitwise_equal(a, model.predict(x)) for a in answers)


def _counting(add_weight, made):
    def counted(name, *args, **kwargs):
        made.append(name)
        return add_weight(name, *args, **kwargs)
    return counted


class _Gate(nn.Layer):
    """The identity; while ``holding``, a call sets ``entered`` and waits for ``release``:
    holds a predict in flight."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.holding = False
        self.entered, self.release = threading.Event(), threading.Event()

    def forward(self, x):
        if self.holding:
            self.entered.set()
            assert self.release.wait(10)
        return x


def gated_conv_model():
    return mg.Sequential([_Gate(input_shape=(6, 6, 2)), *conv_model().layers])


class _InFit(mg.train.callbacks.Callback):
    """Signals when fit has started its first batch, then holds fit there until ``resume``."""

    def __init__(self):
        super().__init__()
        self.started, self.resume = threading.Event(), threading.Event()

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            self.started.set()
            assert self.resume.wait(10)


def _fit_in_thread(model, x, y, callback, outcome):
    def run():
        try:
            outcome["history"] = model.fit(x, y, batch_size=16, epochs=1, verbose=0,
                                           callbacks=[callback])
        except Exception as error:
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_inference_from_another_thread_while_fit_runs_is_refused_clearly():
    model, x, y = trained(conv_model)
    holder, outcome = _InFit(), {}
    thread = _fit_in_thread(model, x, y, holder, outcome)
    assert holder.started.wait(10)
    try:
        with pytest.raises(RuntimeError, match="fit.* another thread"):
            model.predict(x)
        with pytest.raises(RuntimeError, match="fit.* another thread"):
            model.evaluate(x, y, verbose=0)
        with pytest.raises(RuntimeError, match="fit.* another thread"):
            with eval_mode(model):
                model(mg.tensor(x))
    finally:
        holder.resume.set()
        thread.join()
    assert "error" not in outcome and len(outcome["history"].history["loss"]) == 1
    model.predict(x)  # fit is over: inference from this thread works again


def test_fit_in_another_thread_is_refused_while_one_runs():
    model, x, y = trained(conv_model)
    holder, outcome = _InFit(), {}
    thread = _fit_in_thread(model, x, y, holder, outcome)
    assert holder.started.wait(10)
    try:
        with pytest.raises(RuntimeError, match="fit.* another thread"):
            model.fit(x, y, verbose=0)
    finally:
        holder.resume.set()
        thread.join()
    assert "error" not in outcome


def test_two_models_fit_in_two_threads_at_once():
    (first, x, y), (second, _, _) = trained(conv_model), trained(conv_model, seed=1)
    outcomes = [{}, {}]
    holders = [_InFit(), _InFit()]
    threads = [_fit_in_thread(model, x, y, holder, outcome)
               for model, holder, outcome in zip((first, second), holders, outcomes)]
    try:
        assert all(holder.started.wait(10) for holder in holders)  # both inside fit at once
    finally:
        for holder in holders:
            holder.resume.set()
        for thread in threads:
            thread.join()
    assert all("error" not in outcome for outcome in outcomes)


def test_predict_inside_fit_in_its_own_thread_is_allowed():
    model, x, y = trained(conv_model)
    seen = []

    class PredictEachEpoch(mg.train.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(self.model.predict(x[:4]).shape)

    model.fit(x, y, epochs=2, verbose=0, validation_data=(x, y),
              callbacks=[PredictEachEpoch()])
    assert seen == [(4, 3), (4, 3)]


def test_fit_waits_for_the_predictions_in_flight_which_see_the_weights_before_it():
    model, x, y = trained(gated_conv_model)
    gate = model.layers[0]
    reference, before = model.predict(x, batch_size=16), weights_of(model)
    predicted = {}
    gate.holding = True
    predicting = threading.Thread(
        target=lambda: predicted.update(out=model.predict(x, batch_size=16)))
    predicting.start()
    assert gate.entered.wait(10)
    gate.holding = False  # the next batches (and fit's) pass
    holder, outcome = _InFit(), {}
    holder.resume.set()
    fitting = _fit_in_thread(model, x, y, holder, outcome)
    assert not holder.started.wait(0.5), "fit started while a prediction was in flight"
    gate.release.set()
    predicting.join()
    fitting.join()
    assert "error" not in outcome and holder.started.is_set()
    assert _bitwise_equal(predicted["out"], reference)
    assert weights_of(model)[0].tobytes() != before[0].tobytes()  # fit did train


def test_a_fit_that_fails_gives_the_model_back():
    model, x, y = trained(conv_model)
    with pytest.raises(ValueError):
        model.fit(x, y, batch_size=0, verbose=0)
    answers = []
    thread = threading.Thread(target=lambda: answers.append(model.predict(x)))
    thread.start()
    thread.join()
    assert len(answers) == 1 and answers[0].shape == (len(x), 3)
