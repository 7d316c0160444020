"""Callbacks: early stopping, checkpoints, learning-rate changes, CSV logs, NaN guard."""

import csv

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.train import callbacks as cb


def compiled(lr=0.01):
    model = mg.Sequential([nn.Dense(8, activation="relu", input_shape=(4,)), nn.Dense(1)])
    model.compile(optimizer=mg.optim.SGD(lr=lr), loss="mse")
    return model


def regression(n=64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4))
    return x, (x @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.3)[:, None]


class Scripted(cb.Callback):
    """Replaces val_loss with a scripted sequence, to drive monitors deterministically."""

    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]


def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    x, y = regression()
    model = compiled()
    seen = {}

    class Snapshot(cb.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen[epoch] = model[0].kernel.numpy().copy()

    stopper = cb.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = model.fit(x, y, epochs=10, verbose=0,
                        callbacks=[Scripted([5, 3, 4, 4, 1, 1]), Snapshot(), stopper])
    assert history.epoch == [0, 1, 2, 3] and stopper.stopped_epoch == 3
    np.testing.assert_array_equal(model[0].kernel.numpy(), seen[1])


def test_a_missing_monitor_is_named_in_a_warning_and_training_goes_on(tmp_path):
    # Keras warns and carries on: a tutorial monitoring val_loss without validation data runs.
    x, y = regression()
    callbacks = [cb.EarlyStopping(monitor="val_accuracy", patience=0),
                 cb.ReduceLROnPlateau(monitor="val_accuracy", patience=0),
                 cb.ModelCheckpoint(str(tmp_path / "m{epoch}.safetensors"),
                                    monitor="val_accuracy", save_best_only=True)]
    model = compiled()
    with pytest.warns(UserWarning, match=r"EarlyStopping monitors 'val_accuracy', which is not "
                                         r"in the logs \(loss"):
        history = model.fit(x, y, epochs=3, verbose=0, callbacks=callbacks)
    assert history.epoch == [0, 1, 2] and callbacks[0].stopped_epoch == 0
    assert history.history["learning_rate"] == [model.optimizer.lr] * 3  # not reduced
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"m{e}.safetensors" for e in (1, 2, 3)]


def test_model_checkpoint_saves_only_improvements(tmp_path):
    x, y = regression()
    path = tmp_path / "best.safetensors"
    saved = []

    class Watch(cb.Callback):
        def on_epoch_end(self, epoch, logs=None):
            saved.append(path.exists() and path.stat().st_mtime_ns)

    model = compiled()
    model.fit(x, y, epochs=3, verbose=0, callbacks=[
        Scripted([2.0, 3.0, 1.0]),
        cb.ModelCheckpoint(path, monitor="val_loss", save_best_only=True), Watch()])
    assert path.exists()
    restored = mg.load_model(path)
    np.testing.assert_array_equal(restored.predict(x), model.predict(x))


def test_model_checkpoint_formats_the_file_name(tmp_path):
    x, y = regression()
    compiled().fit(x, y, epochs=2, verbose=0, callbacks=[
        cb.ModelCheckpoint(str(tmp_path / "w-{epoch:02d}.safetensors"), save_weights_only=True)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w-01.safetensors", "w-02.safetensors"]


def test_reduce_lr_on_plateau():
    x, y = regression()
    model = compiled(lr=0.1)
    model.fit(x, y, epochs=5, verbose=0, callbacks=[
        Scripted([1.0, 1.0, 1.0, 1.0, 1.0]),
        cb.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2)])
    assert model.optimizer.lr == pytest.approx(0.025)


def test_learning_rate_scheduler_sets_the_rate_each_epoch():
    x, y = regression()
    model = compiled()
    history = model.fit(x, y, epochs=3, verbose=0,
                        callbacks=[cb.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))])
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.1 / 3])


def test_csv_logger_writes_a_row_per_epoch(tmp_path):
    x, y = regression()
    path = tmp_path / "log.csv"
    compiled().fit(x, y, epochs=3, verbose=0, callbacks=[cb.CSVLogger(path)])
    rows = list(csv.DictReader(path.open()))
    assert [row["epoch"] for row in rows] == ["0", "1", "2"] and float(rows[-1]["loss"]) > 0


def test_terminate_on_nan_stops_training():
    x, y = regression()
    y[5] = np.nan
    history = compiled().fit(x, y, epochs=5, batch_size=8, verbose=0,
                             callbacks=[cb.TerminateOnNaN()])
    assert len(history.epoch) == 1


def test_history_plot(tmp_path):
    pytest.importorskip("matplotlib", reason="History.plot needs matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    x, y = regression()
    history = compiled().fit(x, y, epochs=2, validation_split=0.25, verbose=0)
    ax = history.plot()
    assert [line.get_label() for line in ax.get_lines()] == ["loss", "val_loss"]


class Snapshots(cb.Callback):
    """The weights and buffers after every batch."""

    def on_train_begin(self, logs=None):
        self.after = []

    def on_train_batch_end(self, batch, logs=None):
        self.after.append({k: v.numpy().copy() for k, v in self.model.state_dict().items()})


def test_terminate_on_nan_stops_before_the_bad_update_keeping_the_last_finite_weights():
    # Keras stops after the update that the NaN loss has already ruined; here the weights
    # (and BatchNormalization's moving statistics) stay those of the last finite batch.
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)), rng.normal(size=(64, 1))
    x[35] = np.nan  # in the fifth batch of 8
    model = mg.Sequential([nn.Dense(8, activation="relu", input_shape=(4,)),
                           nn.BatchNormalization(), nn.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    snapshots = Snapshots()
    history = model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0,
                        callbacks=[cb.TerminateOnNaN(), snapshots])
    assert len(snapshots.after) == 5 and not np.isfinite(history.history["loss"][0])
    final = {k: v.numpy() for k, v in model.state_dict().items()}
    for name, value in final.items():
        assert np.isfinite(value).all(), name
        assert value.tobytes() == snapshots.after[3][name].tobytes(), name
    assert model.skipped_nonfinite_update and model.optimizer.iterations == 4


def test_without_terminate_on_nan_the_bad_update_is_applied():
    # The guard costs a check per batch, so it runs only when TerminateOnNaN asks for it.
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 4)), rng.normal(size=(16, 1))
    x[3] = np.nan
    model = compiled()
    model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    assert not np.isfinite(model.layers[0].kernel.numpy()).all()


class Raise(cb.Callback):
    """Raise ``error`` at the end of epoch ``epoch``."""

    def __init__(self, epoch, error):
        super().__init__()
        self.epoch, self.error = epoch, error

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise self.error


@pytest.mark.parametrize("error", [KeyboardInterrupt, ValueError("a callback failed")])
def test_an_interrupted_fit_keeps_its_history_and_closes_the_csv_log(tmp_path, error):
    x, y = regression()
    model = compiled()
    model.fit(x, y, epochs=4, verbose=0)  # an earlier run, whose History must not stay
    path = tmp_path / "log.csv"
    logger = cb.CSVLogger(path)
    with pytest.raises(error if isinstance(error, type) else type(error)):
        model.fit(x, y, epochs=5, verbose=0, callbacks=[logger, Raise(2, error)])
    assert model.history.epoch == [0, 1]  # epoch 2 raised in on_epoch_end: not recorded
    assert logger._file is None  # on_train_end ran and closed it
    assert len(list(csv.DictReader(path.open()))) == 3  # the CSV logger saw epoch 2 first


def test_an_end_hook_that_fails_after_an_interruption_does_not_hide_it():
    class Broken(cb.Callback):
        def on_train_end(self, logs=None):
            raise OSError("disk full")

    x, y = regression()
    with pytest.raises(KeyboardInterrupt) as caught:
        compiled().fit(x, y, epochs=3, verbose=0,
                       callbacks=[Broken(), Raise(0, KeyboardInterrupt)])
    assert "disk full" in "".join(getattr(caught.value, "__notes__", ["disk full"]))


def test_early_stopping_end_hook_after_a_failed_start():
    class FailsAtStart(cb.Callback):
        def on_train_begin(self, logs=None):
            raise RuntimeError("no")

    stopping = cb.EarlyStopping(monitor="loss", restore_best_weights=True)
    x, y = regression()
    with pytest.raises(RuntimeError, match="no") as caught:
        compiled().fit(x, y, verbose=0, callbacks=[FailsAtStart(), stopping])
    assert not getattr(caught.value, "__notes__", [])
