"""BackupAndRestore: a fit killed with SIGKILL at random points and started again with the same
command ends with bitwise the weights and History of a run that was never interrupted (Dropout,
BatchNormalization, shuffling, Adam with a schedule); in-process interruptions; the backup's
life cycle and its errors."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad.io import ModelFileError
from minigrad.train import callbacks as cb
from minigrad.train.callbacks import BackupAndRestore, Callback

SCRIPT = Path(__file__).with_name("_resume_fit.py")
BATCHES = 5 * 10  # _resume_fit.py: 5 epochs of 10 batches


def run_script(backup_dir, out, save_freq, kill_after=None):
    """Run _resume_fit.py; with ``kill_after``, SIGKILL it after that many batches. Returns
    (exit code, whether it found a backup to resume from)."""
    process = subprocess.Popen([sys.executable, str(SCRIPT), str(backup_dir), str(out),
                                str(save_freq)], stdout=subprocess.PIPE, text=True)
    batches, resumed = 0, False
    try:
        for line in process.stdout:
            if line.startswith("resuming"):
                resumed = True
                continue
            batches += 1
            if kill_after is not None and batches >= kill_after:
                os.kill(process.pid, signal.SIGKILL)
                break
        return process.wait(timeout=120), resumed
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()


@pytest.mark.parametrize("save_freq", ["epoch", 3])
def test_a_fit_killed_at_random_points_resumes_to_the_same_weights(tmp_path, save_freq):
    reference = tmp_path / "reference.npz"
    assert run_script(tmp_path / "reference-backup", reference, save_freq)[0] == 0
    backup_dir, out = tmp_path / "backup", tmp_path / "resumed.npz"
    rng = np.random.default_rng(11 if save_freq == "epoch" else 12)
    kills = resumes = 0
    most = 25 if save_freq == "epoch" else 12  # batches before a kill: about two backups
    for _ in range(12):
        # a batch takes ~1 ms, so the signal lands anywhere: inside a step, a backup being
        # written, the restore itself
        code, resumed = run_script(backup_dir, out, save_freq,
                                   kill_after=int(rng.integers(1, most)))
        resumes += resumed
        if code == 0:
            break
        assert code == -signal.SIGKILL
        kills += 1
    else:
        code, resumed = run_script(backup_dir, out, save_freq)
        resumes += resumed
        assert code == 0
    print(f"save_freq={save_freq}: {kills} kills, {resumes} runs resumed from a backup")
    assert kills >= 2 and resumes >= 2, "the run was not killed and resumed twice"
    expected, resumed = np.load(reference), np.load(out)
    assert sorted(expected.files) == sorted(resumed.files)
    for name in expected.files:  # bitwise: weights, BN statistics, history, learning rate
        assert expected[name].tobytes() == resumed[name].tobytes(), name
    assert not (backup_dir / "backup.safetensors").exists()  # deleted at the end


class Interrupted(Exception):
    """What StopAt raises."""


class StopAt(Callback):
    """Raise at (epoch, batch), once: an interruption inside the process."""

    def __init__(self, epoch, batch, error=Interrupted):
        super().__init__()
        self.at, self.error, self.fired = (epoch, batch), error, False

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if not self.fired and (self.epoch, batch) == self.at:
            self.fired = True
            raise self.error("interrupted")


def data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 5)).astype("float32"), rng.integers(0, 2, n)


def model_and_fit(x, y, callbacks, seed=0, **fit_args):
    mg.manual_seed(seed)
    # one Dropout draws from the global generator, one from a stream of its own (seed=)
    model = mg.Sequential([mg.nn.Dense(8, activation="relu"), mg.nn.Dropout(0.5),
                           mg.nn.Dense(8, activation="relu"), mg.nn.Dropout(0.3, seed=4),
                           mg.nn.Dense(2, activation="softmax")])
    model.compile(mg.optim.SGD(lr=mg.optim.StepLR(0.1, step_size=4, gamma=0.7), momentum=0.9),
                  "sparse_categorical_crossentropy", metrics=["accuracy"])
    try:
        model.fit(x, y, batch_size=7, epochs=4, verbose=0, seed=1, callbacks=callbacks,
                  **fit_args)
    except Interrupted:
        pass
    return model


def weights(model):
    return [v.numpy().tobytes() for v in model.state_dict().values()]


@pytest.mark.parametrize("save_freq, stop", [("epoch", (2, 3)), (4, (1, 6)), (1, (3, 0))])
def test_an_interrupted_fit_resumes_with_the_same_weights_and_history(tmp_path, save_freq,
                                                                      stop):
    x, y = data()
    uninterrupted = model_and_fit(x, y, [BackupAndRestore(tmp_path / "a", save_freq)])
    backup = BackupAndRestore(tmp_path / "b", save_freq)
    model_and_fit(x, y, [backup, StopAt(*stop)])
    assert (tmp_path / "b" / "backup.safetensors").exists()  # kept after the exception
    resumed = model_and_fit(x, y, [backup])
    assert weights(resumed) == weights(uninterrupted)
    assert resumed.history.epoch == [0, 1, 2, 3]
    assert resumed.history.history == uninterrupted.history.history
    assert resumed.optimizer.lr == uninterrupted.optimizer.lr
    assert not (tmp_path / "b").exists()  # the backup and its empty folder removed


def test_a_resumed_dataloader_epoch_draws_the_same_order(tmp_path):
    x, y = data(n=64)

    def loader():
        return mg.data.DataLoader(mg.data.TensorDataset(x, y), batch_size=8, shuffle=True,
                                  seed=5)

    def fit(callbacks):
        mg.manual_seed(0)
        model = mg.Sequential([mg.nn.Dense(4, activation="relu", input_shape=(5,)),
                               mg.nn.Dropout(0.3), mg.nn.Dense(2, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy")
        try:
            model.fit(loader(), epochs=3, verbose=0, callbacks=callbacks)
        except Interrupted:
            pass
        return model

    expected = fit([BackupAndRestore(tmp_path / "a", save_freq=2)])
    backup = BackupAndRestore(tmp_path / "b", save_freq=2)
    fit([backup, StopAt(1, 5)])
    assert weights(fit([backup])) == weights(expected)


def test_without_restoring_the_generators_the_weights_would_differ(tmp_path):
    # The comparison above can fail: a second fit that starts over (the same seeds, but the
    # epochs it skips not replayed) ends elsewhere.
    x, y = data()
    whole = model_and_fit(x, y, [])
    model_and_fit(x, y, [BackupAndRestore(tmp_path / "b"), StopAt(2, 0)])
    restarted = model_and_fit(x, y, [], initial_epoch=2)
    assert weights(restarted) != weights(whole)


def test_delete_checkpoint_false_keeps_the_backup_and_a_new_fit_ends_at_once(tmp_path):
    x, y = data()
    model_and_fit(x, y, [BackupAndRestore(tmp_path, delete_checkpoint=False)])
    assert (tmp_path / "backup.safetensors").exists()
    again = model_and_fit(x, y, [BackupAndRestore(tmp_path, delete_checkpoint=False)])
    assert again.history.epoch == [0, 1, 2, 3]  # all restored, none run


def test_ctrl_c_keeps_the_backup(tmp_path):
    x, y = data()
    with pytest.raises(KeyboardInterrupt):
        model_and_fit(x, y, [BackupAndRestore(tmp_path / "b", save_freq=2),
                             StopAt(1, 2, KeyboardInterrupt)])
    assert (tmp_path / "b" / "backup.safetensors").exists()


def test_a_backup_of_another_model_is_a_model_file_error(tmp_path):
    x, y = data()
    model_and_fit(x, y, [BackupAndRestore(tmp_path, delete_checkpoint=False)])
    other = mg.Sequential([mg.nn.Dense(3), mg.nn.Dense(2, activation="softmax")])
    other.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ModelFileError, match="backup.safetensors.*does not fit"):
        other.fit(x, y, epochs=1, verbose=0, callbacks=[BackupAndRestore(tmp_path)])


def test_a_model_file_is_not_a_backup(tmp_path):
    x, y = data()
    model = model_and_fit(x, y, [])
    model.save(tmp_path / "backup.safetensors")
    with pytest.raises(ModelFileError, match="not a training backup"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[BackupAndRestore(tmp_path)])


@pytest.mark.parametrize("save_freq", [0, -2, 2.5, True, "batch"])
def test_bad_save_freq(save_freq):
    with pytest.raises(ValueError, match="save_freq"):
        BackupAndRestore("somewhere", save_freq=save_freq)


def test_an_unbuilt_model_fed_batches_cannot_restore(tmp_path):
    x, y = data()
    model_and_fit(x, y, [BackupAndRestore(tmp_path, delete_checkpoint=False)])
    model = mg.Sequential([mg.nn.Dense(8), mg.nn.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    batches = [(x[:8], y[:8])]
    with pytest.raises(RuntimeError, match="build it"):
        model.fit(batches, epochs=1, verbose=0, callbacks=[BackupAndRestore(tmp_path)])


def test_callbacks_with_counters_resume_them(tmp_path):
    # EarlyStopping's patience and best weights and ReduceLROnPlateau's counters are in the
    # backup: the resumed run stops and lowers the rate where the uninterrupted one did.
    x, y = data(n=40)

    def fit(backup_dir, extra=()):
        mg.manual_seed(0)
        model = mg.Sequential([mg.nn.Dense(8, activation="relu"), mg.nn.Dropout(0.5),
                               mg.nn.Dense(2, activation="softmax")])
        model.compile(mg.optim.SGD(lr=0.5), "sparse_categorical_crossentropy")
        callbacks = [BackupAndRestore(backup_dir),
                     cb.EarlyStopping(monitor="loss", patience=2, min_delta=0.01,
                                      restore_best_weights=True),
                     cb.ReduceLROnPlateau(monitor="loss", patience=1, factor=0.5), *extra]
        try:
            model.fit(x, y, batch_size=8, epochs=30, verbose=0, seed=1, callbacks=callbacks)
        except Interrupted:
            pass
        return model, callbacks[1]

    expected, stopping = fit(tmp_path / "a")
    assert stopping.stopped_epoch is not None and expected.optimizer.lr < 0.5
    fit(tmp_path / "b", [StopAt(stopping.stopped_epoch - 1, 2)])
    resumed, resumed_stopping = fit(tmp_path / "b")
    assert resumed_stopping.stopped_epoch == stopping.stopped_epoch
    assert resumed.optimizer.lr == expected.optimizer.lr
    assert weights(resumed) == weights(expected)
    assert resumed.history.history == expected.history.history


def test_the_rng_state_covers_the_cpu_generator_and_the_gpu_dropout_stream(monkeypatch):
    import json
    from types import SimpleNamespace

    from minigrad.backends import registry

    gpu = SimpleNamespace(_dropout_key=7, _dropout_offset=1000)  # no GPU needed to check
    monkeypatch.setattr(registry, "_cuda", gpu)
    state = json.loads(json.dumps(registry.get_rng_state()))  # as a backup stores it
    first = mg.rand(5).numpy()
    gpu._dropout_offset += 4096
    registry.set_rng_state(state)
    assert mg.rand(5).numpy().tobytes() == first.tobytes()
    assert (gpu._dropout_key, gpu._dropout_offset) == (7, 1000)
