"""``fit`` against Keras 3 itself (torch backend): the same model with the same initial weights,
the same float32 data, ``shuffle=False``, compiled with the same optimizer, loss and metrics
by name, gives the same History (every key, every epoch), the same final weights and the same
``evaluate``/``predict``; the callbacks take the same decisions (when to stop, which weights to
restore, which learning rate, which epochs to save) and CSVLogger writes the same rows.

Differences that are deliberate are asserted as such (see each test). Skips without Keras
(``pip install keras``)."""

import csv
import os

import numpy as np
import pytest

import minigrad as mg
from minigrad import keras as mk

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras", reason="Keras 3 not installed (pip install keras; it runs "
                                            "on the torch backend)")

#: float32 all through: the histories agree to ~1e-7, the weights and outputs to ~1e-6 (Adam
#: divides rounding differences by small second moments: some move 1e-5, and torch's matmul
#: sums in another order under another thread count, which moved one output 1.4e-5 after 4
#: epochs with BatchNormalization; the differences these tests found were 1e-3 to 0.15).
HISTORY = dict(rtol=1e-5, atol=1e-6)
WEIGHTS = dict(rtol=1e-4, atol=5e-5)
FIT = dict(epochs=4, batch_size=8, shuffle=False, verbose=0)


def _models(batch_norm=False, units=3, activation=None):
    """(Keras's model, minigrad's model) of the same layers, minigrad's with Keras's initial
    weights."""
    def build(k):
        layers = [k.Input(shape=(6,)), k.layers.Dense(8, activation="tanh")]
        if batch_norm:
            layers += [k.layers.BatchNormalization(), k.layers.Dropout(0.0)]
        return k.Sequential(layers + [k.layers.Dense(units, activation=activation)])
    theirs, ours = build(keras), build(mk)
    ours.set_weights(theirs.get_weights())
    return theirs, ours


def _data(kind="regression", n=37, units=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    y = {"regression": lambda: rng.standard_normal((n, units)),
         "sparse": lambda: rng.integers(0, units, n),
         "onehot": lambda: np.eye(units)[rng.integers(0, units, n)],
         "binary": lambda: rng.integers(0, 2, (n, units))}[kind]()
    return x, (y if kind == "sparse" else y.astype(np.float32))


def _assert_same_history(ours, theirs):
    assert sorted(ours.history) == sorted(theirs.history)
    for key, expected in theirs.history.items():
        np.testing.assert_allclose(ours.history[key], expected, **HISTORY, err_msg=key)


def _assert_same_model(ours, theirs, x, y):
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, **WEIGHTS)
    np.testing.assert_allclose(ours.predict(x), theirs.predict(x, verbose=0), **WEIGHTS)
    expected = theirs.evaluate(x, y, verbose=0, return_dict=True)
    got = ours.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(got) == sorted(expected)
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], **WEIGHTS, err_msg=key)


def _fit_both(optimizer="sgd", loss="mse", metrics=None, data="regression", activation=None,
              batch_norm=False, callbacks=lambda k: None, **fit):
    """Compile and fit both models alike; returns (ours, theirs, our History, their History,
    x, y). ``optimizer`` and ``callbacks`` may be functions of the keras module."""
    theirs, ours = _models(batch_norm=batch_norm, activation=activation)
    x, y = _data(data)
    for k, model in ((keras, theirs), (mk, ours)):
        model.compile(optimizer=optimizer(k) if callable(optimizer) else optimizer, loss=loss,
                      metrics=metrics(k) if callable(metrics) else metrics)
    fit = {**FIT, **fit}
    expected = theirs.fit(x, y, callbacks=callbacks(keras), **fit)
    got = ours.fit(x, y, callbacks=callbacks(mk), **fit)
    return ours, theirs, got, expected, x, y


# --- optimizers -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop", "adagrad", "adamw", "SGD", "Adam"])
def test_optimizers_by_name(name):
    ours, theirs, got, expected, x, y = _fit_both(name)
    _assert_same_history(got, expected)
    _assert_same_model(ours, theirs, x, y)


OPTIMIZERS = {
    "sgd_momentum": lambda k: k.optimizers.SGD(0.05, momentum=0.9),
    "sgd_nesterov": lambda k: k.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    # Keras's weight decay is decoupled for every optimizer (param -= lr * wd * param)
    "sgd_momentum_weight_decay": lambda k: k.optimizers.SGD(0.05, momentum=0.9,
                                                            weight_decay=0.05),
    "adam": lambda k: k.optimizers.Adam(0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-4),
    "adam_amsgrad": lambda k: k.optimizers.Adam(0.01, amsgrad=True),
    "adam_weight_decay": lambda k: k.optimizers.Adam(0.01, weight_decay=0.05),
    "adamw": lambda k: k.optimizers.AdamW(0.01, weight_decay=0.1, amsgrad=True),
    # Keras divides by sqrt(v + epsilon): a large epsilon shows where it goes
    "rmsprop": lambda k: k.optimizers.RMSprop(0.01, rho=0.8, epsilon=1e-3),
    "rmsprop_centered_momentum": lambda k: k.optimizers.RMSprop(0.01, momentum=0.5,
                                                                centered=True),
    "rmsprop_weight_decay": lambda k: k.optimizers.RMSprop(0.01, weight_decay=0.1),
    "adagrad": lambda k: k.optimizers.Adagrad(0.1, initial_accumulator_value=0.5,
                                              epsilon=1e-3),
    "adagrad_weight_decay": lambda k: k.optimizers.Adagrad(0.1, weight_decay=0.1),
    "clipnorm": lambda k: k.optimizers.SGD(0.1, clipnorm=0.1),
    "clipvalue": lambda k: k.optimizers.SGD(0.1, clipvalue=0.01),
    "global_clipnorm": lambda k: k.optimizers.Adam(0.01, global_clipnorm=0.1),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_objects_with_keras_arguments(name):
    ours, theirs, got, expected, x, y = _fit_both(OPTIMIZERS[name])
    _assert_same_history(got, expected)
    _assert_same_model(ours, theirs, x, y)


SCHEDULES = {  # (Keras's schedule, minigrad's): the rate changes every step
    "exponential_decay": lambda lib, lr: lib.ExponentialDecay(lr, decay_steps=3,
                                                              decay_rate=0.7),
    "exponential_decay_staircase": lambda lib, lr: lib.ExponentialDecay(
        lr, decay_steps=4, decay_rate=0.5, staircase=True),
    "cosine_decay": lambda lib, lr: lib.CosineDecay(lr, decay_steps=12, alpha=0.1),
}


@pytest.mark.parametrize("optimizer", ["SGD", "Adam", "RMSprop"])
@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
def test_learning_rate_schedules(schedule, optimizer):
    def make(k):
        lib = keras.optimizers.schedules if k is keras else mg.optim
        options = {"momentum": 0.9} if optimizer != "Adam" else {}
        lr = 0.1 if optimizer == "SGD" else 0.01
        return getattr(k.optimizers, optimizer)(SCHEDULES[schedule](lib, lr), **options)
    ours, theirs, got, expected, x, y = _fit_both(make)
    _assert_same_history(got, expected)
    _assert_same_model(ours, theirs, x, y)


def test_optimizer_iterations_count_the_steps():
    ours, theirs, *_ = _fit_both("adam")  # 37 samples in batches of 8: 5 steps an epoch
    assert ours.optimizer.iterations == int(theirs.optimizer.iterations) == 20


# --- losses and metrics by name -------------------------------------------------------------

LOSSES = [  # (loss, metrics, data, last activation)
    ("mse", ["mae", "mse"], "regression", None),
    ("mae", ["mean_squared_error", "mean_absolute_error"], "regression", None),
    ("huber", ["mae"], "regression", None),
    ("kl_divergence", ["categorical_accuracy"], "onehot", "softmax"),
    ("categorical_crossentropy", ["accuracy", "categorical_accuracy"], "onehot", "softmax"),
    ("sparse_categorical_crossentropy", ["accuracy", "sparse_categorical_accuracy"], "sparse",
     "softmax"),
    ("binary_crossentropy", ["binary_accuracy", "auc", "precision", "recall"], "binary",
     "sigmoid"),
]


@pytest.mark.parametrize("loss, metrics, data, activation", LOSSES, ids=[c[0] for c in LOSSES])
def test_losses_and_metrics_by_name_with_validation_split(loss, metrics, data, activation):
    ours, theirs, got, expected, x, y = _fit_both(
        "sgd", loss, metrics, data, activation, epochs=3, validation_split=0.25)
    _assert_same_history(got, expected)
    _assert_same_model(ours, theirs, x, y)


def test_metric_objects():
    # by name, top_k_categorical_accuracy has k=5: Keras's torch backend fails on 3 classes
    ours, theirs, got, expected, x, y = _fit_both(
        "adam", "categorical_crossentropy", lambda k: [
            # named: Keras numbers its objects' default names per process (auc, auc_1, ...)
            k.metrics.TopKCategoricalAccuracy(k=2, name="top2"),
            k.metrics.AUC(num_thresholds=50, name="auc50"),
            k.metrics.Precision(thresholds=0.3, name="p30"),
            k.metrics.Recall(top_k=1, name="recall_top1")],
        "onehot", "softmax", epochs=3, validation_split=0.25)
    _assert_same_history(got, expected)
    _assert_same_model(ours, theirs, x, y)


def test_accuracy_of_several_sigmoid_units_is_binary_accuracy_unlike_keras_3():
    # A deliberate difference: with binary_crossentropy on 3 sigmoid units (multi-label),
    # Keras 3 picks "accuracy" from the shapes alone (CategoricalAccuracy: argmax of labels
    # that are not one-hot); minigrad follows the loss, as Keras 2 did (BinaryAccuracy).
    ours, theirs, got, expected, x, y = _fit_both(
        "sgd", "binary_crossentropy", ["accuracy", "binary_accuracy", "categorical_accuracy"],
        "binary", "sigmoid", epochs=2)
    np.testing.assert_allclose(got.history["accuracy"], expected.history["binary_accuracy"],
                               **HISTORY)
    np.testing.assert_allclose(expected.history["accuracy"],
                               expected.history["categorical_accuracy"], **HISTORY)
    for key in ("loss", "binary_accuracy", "categorical_accuracy"):
        np.testing.assert_allclose(got.history[key], expected.history[key], **HISTORY)


@pytest.mark.parametrize("regularizer", ["l2", "l1", "L1L2"])
def test_weight_penalties_in_the_loss(regularizer):
    def build(k):
        penalty = regularizer if regularizer != "L1L2" else (
            keras.regularizers.L1L2(0.01, 0.02) if k is keras else mg.nn.regularizers.L1L2(
                0.01, 0.02))
        return k.Sequential([k.Input(shape=(6,)), k.layers.Dense(8, activation="relu",
                                                                 kernel_regularizer=penalty),
                             k.layers.Dense(3, activation="softmax")])
    theirs, ours = build(keras), build(mk)
    ours.set_weights(theirs.get_weights())
    x, y = _data("sparse")
    for model in (theirs, ours):
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    fit = dict(FIT, epochs=3, validation_split=0.2)
    _assert_same_history(ours.fit(x, y, **fit), theirs.fit(x, y, **fit))
    _assert_same_model(ours, theirs, x, y)
    weights = np.linspace(0.1, 2.0, len(x)).astype(np.float32)
    expected = theirs.evaluate(x, y, batch_size=5, sample_weight=weights, verbose=0,
                               return_dict=True)
    got = ours.evaluate(x, y, batch_size=5, sample_weight=weights, return_dict=True)
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], **HISTORY, err_msg=key)


# --- batches, weights, validation -----------------------------------------------------------

@pytest.mark.parametrize("batch_size", [5, 8, 12, 36, 37, 64])
def test_batch_norm_and_batches_that_do_not_divide_the_data(batch_size):
    # 37 samples: the last batch holds 2, 5, 1, 1, 37 samples or all of them
    ours, theirs, got, expected, x, y = _fit_both(
        lambda k: k.optimizers.SGD(0.05, momentum=0.5), "mse", ["mae"], batch_norm=True,
        batch_size=batch_size, epochs=3)
    _assert_same_history(got, expected)
    _assert_same_model(ours, theirs, x, y)


def test_validation_data_with_sample_weights():
    rng = np.random.default_rng(5)
    x_val, y_val = _data("sparse", n=11, seed=3)
    w_val = rng.uniform(0.1, 2.0, 11).astype(np.float32)
    ours, theirs, got, expected, x, y = _fit_both(
        "adam", "sparse_categorical_crossentropy", ["accuracy"], "sparse", "softmax",
        validation_data=(x_val, y_val, w_val), batch_size=10)
    _assert_same_history(got, expected)
    _assert_same_model(ours, theirs, x, y)


def test_sample_weight():
    weights = np.random.default_rng(6).uniform(0.0, 3.0, 37).astype(np.float32)
    ours, theirs, got, expected, x, y = _fit_both(
        "rmsprop", "mse", ["mae"], sample_weight=weights, validation_split=0.2)
    _assert_same_history(got, expected)
    _assert_same_model(ours, theirs, x, y)


def test_class_weight():
    ours, theirs, got, expected, x, y = _fit_both(
        "sgd", "sparse_categorical_crossentropy", ["accuracy"], "sparse", "softmax",
        class_weight={0: 0.5, 1: 2.0, 2: 1.25}, validation_split=0.2)
    _assert_same_history(got, expected)
    _assert_same_model(ours, theirs, x, y)


def test_initial_epoch():
    ours, theirs, got, expected, x, y = _fit_both("adam", epochs=5, initial_epoch=2,
                                                  validation_split=0.2)
    _assert_same_history(got, expected)
    assert got.epoch == expected.epoch == [2, 3, 4]
    _assert_same_model(ours, theirs, x, y)


# --- callbacks ------------------------------------------------------------------------------

EARLY_STOPPING = {
    "patience_0": dict(monitor="loss", min_delta=0.05),
    "patience_2": dict(monitor="val_loss", patience=2, min_delta=0.01),
    "restore_best_weights": dict(monitor="val_loss", patience=2, restore_best_weights=True),
    "restore_best_weights_max": dict(monitor="val_mae", mode="max", patience=1,
                                     restore_best_weights=True),
    "baseline": dict(monitor="val_loss", baseline=0.5, patience=2),
    "baseline_reached": dict(monitor="loss", baseline=5.0, patience=1, min_delta=0.02),
    "start_from_epoch": dict(monitor="loss", min_delta=0.05, start_from_epoch=3),
    "val_mae_auto": dict(monitor="val_mae", patience=1, min_delta=0.01),
}


@pytest.mark.parametrize("name", sorted(EARLY_STOPPING))
def test_early_stopping(name):
    options = EARLY_STOPPING[name]
    stoppers = {}

    def callbacks(k):
        stoppers[k] = k.callbacks.EarlyStopping(**options)
        return [stoppers[k]]
    ours, theirs, got, expected, x, y = _fit_both(
        lambda k: k.optimizers.SGD(0.2, momentum=0.9), "mse", ["mae"], epochs=12,
        validation_split=0.3, callbacks=callbacks)
    assert got.epoch == expected.epoch
    _assert_same_history(got, expected)
    assert stoppers[mk].stopped_epoch == stoppers[keras].stopped_epoch > 0  # each case stops
    assert stoppers[mk].best_epoch == stoppers[keras].best_epoch
    _assert_same_model(ours, theirs, x, y)


REDUCE_LR = {
    "patience_1": dict(monitor="loss", factor=0.5, patience=1, min_delta=0.05),
    "cooldown": dict(monitor="val_loss", factor=0.2, patience=1, cooldown=2, min_delta=0.02),
    "min_lr": dict(monitor="val_mae", factor=0.1, patience=1, min_lr=0.01, min_delta=0.05),
}


@pytest.mark.parametrize("name", sorted(REDUCE_LR))
def test_reduce_lr_on_plateau(name):
    ours, theirs, got, expected, x, y = _fit_both(
        lambda k: k.optimizers.SGD(0.2, momentum=0.9), "mse", ["mae"], epochs=8,
        validation_split=0.3,
        callbacks=lambda k: [k.callbacks.ReduceLROnPlateau(**REDUCE_LR[name])])
    _assert_same_history(got, expected)  # "learning_rate" included
    _assert_same_model(ours, theirs, x, y)


def test_learning_rate_scheduler_with_momentum():
    # Keras keeps lr inside the momentum buffer: a changing rate shows whose formula is used
    def schedule(epoch, lr):
        return lr if epoch < 2 else lr * 0.5
    ours, theirs, got, expected, x, y = _fit_both(
        lambda k: k.optimizers.SGD(0.1, momentum=0.9), "mse", ["mae"], epochs=5,
        callbacks=lambda k: [k.callbacks.LearningRateScheduler(schedule)])
    _assert_same_history(got, expected)
    np.testing.assert_allclose(got.history["learning_rate"], [0.1, 0.1, 0.05, 0.025, 0.0125],
                               rtol=1e-6)
    _assert_same_model(ours, theirs, x, y)


CHECKPOINT = {
    "every_epoch": dict(),
    "best_val_loss": dict(save_best_only=True),
    "best_loss_max": dict(save_best_only=True, monitor="loss", mode="max"),
    "best_val_mae_auto": dict(save_best_only=True, monitor="val_mae"),
}


@pytest.mark.parametrize("name", sorted(CHECKPOINT))
def test_model_checkpoint_saves_the_same_epochs(name, tmp_path):
    def callbacks(k):
        folder = tmp_path / k.__name__.replace(".", "_")
        folder.mkdir()
        suffix = "weights.h5" if k is keras else "safetensors"
        return [k.callbacks.ModelCheckpoint(str(folder / f"w-{{epoch:02d}}.{suffix}"),
                                            save_weights_only=True, **CHECKPOINT[name])]
    _fit_both(lambda k: k.optimizers.SGD(0.2, momentum=0.9), "mse", ["mae"], epochs=8,
              validation_split=0.3, callbacks=callbacks)
    saved = {k: sorted(p.name.split(".")[0] for p in (tmp_path / k.__name__.replace(
        ".", "_")).iterdir()) for k in (keras, mk)}
    assert saved[mk] == saved[keras]
    assert saved[mk]


def test_csv_logger_writes_keras_rows(tmp_path):
    paths = {keras: tmp_path / "keras.csv", mk: tmp_path / "minigrad.csv"}
    _fit_both("adam", "mse", ["mae"], epochs=3, validation_split=0.3,
              callbacks=lambda k: [k.callbacks.CSVLogger(str(paths[k]))])
    rows = {}
    for k, path in paths.items():
        with open(path, newline="") as file:
            rows[k] = list(csv.reader(file))
    assert rows[mk][0] == rows[keras][0]  # the header: epoch, then the keys sorted
    assert len(rows[mk]) == len(rows[keras]) == 4
    for ours, theirs in zip(rows[mk][1:], rows[keras][1:]):
        assert ours[0] == theirs[0]
        np.testing.assert_allclose(np.array(ours[1:], float), np.array(theirs[1:], float),
                                   **HISTORY)
