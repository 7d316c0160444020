"""Callbacks: small objects that ``fit`` calls at the start and end of training, of each epoch
and of each batch (Keras's hooks), to stop early, save checkpoints, change the learning rate or
log."""

import csv
import math
import os
import warnings

import numpy as np

from . import backup, distributed_fit


class Callback:
    """Base class: override the hooks you need. ``self.model`` is the model being fitted;
    ``logs`` is a dict of the current values ("loss", "accuracy", "val_loss", ...)."""

    #: True to be called after the other callbacks at every hook (as BackupAndRestore is, so
    #: that its backup holds what they did with the epoch).
    runs_last = False
    #: True for a callback that only writes files (checkpoints, logs), which a ``fit`` under
    #: ``mpiexec`` runs on rank 0 alone (see ``docs/distributed.rst``).
    root_only = False

    def __init__(self):
        self.model = None

    def set_model(self, model):
        """Called by ``fit`` before training starts."""
        self.model = model

    def on_train_begin(self, logs=None):
        """Before the first epoch."""

    def on_train_end(self, logs=None):
        """After the last epoch (or an early stop)."""

    def on_epoch_begin(self, epoch, logs=None):
        """Before epoch ``epoch`` (0-based)."""

    def on_epoch_end(self, epoch, logs=None):
        """After epoch ``epoch``, with its training and validation logs."""

    def on_train_batch_begin(self, batch, logs=None):
        """Before training batch ``batch`` of the epoch."""

    def on_train_batch_end(self, batch, logs=None):
        """After training batch ``batch``, with the running epoch averages so far."""

    def get_state(self):
        """What :class:`BackupAndRestore` saves of this callback (counters, best values: JSON
        data and NumPy arrays), or None for nothing; :meth:`set_state` gets it back after
        ``on_train_begin`` of a resumed fit."""
        return None

    def set_state(self, state):
        """Restore what :meth:`get_state` returned."""
        for name, value in state.items():
            setattr(self, name, value)


class CallbackList:
    """Calls every hook on each callback in order (those with ``runs_last`` after the
    others)."""

    def __init__(self, callbacks, model):
        self.callbacks = list(callbacks or [])
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"callbacks must be mg.train.callbacks.Callback objects, got "
                                f"{type(callback).__name__}")
            callback.set_model(model)
        self.callbacks.sort(key=lambda callback: callback.runs_last)  # stable

    def call(self, hook, *args):
        """Call ``hook`` (e.g. ``"on_epoch_end"``) with ``args`` on every callback."""
        for callback in self.callbacks:
            getattr(callback, hook)(*args)

    def call_all(self, hook, *args):
        """Call ``hook`` on every callback even when some raise (the end hooks after an
        interrupted fit: each must close its files); returns the exceptions raised."""
        errors = []
        for callback in self.callbacks:
            try:
                getattr(callback, hook)(*args)
            except Exception as exc:  # noqa: BLE001 -- reported by the caller
                errors.append(exc)
        return errors


def _monitor_mode(monitor, mode):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        increasing = any(word in monitor for word in ("acc", "auc", "precision", "recall", "f1"))
        mode = "max" if increasing else "min"
    return mode


def _monitored(logs, monitor, who, otherwise):
    """The monitored value, or None with Keras's warning when the logs lack it (a script that
    monitors val_loss without validation data keeps training, as in Keras)."""
    if monitor not in (logs or {}):
        available = ", ".join(logs or {}) or "nothing"
        warnings.warn(f"{who} monitors {monitor!r}, which is not in the logs ({available}): "
                      f"{otherwise}. Monitor one of those (val_* needs validation data).",
                      UserWarning, stacklevel=3)
        return None
    return logs[monitor]


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved by ``min_delta`` for ``patience``
    epochs; with ``restore_best_weights`` the model ends with the weights of its best epoch
    (the first monitored epoch's if none was better).

    As Keras 3: the patience count starts again only at an epoch that beats both the best so
    far and ``baseline``, so a run that never reaches the baseline stops after ``patience``
    epochs without improvement on the best (and restores the best of them). Epochs before
    ``start_from_epoch`` are not monitored. ``stopped_epoch`` is the epoch at which training
    stopped, 0 if it did not stop early.
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor, self.patience = monitor, patience
        self.min_delta = abs(min_delta)
        self.mode = _monitor_mode(monitor, mode)
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.stopped_epoch = 0

    def _improved(self, value, reference):
        if reference is None:
            return True
        if self.mode == "min":
            return value < reference - self.min_delta
        return value > reference + self.min_delta

    def on_train_begin(self, logs=None):
        self.wait, self.best, self.best_weights, self.stopped_epoch = 0, None, None, 0
        self.best_epoch = None

    def _keep_weights(self, epoch):
        self.best_epoch = epoch
        if self.restore_best_weights:
            self.best_weights = {k: v.numpy().copy() for k, v in self.model.state_dict().items()}

    def on_epoch_end(self, epoch, logs=None):
        if epoch < self.start_from_epoch:
            return
        value = _monitored(logs, self.monitor, "EarlyStopping", "it does nothing this epoch")
        if value is None:
            return
        if self.restore_best_weights and self.best_weights is None:
            self._keep_weights(epoch)  # the first monitored epoch is the best so far
        self.wait += 1
        if self._improved(value, self.best):
            self.best = value
            self._keep_weights(epoch)
            if self.baseline is None or self._improved(value, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:  # patience 0: stop at the first miss
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def get_state(self):
        return {"wait": self.wait, "best": self.best, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch, "best_weights": self.best_weights}

    def on_train_end(self, logs=None):
        # getattr: also called when fit failed before on_train_begin reached this callback
        if self.restore_best_weights and getattr(self, "best_weights", None) is not None:
            self.model.load_state_dict(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model (or only its weights) after each epoch to ``filepath``, which may hold
    format fields from the logs: ``"ckpt-{epoch:02d}-{val_loss:.3f}.safetensors"``. With
    ``save_best_only`` only improvements of ``monitor`` are saved. Files are written atomically.
    Under ``mpiexec``, rank 0 alone saves.
    """

    root_only = True

    def __init__(self, filepath, monitor="val_loss", save_best_only=False,
                 save_weights_only=False, mode="auto"):
        super().__init__()
        self.filepath, self.monitor = os.fspath(filepath), monitor
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.mode = _monitor_mode(monitor, mode)
        self.best = None

    def get_state(self):
        return {"best": self.best}

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            value = _monitored(logs, self.monitor, "ModelCheckpoint",
                               "it saves this epoch's model as if save_best_only were off")
            better = value is None or self.best is None or (
                value < self.best if self.mode == "min" else value > self.best)
            if not better:
                return
            if value is not None:
                self.best = value
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved for
    ``patience`` epochs (never below ``min_lr``; then wait ``cooldown`` epochs)."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, verbose=0):
        super().__init__()
        if not 0 < factor < 1:
            raise ValueError(f"ReduceLROnPlateau factor must be in (0, 1), got {factor}")
        self.monitor, self.factor, self.patience = monitor, factor, patience
        self.mode = _monitor_mode(monitor, mode)
        self.min_delta, self.cooldown, self.min_lr = min_delta, cooldown, min_lr
        self.verbose = verbose

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.cooldown_counter = None, 0, 0

    def get_state(self):
        return {"best": self.best, "wait": self.wait, "cooldown_counter": self.cooldown_counter}

    def on_epoch_end(self, epoch, logs=None):
        logs["learning_rate"] = self.model.optimizer.lr
        value = _monitored(logs, self.monitor, "ReduceLROnPlateau", "it does nothing this epoch")
        if value is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        better = self.best is None or (value < self.best - self.min_delta if self.mode == "min"
                                       else value > self.best + self.min_delta)
        if better:
            self.best, self.wait = value, 0
            return
        if self.cooldown_counter > 0:
            return
        self.wait += 1
        if self.wait >= self.patience:
            old = self.model.optimizer.lr
            new = max(old * self.factor, self.min_lr)
            if new < old:
                self.model.optimizer.lr = new
                if self.verbose:
                    print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                          f"{new:.3g}")
                # at min_lr the count goes on and no cooldown starts (Keras)
                self.cooldown_counter, self.wait = self.cooldown, 0


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to ``schedule(epoch, lr)``."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = float(self.schedule(epoch, self.model.optimizer.lr))
        if not math.isfinite(lr) or lr < 0:
            raise ValueError(f"LearningRateScheduler: the schedule returned {lr} at epoch {epoch}")
        self.model.optimizer.lr = lr
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr:.3g}")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self.model.optimizer.lr


class CSVLogger(Callback):
    """Append one CSV row per epoch (epoch and every log value) to ``filename`` (under
    ``mpiexec``, rank 0 alone writes it)."""

    root_only = True

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.separator, self.append = os.fspath(filename), separator, append
        self._file = self._writer = None

    def on_train_begin(self, logs=None):
        exists = self.append and os.path.exists(self.filename) and \
            os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._header_written = exists
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        row = {"epoch": epoch, **{k: _plain(v) for k, v in logs.items()}}
        if self._writer is None:
            self._writer = csv.DictWriter(self._file, fieldnames=list(row),
                                          delimiter=self.separator, extrasaction="ignore")
            if not self._header_written:
                self._writer.writeheader()
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


class TerminateOnNaN(Callback):
    """Stop training at the first batch whose loss or gradients are NaN or infinite, before
    that batch's update: the weights (and BatchNormalization's moving statistics) stay those
    of the last finite step. (Keras stops after the bad update.)"""

    #: ``fit`` checks each batch before the optimizer step when a callback asks for it.
    stops_before_nonfinite_update = True

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss) or \
                getattr(self.model, "skipped_nonfinite_update", False):
            print(f"Batch {batch}: invalid loss {loss} (or gradients), terminating training "
                  "before the update")
            self.model.stop_training = True


class BackupAndRestore(Callback):
    """Back up the training state regularly so that a ``fit`` that was killed (kill -9, a
    crash, a lost machine) and is started again with the same command continues where the
    last backup was taken and ends with the same weights, bit for bit, as a run that was never
    interrupted (Keras's ``BackupAndRestore``).

    The backup is one file, ``<backup_dir>/backup.safetensors``, replaced atomically each
    time: the weights and BatchNormalization statistics, the optimizer's state (moments, step
    counts, the position of a learning-rate schedule), the epoch and batch, the state of the
    generators that shuffle the data and draw dropout masks, the epoch's running averages and
    the History so far, and what the other callbacks keep (:meth:`Callback.get_state`:
    EarlyStopping's patience count and best weights, ReduceLROnPlateau's, ModelCheckpoint's
    best value). At the start of ``fit``, an existing backup is loaded and the epochs
    (and batches) it covers are skipped; ``model.history`` then holds every epoch, those before
    the interruption included.

    Args:
        backup_dir: the folder for the backup (made if missing); use it for one run only.
        save_freq: ``"epoch"`` (after every epoch) or a number ``N`` (every ``N`` batches,
            counted across epochs; a resumed run continues within the epoch).
        delete_checkpoint: remove the backup when ``fit`` ends normally (it is kept when
            ``fit`` ends with an exception or Ctrl-C, to resume from).

    The model must be the same and ``fit`` called with the same arguments (with arrays, the
    layers are built from the first batch before the backup is read; with an iterable of
    batches, build the model first). Give :class:`CSVLogger` ``append=True``, or the resumed
    run starts the file again. A DataLoader's shuffling is resumed when it shuffles
    with its ``rng`` (a NumPy generator), as minigrad's does. On a GPU, dropout masks resume
    exactly; numbers drawn with ``mg.rand``/``mg.randn`` there come from cuRAND, whose state
    is not saved.

    >>> backup = BackupAndRestore("runs/mnist-backup")  # doctest: +SKIP
    >>> model.fit(x, y, epochs=10, callbacks=[backup])  # doctest: +SKIP
    """

    runs_last = True  # saves the epoch after EarlyStopping & co. have counted it

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore needs a backup_dir")
        if save_freq != "epoch" and (isinstance(save_freq, bool)
                                     or not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(f"BackupAndRestore: save_freq must be 'epoch' or a number of "
                             f"batches >= 1, got {save_freq!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq, self.delete_checkpoint = save_freq, bool(delete_checkpoint)
        self.path = os.path.join(self.backup_dir, "backup.safetensors")
        self._since_save = 0

    def _state(self):
        state = getattr(self.model, "training_state", None)
        if state is None:
            raise RuntimeError("BackupAndRestore works inside model.fit(callbacks=[...])")
        return state

    def on_train_begin(self, logs=None):
        self._since_save = 0
        if not os.path.exists(self.path):
            return
        if not self.model.optimizer_built and getattr(self.model, "built", True) and \
                any(True for _ in self.model.parameters()):
            self.model.build_optimizer()  # its state is loaded next
        if not self.model.optimizer_built:
            raise RuntimeError(f"BackupAndRestore: there is a backup in {self.backup_dir!r}, "
                               "but the model has no weights yet to load it into; build it "
                               "first (model.build(input_shape)), or fit on arrays")
        backup.read_backup(self.path, self.model, self._state())

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._since_save += 1
        if self._since_save >= self.save_freq:
            self._since_save = 0
            self._save()

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save((epoch, dict(logs or {})))

    def _save(self, epoch_logs=None):
        if not distributed_fit.writes_files(self.model):  # rank 0 writes; every rank reads
            return
        os.makedirs(self.backup_dir, exist_ok=True)
        backup.write_backup(self.path, self.model, self._state(), epoch_logs)

    def on_train_end(self, logs=None):
        if not (self.delete_checkpoint and self._state().finished) or \
                not distributed_fit.writes_files(self.model):
            return
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass
        try:
            os.rmdir(self.backup_dir)  # only if nothing else is in it
        except OSError:
            pass


def _plain(value):
    return float(value) if isinstance(value, (np.floating, np.integer)) else value
