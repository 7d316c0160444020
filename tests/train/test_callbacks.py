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


def test_early_stopping_names_a_missing_monitor():
    x, y = regression()
    with pytest.raises(KeyError, match="monitors 'val_accuracy'.*loss"):
        compiled().fit(x, y, epochs=1, verbose=0,
                       callbacks=[cb.EarlyStopping(monitor="val_accuracy")])


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
