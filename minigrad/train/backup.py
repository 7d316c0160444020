"""Where a running ``fit`` is (:class:`TrainingState`), and writing it to a file and reading it
back, so that :class:`~minigrad.train.callbacks.BackupAndRestore` can resume a killed run
exactly.

A backup is one file of :mod:`minigrad.io`'s format, written atomically: the arrays
``weights/<name>`` (``model.state_dict()``), ``optimizer/<path>`` (its moments) and
``state/<path>`` (arrays of metric states), and the metadata ``content`` ("training backup"),
``optimizer`` (JSON: the optimizer's state with its step counts and schedule position) and
``training_state`` (JSON: epoch, batch, the generators' states -- the data's, the backends'
and those of layers made with a ``seed`` --, the running epoch averages, the History so far and
the other callbacks' states).
"""

import copy
import json
import os

import numpy as np

from ..backends.registry import get_rng_state, set_rng_state
from ..functional.dropout import SeedGenerator
from ..io import ModelFileError, join_arrays, read_tensor_file, split_arrays, write_tensor_file
from .saving import stored_weights, weight_arrays

CONTENT = "training backup"


class TrainingState:
    """Where a ``fit`` is, as ``model.training_state`` while it runs.

    Attributes:
        epoch: the epoch running (0-based); after the last one, the number of epochs run.
        step: how many batches of that epoch are done.
        generators: the NumPy generators that order the data: ``fit``'s shuffling generator
            and a DataLoader's ``rng`` (an iterable with a ``numpy.random.Generator`` attribute
            ``rng``).
        epoch_start: the generators' states when the epoch began (a resumed epoch draws its
            order again from them).
        loss_mean, metrics: the epoch's running averages (None before its first batch).
        history: the :class:`~minigrad.train.history.History` of the finished epochs.
        finished: True once the last epoch (or an early stop) ended without an exception.
    """

    def __init__(self, epoch, generators, history):
        self.epoch, self.step = epoch, 0
        self.generators = [g for g in generators if isinstance(g, np.random.Generator)]
        self.epoch_start = None
        self.loss_mean = self.metrics = None
        self.logs = {}  # the epoch's running logs after its last batch
        self.history = history
        self.finished = False
        self.callbacks = []  # fit's callbacks, whose get_state() a backup holds
        self._metric_states = None  # restored, applied when the epoch's metrics are made
        self._callback_states = None  # restored, applied after on_train_begin

    def begin_epoch(self):
        """Record the generators' states before the epoch draws its order."""
        self.epoch_start = [copy.deepcopy(g.bit_generator.state) for g in self.generators]

    def end_epoch(self):
        """Move to the next epoch's first batch."""
        self.epoch, self.step = self.epoch + 1, 0
        self.loss_mean = self.metrics = None
        self.logs, self._metric_states = {}, None

    def adopt_metrics(self, loss_mean, metrics):
        """Take the epoch's fresh running averages, filled with restored counts if the epoch
        is a resumed one."""
        self.loss_mean, self.metrics = loss_mean, metrics
        if self._metric_states is not None:
            for metric, saved in zip([loss_mean, *metrics], self._metric_states):
                for name, value in saved.items():
                    setattr(metric, name, np.array(value) if isinstance(value, np.ndarray)
                            else value)
            self._metric_states = None

    def restore_callbacks(self):
        """Give the callbacks their restored states (after their ``on_train_begin``, which
        resets them)."""
        saved = self._callback_states or {}
        for key, callback in _keyed(self.callbacks).items():
            if key in saved:
                callback.set_state(saved[key])
        self._callback_states = None

    # --- to and from JSON --------------------------------------------------------------------
    def describe(self, epoch_logs=None):
        """This state as JSON-ready data (NumPy arrays left in it for ``split_arrays``): at the
        current batch, or with ``epoch_logs = (epoch, logs)`` just after that epoch ended."""
        history = {"epoch": list(self.history.epoch),
                   "history": {k: list(v) for k, v in self.history.history.items()}}
        if epoch_logs is not None:
            epoch, logs = epoch_logs
            history["epoch"].append(epoch)
            for name, value in logs.items():
                history["history"].setdefault(name, []).append(value)
            position = {"epoch": epoch + 1, "step": 0, "metrics": None, "logs": {},
                        "generators": [g.bit_generator.state for g in self.generators]}
        else:
            running = [self.loss_mean, *self.metrics] if self.loss_mean is not None else None
            position = {"epoch": self.epoch, "step": self.step, "logs": dict(self.logs),
                        "metrics": None if running is None else [_metric_state(m)
                                                                 for m in running],
                        "generators": self.epoch_start}
        callbacks = {key: c.get_state() for key, c in _keyed(self.callbacks).items()
                     if c.get_state() is not None}
        return _plain({**position, "rng": get_rng_state(), "history": history,
                       "callbacks": callbacks})

    def restore(self, saved):
        """Go back to the position that :meth:`describe` recorded."""
        if len(saved["generators"]) != len(self.generators):
            raise ValueError(f"the backup orders the data with {len(saved['generators'])} "
                             f"generator(s), this fit with {len(self.generators)} (shuffle or "
                             "the data changed?)")
        for generator, state in zip(self.generators, saved["generators"]):
            generator.bit_generator.state = state
        set_rng_state(saved["rng"])
        self.epoch, self.step = int(saved["epoch"]), int(saved["step"])
        self._metric_states = saved["metrics"]
        self._callback_states = dict(saved["callbacks"])
        self.logs = dict(saved["logs"])
        self.history.epoch = list(saved["history"]["epoch"])
        self.history.history = {k: list(v) for k, v in saved["history"]["history"].items()}


def _layer_generators(model):
    """``{layer name: SeedGenerator}``: the random streams of layers made with a ``seed``
    (``Dropout(0.5, seed=1)``), which draw apart from the backends' generators."""
    return {name: module.generator for name, module in model.named_modules()
            if isinstance(getattr(module, "generator", None), SeedGenerator)}


def _keyed(callbacks):
    """``{"EarlyStopping/0": callback, ...}``: each callback by its class and its place among
    those of its class, so that a resumed fit finds the state of each (other callbacks, such
    as one that interrupted the first run, may come and go)."""
    keyed, seen = {}, {}
    for callback in callbacks:
        name = type(callback).__name__
        keyed[f"{name}/{seen.get(name, 0)}"] = callback
        seen[name] = seen.get(name, 0) + 1
    return keyed


def _metric_state(metric):
    """A metric's counts: its attributes that are numbers or arrays (totals, counts,
    confusion counts); restoring them resumes its average."""
    return {name: value for name, value in vars(metric).items()
            if isinstance(value, (int, float, np.number, np.ndarray))
            and not isinstance(value, bool)}


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value.item() if isinstance(value, np.generic) else value


def write_backup(path, model, state, epoch_logs=None):
    """Write ``model``'s weights, its optimizer's state and ``state`` (see
    :meth:`TrainingState.describe`) to ``path``, atomically."""
    arrays = weight_arrays(model)
    described = dict(state.describe(epoch_logs),
                     layer_generators={name: generator.get_state() for name, generator
                                       in _layer_generators(model).items()})
    metadata = {"content": CONTENT,
                "training_state": json.dumps(split_arrays(described, "state", arrays))}
    optimizer_state = model.get_optimizer_state()
    if optimizer_state is not None:
        metadata["optimizer"] = json.dumps({
            "class_name": type(model.optimizer).__name__,
            "state": split_arrays(optimizer_state, "optimizer", arrays)})
    write_tensor_file(path, arrays, metadata)


def read_backup(path, model, state):
    """Load the backup at ``path`` into ``model`` (weights, optimizer) and ``state``.

    Raises :class:`~minigrad.io.ModelFileError` naming the file when it is not a backup or
    does not fit this model and this fit.
    """
    arrays, metadata = read_tensor_file(path)
    path = os.fspath(path)
    if metadata.get("content") != CONTENT:
        raise ModelFileError(f"{path}: not a training backup of BackupAndRestore")
    try:
        saved = join_arrays(json.loads(metadata["training_state"]), arrays)
        model.load_state_dict(stored_weights(arrays))
        if "optimizer" in metadata:
            optimizer = json.loads(metadata["optimizer"])
            if not model.optimizer_built or \
                    type(model.optimizer).__name__ != optimizer["class_name"]:
                raise ValueError(f"it was written with optimizer {optimizer['class_name']}")
            model.set_optimizer_state(join_arrays(optimizer["state"], arrays))
        state.restore(saved)
        generators = _layer_generators(model)
        if set(saved["layer_generators"]) != set(generators):
            raise ValueError(f"it has seeded layers {sorted(saved['layer_generators'])}, the "
                             f"model {sorted(generators)}")
        for name, generator in generators.items():
            generator.set_state(saved["layer_generators"][name])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: this backup does not fit the model or the fit being "
                             f"resumed: {exc}") from None
