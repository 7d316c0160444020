"""``Model``: a :class:`~minigrad.nn.Module` with the Keras training API — ``compile``,
``fit``, ``evaluate``, ``predict``, ``save`` — on top of the PyTorch-style module."""

import collections.abc
import copy
import functools
import itertools
import numbers
import warnings
import time

import numpy as np

from .. import dtypes, optim
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..backends import cpu_threads, get_backend
from ..nn import losses as losses_module
from ..nn.module import Layer, Module, eval_mode
from . import batches as batching
from . import callbacks as callbacks_module
from . import metrics as metrics_module
from . import distributed_fit, saving, structures, threads
from .backup import TrainingState
from .history import History
from .loss_checks import warn_if_probabilities_as_logits
from .progress import Progress, resolve_verbose



def _gives_blas_back(method):
    """``method``, then NumPy's BLAS given back its thread count if minigrad's CPU threads set
    it to one meanwhile (see ``minigrad.backends.cpu_threads``): the program's own NumPy
    products after ``fit`` or ``evaluate`` run on every thread again."""
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        finally:
            cpu_threads.restore_blas()
    return wrapper

class Model(Module):
    """A module that can be compiled and fitted, as a Keras model.

    Subclass it like a :class:`~minigrad.nn.Module` (define ``forward``), or use
    :class:`Sequential`. Then::

        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        history = model.fit(x_train, y_train, batch_size=128, epochs=5,
                            validation_split=0.1)
        loss, accuracy = model.evaluate(x_test, y_test)
        probabilities = model.predict(x_test)
    """

    #: Set to True by a callback (EarlyStopping, TerminateOnNaN) to end ``fit`` after the
    #: current batch or epoch.
    stop_training = False
    #: The distributed side of the fit under way (a DistributedFit under mpiexec), else None.
    _distributed_fit = None

    def __new__(cls, *args, **kwargs):
        # keras.Model(inputs, outputs): the functional API builds a graph model instead.
        if cls is Model and (args or "inputs" in kwargs):
            from .functional import Functional
            return super().__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *args, name=None, **kwargs):
        super().__init__()  # a Keras-style subclass may pass name=... (and defines call())
        if name is not None:
            self.name = name

    # --- compile ----------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, weighted_metrics=None):
        """Choose the optimizer (a name such as ``"adam"`` or an optimizer object), the loss (a
        name such as ``"sparse_categorical_crossentropy"``, a loss object or a function
        ``loss(y_true, y_pred)``) and the metrics (names such as ``"accuracy"`` or metric
        objects) that ``fit`` and ``evaluate`` use.

        As in Keras 3, ``metrics`` ignore ``sample_weight`` and ``class_weight``; the metrics of
        ``weighted_metrics`` count each sample with its weight. A weighted metric whose name
        is already taken is logged as ``weighted_<name>`` (``compile(metrics=["accuracy"],
        weighted_metrics=["accuracy"])`` logs ``accuracy`` and ``weighted_accuracy``)."""
        if loss is None:
            raise ValueError("compile() needs a loss, e.g. loss='sparse_categorical_crossentropy'")
        metrics = _metric_list(metrics, "metrics")
        weighted_metrics = _metric_list(weighted_metrics, "weighted_metrics")
        self.loss = losses_module.get(loss)
        warn_if_probabilities_as_logits(self, self.loss)
        # A misspelt optimizer or metric fails here, not after the first batch of fit.
        optim.get(optimizer)
        for spec in metrics + weighted_metrics:
            metrics_module.get(spec, loss=loss)
        self.optimizer = optimizer
        self._optimizer_ready = False
        self._metric_specs = metrics + weighted_metrics
        self._unweighted_count = len(metrics)  # the first ones; the rest are weighted
        self._loss_identifier = loss
        self._compile_config = _compile_config(optimizer, loss, metrics, weighted_metrics)
        self.compiled = True

    def _require_compiled(self, method):
        if not getattr(self, "compiled", False):
            raise RuntimeError(f"{method}() needs a compiled model: call model.compile(optimizer, "
                               "loss, metrics) first")

    def _prepare(self, first_x):
        """Build lazy layers with a first batch, then make the optimizer from the parameters."""
        if not getattr(self, "built", True) or not any(True for _ in self.parameters()):
            with eval_mode(self):
                self(first_x)
        self.build_optimizer()

    def build_optimizer(self):
        """The optimizer of this model's parameters, made from what ``compile`` was given (a
        name, or an optimizer made without parameters) on the first call; ``fit`` calls it
        once the layers have their weights. Returns ``self.optimizer``."""
        self._require_compiled("build_optimizer")
        frozen = next((m for m in self.modules() if getattr(m, "inference_only", False)), None)
        if frozen is not None:  # a quantized layer (mg.quantize): its weights have no gradient
            raise TypeError(f"{getattr(self, 'name', type(self).__name__)} cannot be trained: "
                            f"layer {frozen.name!r} ({type(frozen).__name__}) is "
                            "inference-only (quantized weights); train the float model and "
                            "quantize it again")
        if not self._optimizer_ready:
            spec = self.optimizer
            already_bound = isinstance(spec, optim.Optimizer) and spec.param_groups
            self.optimizer = spec if already_bound else optim.get(spec,
                                                                  params=list(self.parameters()))
            self._optimizer_ready = True
        return self.optimizer

    @property
    def optimizer_built(self):
        """True once :meth:`build_optimizer` has made the optimizer (after the first step of
        ``fit``, or after loading a saved optimizer state)."""
        return bool(getattr(self, "_optimizer_ready", False))

    def get_optimizer_state(self):
        """The optimizer's ``state_dict()`` (step counts, moment estimates, ...), or None when
        the model is not compiled or its optimizer is not made yet (nothing to save)."""
        return self.optimizer.state_dict() if self.optimizer_built else None

    def set_optimizer_state(self, state):
        """Make the optimizer (:meth:`build_optimizer`) and load ``state``, as returned by
        :meth:`get_optimizer_state`, into it."""
        self.build_optimizer().load_state_dict(state)

    def get_compile_config(self):
        """``compile()``'s arguments as JSON (``{"optimizer": ..., "loss": ..., "metrics":
        [...]}``) so that a loaded model can be compiled again; None when the model is not
        compiled or one of them is an object or function that cannot be described by name and
        config."""
        return getattr(self, "_compile_config", None)

    def _make_metrics(self, output_shape, copies=False):
        """Fresh metrics for one epoch (or one evaluate), those of ``metrics`` then those of
        ``weighted_metrics``: a metric object the user passed is reused, so its counts are
        reset first -- or, with ``copies`` (evaluate, which threads may run at once), copied so
        that each call counts on its own."""
        made = []
        for index, spec in enumerate(self._metric_specs):
            if isinstance(spec, metrics_module.Metric) and (
                    copies or spec in self._metric_specs[:index]):  # one object in both lists
                spec = copy.deepcopy(spec)
            metric = metrics_module.get(spec, loss=self._loss_identifier,
                                              output_shape=output_shape)
            metric.reset_state()
            made.append(metric)
        return made

    def _update_metrics(self, metrics, y, y_pred, sample_weight):
        """Add a batch to the metrics made by :meth:`_make_metrics`: only the weighted ones
        see ``sample_weight`` (Keras 3)."""
        plain = getattr(self, "_unweighted_count", len(metrics))
        for index, metric in enumerate(metrics):
            metric.update_state(y, y_pred, sample_weight=sample_weight if index >= plain
                                else None)

    def _metric_logs(self, metrics):
        """``{name: value}`` of the metrics, named as Keras names them: a repeated name gets
        ``_1``, ``_2``, ...; a weighted metric whose name is taken becomes ``weighted_<name>``."""
        plain = getattr(self, "_unweighted_count", len(metrics))
        logs = {"loss": None}
        for index, metric in enumerate(metrics):
            name = metric.name
            if name in logs and index >= plain:
                output = getattr(metric, "output_name", None)  # a model with several outputs
                name = f"{output}_weighted_{name[len(output) + 1:]}" if output \
                    else f"weighted_{name}"
            if name in logs:
                name = next(f"{name}_{n}" for n in itertools.count(1) if f"{name}_{n}" not in logs)
            logs[name] = metric.result()
        del logs["loss"]
        return logs

    # --- the steps --------------------------------------------------------------------------
    def __call__(self, *inputs, **kwargs):
        # Refused from another thread while fit trains the model (see threads.py).
        with threads.inference(self, f"calling {type(self).__name__}"):
            return super().__call__(*inputs, **kwargs)

    def backend_and_dtype(self):
        """(backend, float dtype) that inputs are converted to: the model's device and the
        dtype of its parameters (float32 before any exists)."""
        backend = self._device or get_backend("cpu")
        float_dtype = next((p.dtype for p in self.parameters()), dtypes.default_float)
        return backend, float_dtype

    def _loss_value(self, y, y_pred, sample_weight):
        value = self.loss(y, y_pred, sample_weight=sample_weight)
        penalty = self.regularization_loss()
        return value + penalty if isinstance(penalty, Tensor) else value

    def train_step(self, x, y, sample_weight=None):
        """One optimization step on a batch of tensors; returns (loss tensor, predictions).

        When a callback asks for it (:class:`~minigrad.train.callbacks.TerminateOnNaN`), a
        batch whose loss or gradients are not finite is not applied: the weights and buffers
        stay as they were, ``skipped_nonfinite_update`` is set and training stops."""
        guard = getattr(self, "_guard_nonfinite", False)
        buffers = [(b, b.data.copy()) for _, b in self.named_buffers()] if guard else None
        y_pred = self(x)
        loss = self._loss_value(y, y_pred, sample_weight)
        self.optimizer.zero_grad()
        loss.backward()
        if self._distributed_fit is not None:  # averaged with the other ranks' gradients
            self._distributed_fit.average_gradients(self, loss, structures.batch_length(x))
        if guard and not _finite_step(loss, self.parameters()):
            for buffer, before in buffers:  # BatchNormalization's statistics saw the batch
                buffer.data[...] = before
            self.skipped_nonfinite_update = True
            self.stop_training = True
            return loss, y_pred
        self.optimizer.step()
        return loss, y_pred

    # --- fit / evaluate / predict -----------------------------------------------------------
    @threads.trains_alone  # inference from other threads is refused while fit runs
    @_gives_blas_back
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, seed=None, steps_per_epoch=None,
            validation_steps=None):
        """Train for ``epochs`` epochs on ``x`` and ``y`` (NumPy arrays or tensors, cut into
        batches of ``batch_size``, default 32), or on an iterable of ``(x, y)`` batches such as
        a DataLoader (then ``y`` is None). Returns a
        :class:`~minigrad.train.history.History`, also kept as ``model.history``.

        validation_data: ``(x_val, y_val)`` evaluated after each epoch; validation_split: the
        fraction of the arrays (taken from the end, before shuffling) to hold out instead.
        shuffle: a new order each epoch (seeded by ``seed``). class_weight: ``{class: weight}``
        turned into per-sample weights (also for batches (x, y) of an iterable). verbose: 0
        silent, 1 progress bar, 2 a line per epoch.

        ``x`` may also be a generator (or any iterator), a DataLoader, or an object with
        ``__getitem__`` and ``__len__`` giving batches by index (Keras's ``PyDataset``), each
        batch ``x``, ``(x, y)`` or ``(x, y, sample_weight)``. ``steps_per_epoch``: an epoch is
        that many batches, taken from a pass that goes on across epochs (an endless generator
        needs it; without it an epoch reads until the data ends). A generator that runs out
        before ``steps_per_epoch * epochs`` batches ends training with a warning, after the
        epoch it ran out in. ``validation_data`` may be such an iterable too, and
        ``validation_steps`` the batches of it evaluated after each epoch. With arrays,
        ``steps_per_epoch`` and no ``batch_size``, the batches are the arrays cut in
        ``steps_per_epoch`` (Keras).

        Arguments out of range (``batch_size=0``, ``epochs=-1``, empty data, ``x`` and ``y``
        of different lengths, ...) are a ValueError naming the argument. When training ends
        with an exception or Ctrl-C, ``model.history`` keeps the epochs that finished and
        every callback's ``on_train_end`` runs (files are closed) before the exception goes
        on.
        """
        self._require_compiled("fit")
        verbose = resolve_verbose(verbose)
        arrays = isinstance(x, (np.ndarray, Tensor)) or structures.is_structure(x)
        if batch_size is None and arrays and steps_per_epoch:  # Keras: the arrays in N steps
            steps = batching.check_count(steps_per_epoch, "steps_per_epoch", minimum=1)
            batch_size = max(1, -(-structures.batch_length(x) // steps))
        batch_size = batching.check_batch_size(batch_size)
        epochs = batching.check_count(epochs, "epochs")
        initial_epoch = batching.check_count(initial_epoch, "initial_epoch")
        validation_split = batching.check_fraction(validation_split)
        if x is None:
            raise ValueError("fit() needs training data x (arrays, or an iterable of batches)")
        if arrays and y is None:
            raise ValueError("fit() needs targets y with array inputs x")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise ValueError(f"seed must be an integer or None, got {seed!r}")
        unweighted_validation = False
        if class_weight is not None:
            if not isinstance(class_weight, dict):
                raise ValueError(f"class_weight must be a dict {{class: weight}}, got "
                                 f"{type(class_weight).__name__}")
            if sample_weight is not None:
                raise ValueError("give class_weight or sample_weight, not both")
            if arrays:
                sample_weight = batching.class_weights_to_sample_weights(y, class_weight)
                class_weight = None  # done; an iterable's batches get theirs one by one
                unweighted_validation = True
        if validation_data is not None:
            validation_data = _validation_arrays(validation_data)
        elif validation_split:
            (x, y, sample_weight), validation_data = batching.split_validation(
                x, y, sample_weight, validation_split)
            if unweighted_validation:  # class_weight weighs the training samples only (Keras)
                validation_data = validation_data[:2] + (None,)
        run = distributed_fit.for_this_process()  # None unless started by mpiexec or srun
        if run is not None:  # one shuffled order on every rank; each takes its slice of it
            seed = run.shared_seed(seed)
            if validation_data is not None:
                validation_data = run.shard_validation(validation_data)
        rng = np.random.default_rng(seed)
        source = batching.batches(x, y, sample_weight, batch_size * (run.size if run else 1),
                                  shuffle, rng, class_weight)
        train_batches = batching.Epochs(source if run is None else run.shard_training(source),
                                        steps_per_epoch, "steps_per_epoch")
        validation = None if validation_data is None else batching.Epochs(
            batching.batches(*validation_data, batch_size=batch_size), validation_steps,
            "validation_steps")
        backend, float_dtype = self.backend_and_dtype()
        if arrays and not self._optimizer_ready:
            # Build before on_train_begin, so that a backup can be loaded into the weights.
            first = structures.map_structure(lambda a: a[:batch_size], train_batches.source.x)
            self._prepare(batching.to_tensor(first, backend, float_dtype))
            backend, float_dtype = self.backend_and_dtype()
        if run is not None:
            run.start(self)  # rank 0's weights everywhere
            callbacks = run.callbacks_of_this_rank(callbacks)  # files: rank 0's alone

        history = History()
        history.params = {"verbose": verbose, "epochs": epochs,
                          "steps": train_batches.batch_count()}
        state = TrainingState(initial_epoch, [rng, getattr(x, "rng", None)], history)
        callback_list = callbacks_module.CallbackList(callbacks, self)
        self.stop_training = False
        self.skipped_nonfinite_update = False
        self._guard_nonfinite = any(getattr(c, "stops_before_nonfinite_update", False)
                                    for c in callback_list.callbacks)
        self.training_state, self.history = state, history
        state.callbacks = callback_list.callbacks
        self._distributed_fit = run
        try:
            callback_list.call("on_train_begin", {})
            state.restore_callbacks()  # from a backup, if one was loaded
            if run is not None:
                run.seed_dropout_per_rank(self)
            while state.epoch < epochs and not self.stop_training:
                epoch = state.epoch
                if state.step == 0 and epoch > initial_epoch and not train_batches.has_more():
                    _warn_ran_out("x", epoch, steps_per_epoch, epochs - initial_epoch)
                    break  # a generator used up: no empty epoch
                state.begin_epoch()
                callback_list.call("on_epoch_begin", epoch, {})
                logs, progress, seconds = self._train_epoch(
                    train_batches, state, epochs,
                    verbose if distributed_fit.writes_files(self) else 0, callback_list,
                    backend, float_dtype)
                if train_batches.ran_short:
                    _warn_ran_out("x", epoch, steps_per_epoch, epochs - initial_epoch,
                                  train_batches)
                    self.stop_training = self.stop_training or train_batches.exhausted
                if validation is not None and not self.stop_training:
                    validation.close()  # a new pass each time (Keras): not for a generator
                    val = self._evaluate_batches(validation, 0, "Validate", across_ranks=True)
                    validation.end_epoch()
                    if validation.ran_short or not val:
                        _warn_ran_out("validation_data", epoch, validation_steps, None,
                                      validation)
                        self.stop_training = self.stop_training or validation.exhausted
                    logs.update({f"val_{name}": value for name, value in val.items()})
                progress.close(logs, seconds)  # one line per epoch, validation included (Keras)
                callback_list.call("on_epoch_end", epoch, logs)
                history.append(epoch, logs)
                state.end_epoch()
                train_batches.end_epoch()
            state.finished = True
        except BaseException as exc:
            # Keep what was done, close what callbacks opened, then let the exception go on.
            for error in callback_list.call_all("on_train_end", {}):
                if hasattr(exc, "add_note"):
                    exc.add_note(f"and on_train_end raised {type(error).__name__}: {error}")
            if run is not None:  # the other ranks would wait for this one for ever
                run.abort(exc)
            raise
        else:
            callback_list.call("on_train_end", {})
        finally:
            self._guard_nonfinite = False
            self._distributed_fit = None
            self.training_state = None
            train_batches.close()
            if validation is not None:
                validation.close()
        return history

    def _train_epoch(self, train_batches, state, epochs, verbose, callback_list, backend,
                     float_dtype):
        """Train on the batches of epoch ``state.epoch`` from batch ``state.step`` on (a
        resumed epoch starts past 0); returns (logs, progress display, seconds)."""
        self.train()
        first_step = state.step
        progress = Progress(verbose, train_batches.batch_count(),
                            f"Epoch {state.epoch + 1}/{epochs}")
        start = time.perf_counter()
        logs = dict(state.logs)
        for step, (xb, yb, wb) in enumerate(train_batches.iter_from(first_step), first_step):
            callback_list.call("on_train_batch_begin", step, {})
            xb, yb, wb = (batching.to_tensor(a, backend, float_dtype) for a in (xb, yb, wb))
            run = self._distributed_fit
            if not self._optimizer_ready:
                self._prepare(xb)
                if run is not None:  # built from this rank's batch: rank 0's weights for all
                    run.start(self)
            batch_size = structures.batch_length(xb)
            if run is not None and batch_size == 0:  # no sample of the short last batch
                run.step_without_samples(self)
                loss_value = logs.get("loss")
            else:
                loss, y_pred = self.train_step(xb, yb, wb)
                if state.loss_mean is None:
                    state.adopt_metrics(metrics_module.Mean(name="loss"),
                                        self._make_metrics(tuple(y_pred.shape)))
                loss_value = loss.item()  # one copy from the device per batch, used twice
                state.loss_mean.update_state(loss_value, sample_weight=batch_size)
                with no_grad():
                    self._update_metrics(state.metrics, yb, y_pred.detach(), wb)
                logs = {"loss": state.loss_mean.result(), **self._metric_logs(state.metrics)}
            state.step, state.logs = step + 1, logs
            progress.update(logs)
            callback_list.call("on_train_batch_end", step, dict(logs, loss=loss_value))
            if run is not None:  # a callback on one rank stops them all
                self.stop_training = run.agree_to_stop(self.stop_training)
            if self.stop_training:
                break
        if state.step == 0:
            raise ValueError("fit() got no training batches: the data is empty")
        if self._distributed_fit is not None:  # the epoch's figures over every rank's samples
            logs = self._distributed_fit.epoch_logs(self, state)
        return dict(logs), progress, time.perf_counter() - start

    @_gives_blas_back
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, return_dict=False):
        """The loss and metrics over ``x`` and ``y`` (exact over all samples, not an average of
        batch values), in evaluation mode without gradients. Returns the loss alone if there
        are no metrics, else ``[loss, metric, ...]``, or a dict with ``return_dict=True``.

        ``x`` may be an iterable of batches as in :meth:`fit`; ``steps``: evaluate that many
        batches only (an endless generator needs it; one that runs out first is a warning).

        Safe to call from several threads at once, as :meth:`predict`; metric objects given
        to ``compile`` are copied for each call (``fit`` updates them, evaluate does not)."""
        self._require_compiled("evaluate")
        verbose = resolve_verbose(verbose)
        eval_batches = batching.Epochs(batching.batches(
            x, y, sample_weight, batching.check_batch_size(batch_size), False), steps)
        try:
            logs = self._evaluate_batches(eval_batches, verbose, "Evaluate")
        finally:
            eval_batches.close()
        if eval_batches.ran_short:
            _warn_ran_out("x", None, steps, None, eval_batches, "evaluate()")
        if not logs:
            raise ValueError("evaluate() got no samples")
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def _evaluate_batches(self, eval_batches, verbose, description, across_ranks=False):
        """The logs (loss and metrics) over one epoch of ``eval_batches`` (an
        :class:`~minigrad.train.batches.Epochs`); {} when it gave no batch. ``across_ranks``:
        in a distributed fit, over every rank's part of the data."""
        backend, float_dtype = self.backend_and_dtype()
        loss_mean = metrics_module.Mean(name="loss")
        metrics = None
        progress = Progress(verbose, eval_batches.batch_count(), description)
        start = time.perf_counter()
        logs = {}
        with threads.inference(self, "evaluate()"), eval_mode(self):
            for xb, yb, wb in eval_batches:
                xb, yb, wb = (batching.to_tensor(a, backend, float_dtype) for a in (xb, yb, wb))
                y_pred = self(xb)
                loss = self._loss_value(yb, y_pred, wb)
                if metrics is None:
                    metrics = self._make_metrics(tuple(y_pred.shape), copies=True)
                loss_mean.update_state(loss.item(), sample_weight=structures.batch_length(xb))
                self._update_metrics(metrics, yb, y_pred, wb)
                logs = {"loss": loss_mean.result(), **self._metric_logs(metrics)}
                progress.update(logs)
        if across_ranks and self._distributed_fit is not None and metrics is not None:
            logs = self._distributed_fit.validation_logs(self, loss_mean, metrics, logs)
        progress.close(logs, time.perf_counter() - start)
        return logs

    def predict(self, x, batch_size=None, verbose=0, steps=None):
        """The model's outputs for ``x`` (an array, a tensor or an iterable of batches), batch by
        batch in evaluation mode without gradients, as one NumPy array on the host.

        Safe to call from any number of threads at once: the evaluation mode is per thread
        (:func:`~minigrad.nn.module.eval_mode`), nothing in the model changes, and each call
        gives bitwise the answer of a call alone. While ``fit`` trains the model in another
        thread, predict raises RuntimeError (see :mod:`minigrad.train.threads`).

        ``steps``: predict that many batches only (an endless generator needs it); batches
        ``(x, y)`` of an iterable give the outputs for their x."""
        verbose = resolve_verbose(verbose)
        predict_batches = batching.Epochs(batching.batches(
            x, None, None, batching.check_batch_size(batch_size), False), steps)
        backend, float_dtype = self.backend_and_dtype()
        progress = Progress(verbose, predict_batches.batch_count(), "Predict")
        start = time.perf_counter()
        outputs = []
        try:
            with threads.inference(self, "predict()"), eval_mode(self):
                for xb, _, _ in predict_batches:
                    outputs.append(self(batching.to_tensor(xb, backend, float_dtype)).numpy())
                    progress.update({})
        finally:
            predict_batches.close()
        progress.close({}, time.perf_counter() - start)
        if predict_batches.ran_short:
            _warn_ran_out("x", None, steps, None, predict_batches, "predict()")
        if not outputs:
            raise ValueError("predict() got no samples")
        return structures.concatenate(outputs)

    # --- one batch at a time (Keras's *_on_batch) -------------------------------------------
    @threads.trains_alone
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False, reset_metrics=True):
        """One optimization step on the batch ``x``, ``y`` (arrays or tensors, or lists/dicts of
        them for several inputs or outputs), as Keras's ``train_on_batch``: for loops that
        feed batches themselves (new data arriving, GANs, reinforcement learning).

        Returns the loss of the batch -- computed before the step, as in ``fit`` -- alone if
        the model has no metrics, else ``[loss, metric, ...]``, or a dict with
        ``return_dict=True``. The metrics are those of this batch (Keras 3: metrics are reset
        at each call); with ``reset_metrics=False`` (Keras 2's option) they go on counting
        from the previous such call of ``train_on_batch`` or ``test_on_batch`` until
        :meth:`reset_metrics` or a call with ``reset_metrics=True``.

        ``sample_weight``: a weight per sample; ``class_weight``: ``{class: weight}`` turned
        into per-sample weights (not both). The optimizer is made at the first call and keeps
        its state across calls and ``fit`` (and across ``save``/``load_model``).

        >>> model = mg.Sequential([mg.nn.Dense(1, input_shape=(2,))])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> loss = model.train_on_batch(np.ones((4, 2)), np.zeros((4, 1)))
        >>> model.optimizer.iterations
        1
        """
        self._require_compiled("train_on_batch")
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError("train_on_batch: give class_weight or sample_weight, not both")
            if not isinstance(class_weight, dict):
                raise ValueError(f"class_weight must be a dict {{class: weight}}, got "
                                 f"{type(class_weight).__name__}")
            sample_weight = batching.class_weights_to_sample_weights(y, class_weight)
        xb, yb, wb = self._one_batch(x, y, sample_weight, "train_on_batch")
        if not self._optimizer_ready:
            self._prepare(xb)
            xb, yb, wb = self._one_batch(x, y, sample_weight, "train_on_batch")
        self.train()
        loss, y_pred = self.train_step(xb, yb, wb)
        y_pred = structures.map_structure(lambda output: output.detach(), y_pred)
        return self._on_batch_result(loss, xb, yb, y_pred, wb, return_dict, reset_metrics)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False,
                      reset_metrics=True):
        """The loss and metrics of the batch ``x``, ``y`` in evaluation mode without gradients
        (Keras's ``test_on_batch``); returns and counts as :meth:`train_on_batch` does, and
        changes nothing in the model."""
        self._require_compiled("test_on_batch")
        xb, yb, wb = self._one_batch(x, y, sample_weight, "test_on_batch")
        with threads.inference(self, "test_on_batch()"), eval_mode(self):
            y_pred = self(xb)
            loss = self._loss_value(yb, y_pred, wb)
        return self._on_batch_result(loss, xb, yb, y_pred, wb, return_dict, reset_metrics)

    def predict_on_batch(self, x):
        """The model's outputs for the batch ``x`` as NumPy arrays, in evaluation mode without
        gradients (Keras's ``predict_on_batch``: :meth:`predict` without cutting ``x`` into
        batches).

        >>> model = mg.Sequential([mg.nn.Dense(3, input_shape=(2,))])
        >>> model.predict_on_batch(np.ones((4, 2))).shape
        (4, 3)
        """
        xb, _, _ = self._one_batch(x, None, None, "predict_on_batch")
        with threads.inference(self, "predict_on_batch()"), eval_mode(self):
            return structures.map_structure(lambda output: output.numpy(), self(xb))

    def reset_metrics(self):
        """Forget what :meth:`train_on_batch` and :meth:`test_on_batch` counted with
        ``reset_metrics=False`` (Keras's ``reset_metrics``)."""
        self._on_batch_metrics = None

    def _one_batch(self, x, y, sample_weight, method):
        """``x``, ``y``, ``sample_weight`` of a ``*_on_batch`` call as tensors on the model's
        device, checked as ``fit`` checks its arrays."""
        if x is None:
            raise ValueError(f"{method}() needs a batch x")
        if method != "predict_on_batch" and y is None:
            raise ValueError(f"{method}() needs the targets y of the batch")
        if not (isinstance(x, (np.ndarray, Tensor)) or structures.is_structure(x)):
            x = np.asarray(x)  # a list of samples, as Keras takes it
        source = batching.batches(x, y, sample_weight, max(1, structures.batch_length(x)))
        xb, yb, wb = next(iter(source))
        backend, float_dtype = self.backend_and_dtype()
        return tuple(batching.to_tensor(a, backend, float_dtype) for a in (xb, yb, wb))

    def _on_batch_result(self, loss, xb, yb, y_pred, wb, return_dict, reset):
        """The logs of a ``*_on_batch`` call, as Keras returns them."""
        counting = None if reset else getattr(self, "_on_batch_metrics", None)
        if counting is None:
            counting = (metrics_module.Mean(name="loss"), self._make_metrics(
                tuple(structures.leaves(y_pred)[0].shape), copies=True))
        loss_mean, metrics = counting
        loss_mean.update_state(loss.item(), sample_weight=structures.batch_length(xb))
        with no_grad():
            self._update_metrics(metrics, yb, y_pred, wb)
        self._on_batch_metrics = None if reset else counting
        logs = {"loss": loss_mean.result(), **self._metric_logs(metrics)}
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    # --- saving -----------------------------------------------------------------------------
    def save(self, path, include_optimizer=True):
        """Save architecture, weights and optimizer state to one file, atomically; load it with
        :func:`mg.load_model <minigrad.train.load_model>`."""
        saving.save_model(self, path, include_optimizer=include_optimizer)

    def save_weights(self, path):
        """Save only the weights (a safetensors file), atomically."""
        saving.save_weights(self, path)

    def load_weights(self, path):
        """Load weights saved by :meth:`save_weights` (or :meth:`save`) into this model, which
        must have the same layers; returns the model."""
        saving.load_weights(self, path)
        return self

    def get_architecture(self):
        """What :func:`mg.load_model <minigrad.train.load_model>` rebuilds this model from
        (JSON-serializable).

        Only a :class:`Sequential` of ``minigrad.nn`` layers describes itself; a subclassed
        model is code, so this raises TypeError pointing to ``save_weights`` (rebuild the model
        in code, then ``load_weights``)."""
        raise TypeError(f"save() stores the architecture of Sequential models built from "
                        f"minigrad.nn layers; for a {type(self).__name__} use save_weights() "
                        "and rebuild the model in code")

    def summary(self, print_fn=print):
        """Print a table of the layers, their output shapes and parameter counts (as Keras's
        ``model.summary()``); returns the text."""
        rows = [("Layer (type)", "Output Shape", "Param #")]
        for name, module in _summary_rows(self):
            label = f"{getattr(module, 'name', name)} ({type(module).__name__})"
            shape = getattr(module, "output_shape", None)
            count = module.count_params() + sum(b.size for _, b in module.named_buffers())
            rows.append((label, str(shape) if shape is not None else "(not built)", f"{count:,}"))
        widths = [max(len(row[i]) for row in rows) + 2 for i in range(3)]
        rule = "-" * sum(widths)
        lines = [f'Model: "{getattr(self, "name", type(self).__name__)}"', rule,
                 "".join(cell.ljust(width) for cell, width in zip(rows[0], widths)),
                 "=" * len(rule)]
        for row in rows[1:]:
            lines.append("".join(cell.ljust(width) for cell, width in zip(row, widths)))
        # Buffers (BatchNormalization's moving statistics) count as non-trainable, as in Keras.
        total = self.count_params() + sum(b.size for _, b in self.named_buffers())
        trainable = sum(p.size for p in self.parameters() if p.requires_grad)
        lines += ["=" * len(rule), f"Total params: {total:,}", f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {total - trainable:,}", rule]
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text


def _summary_rows(model):
    """(name, module) for each row of summary(): the layers, a wrapper such as Bidirectional as
    one row (as Keras shows it), and the leaves of plain container modules."""
    stack = list(reversed(list(model.named_children())))
    while stack:
        name, module = stack.pop()
        if isinstance(module, Layer) or not module._modules:
            yield name, module
        else:
            stack.extend(reversed([(f"{name}.{child}", m)
                                   for child, m in module.named_children()]))


def _metric_list(metrics, name):
    """compile()'s ``metrics``/``weighted_metrics`` as a list (None: empty)."""
    if metrics is None:
        return []
    if isinstance(metrics, (list, tuple)):
        return list(metrics)
    if isinstance(metrics, (str, metrics_module.Metric)) or callable(metrics):
        return [metrics]  # one metric
    raise ValueError(f"{name} must be a list of metrics (names such as 'accuracy' or metric "
                     f"objects), got {metrics!r}")


def _compile_config(optimizer, loss, metrics, weighted_metrics=()):
    """compile()'s arguments as JSON, so that load_model can compile again; None when one of
    them is an object or function that has no name."""
    def describe(value):
        if isinstance(value, str):
            return value
        get_config = getattr(value, "get_config", None)
        if get_config is None:
            return None
        return {"class_name": type(value).__name__, "config": get_config()}

    described = {"optimizer": describe(optimizer), "loss": describe(loss),
                 "metrics": [describe(m) for m in metrics]}
    if weighted_metrics:
        described["weighted_metrics"] = [describe(m) for m in weighted_metrics]
    if described["optimizer"] is None or described["loss"] is None or \
            any(m is None for m in described["metrics"] + described.get("weighted_metrics", [])):
        return None
    return described


def _finite_step(loss, parameters):
    """True when the loss and every gradient are finite (one reduction per parameter)."""
    if not np.isfinite(loss.item()):
        return False
    for param in parameters:
        if param.grad is not None and not bool(param._backend.xp.isfinite(
                param.grad.data.sum())):
            return False
    return True


def _validation_arrays(validation_data):
    """``validation_data`` as (x, y, sample_weight): arrays in a tuple, or an iterable of
    batches (a generator, a DataLoader, a PyDataset) as x."""
    if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3) and (
            isinstance(validation_data[0], (np.ndarray, Tensor))
            or structures.is_structure(validation_data[0])):
        return tuple(validation_data) + (None,) * (3 - len(validation_data))
    if isinstance(validation_data, (tuple, list, np.ndarray, Tensor, str, dict)) or \
            not (isinstance(validation_data, collections.abc.Iterable)
                 or batching.is_sequence_of_batches(validation_data)):
        raise ValueError("validation_data must be (x_val, y_val), (x_val, y_val, "
                         "sample_weight) or an iterable of such batches (a generator, a "
                         f"DataLoader), got {type(validation_data).__name__}")
    return validation_data, None, None


def _warn_ran_out(what, epoch, steps, epochs, batches=None, call="fit()"):
    """Keras's warning when the data ends before the steps asked for; in fit, when a
    generator (read once) is used up, training stops after the epoch it ran out in."""
    if call != "fit()":
        message = (f"{call}: {what} ran out of batches after {batches.taken} of steps={steps}; "
                   "the result is over those")
    elif batches is not None and not batches.exhausted:  # a new pass begins next epoch
        message = (f"{what} ran out of batches in epoch {epoch + 1}, after {batches.taken} of "
                   f"{'validation_steps' if what != 'x' else 'steps_per_epoch'}={steps}: the "
                   "epoch ends here and the next one starts a new pass over the data (as "
                   "Keras does); choose steps that divide the batches of a pass to keep "
                   "epochs whole")
    else:
        need = f"steps_per_epoch * epochs = {steps * epochs} batches" if steps and epochs \
            else "a pass per epoch"
        message = (f"{what} ran out of data in epoch {epoch + 1}: interrupting training (a "
                   f"generator is read once and must give {need}; make it endless and pass "
                   "steps_per_epoch, or pass a DataLoader or PyDataset, read afresh each "
                   "epoch)")
    warnings.warn(message, UserWarning, stacklevel=3)
