"""Learning-rate schedules: step, exponential and cosine decay, linear warmup, and
``ReduceLROnPlateau``. The formulas are PyTorch's (``torch.optim.lr_scheduler``); the Keras names
(``ExponentialDecay``, ``CosineDecay``) take Keras's arguments.

A schedule is used in one of two ways, chosen by its first argument:

* **PyTorch style** -- made with an optimizer, ``StepLR(optimizer, step_size=30)``: it sets the
  optimizer's learning rate now and at every ``schedule.step()``. Call ``step()`` once per
  epoch (PyTorch's convention: then ``step_size`` counts epochs), after the epoch's
  ``optimizer.step()`` calls.
* **Keras style** -- made with an initial learning rate and passed as the optimizer's learning
  rate, ``Adam(params, lr=ExponentialDecay(0.01, decay_steps=1000, decay_rate=0.9))``: the
  optimizer steps the schedule after each of its own steps, so it advances once per batch and
  the k-th update (k = 0, 1, ...) uses ``schedule(k)``.

Either way, the learning rate after ``t`` calls of ``step()`` is the schedule's formula at
``t`` applied to each parameter group's base rate (its ``"initial_lr"``: the group's rate when the
schedule took over). The formulas are closed forms of the step count, so a schedule overwrites
the learning rate: use one schedule per optimizer (wrap it in :class:`LinearWarmup` for a
warmup).
"""

import math
import numbers


class LRSchedule:
    """Base class of the schedules: a formula ``lr_at(step, base_lr)`` and a step counter.

    Args:
        optimizer_or_lr: an optimizer (PyTorch style: its learning rate is set from now on) or
            the initial learning rate, a number >= 0 (Keras style: pass the schedule as an
            optimizer's ``lr=``).

    Attributes:
        optimizer: the optimizer whose learning rate this schedule sets, or None.
        initial_lr: the base learning rate (of the first parameter group when made from an
            optimizer).
        step_count: how many times :meth:`step` was called; the current learning rate is the
            formula at this step.
    """

    def __init__(self, optimizer_or_lr):
        self.optimizer = None
        self.step_count = 0
        first = optimizer_or_lr
        if isinstance(first, numbers.Real) and not isinstance(first, bool):
            if not first >= 0:
                raise ValueError(f"{type(self).__name__} expected an initial learning rate "
                                 f">= 0, got {first!r}")
            self.initial_lr = float(first)
        elif hasattr(first, "param_groups"):
            groups = first.param_groups
            self.initial_lr = float(groups[0].get("initial_lr", groups[0]["lr"]) if groups
                                    else first.lr)
            self._attach(first)
        else:
            raise TypeError(f"{type(self).__name__} expected an optimizer or an initial learning "
                            f"rate, got {type(first).__name__}")

    def lr_at(self, step, base_lr):
        """The learning rate after ``step`` steps for a group whose base rate is ``base_lr``."""
        raise NotImplementedError(f"{type(self).__name__} does not define lr_at()")

    @property
    def base_lrs(self):
        """The base learning rate of each parameter group (one entry when not attached)."""
        if self.optimizer is not None and self.optimizer.param_groups:
            return [group.get("initial_lr", group["lr"])
                    for group in self.optimizer.param_groups]
        return [self.initial_lr]

    def get_lr(self):
        """The current learning rate (of the first parameter group), a float."""
        return self.lr_at(self.step_count, self.base_lrs[0])

    def get_last_lr(self):
        """The current learning rate of each parameter group, a list (as PyTorch)."""
        return [self.lr_at(self.step_count, base) for base in self.base_lrs]

    def __call__(self, step):
        """The learning rate at ``step`` (Keras's ``schedule(step)``), for the first group."""
        return self.lr_at(step, self.base_lrs[0])

    def step(self):
        """Advance by one step (an epoch or a batch, see the module docs) and set the
        optimizer's learning rate, if there is one."""
        self.step_count += 1
        self._apply()

    def get_config(self):
        """The schedule's arguments as JSON (the initial learning rate in place of an
        optimizer); ``deserialize(serialize(schedule))`` makes the same schedule at step 0."""
        raise NotImplementedError(f"{type(self).__name__} does not define get_config()")

    def state_dict(self):
        """The counter and base rate, as plain numbers."""
        return {"step_count": self.step_count, "initial_lr": self.initial_lr}

    def load_state_dict(self, state_dict):
        """Restore what :meth:`state_dict` returned and set the optimizer's learning rate."""
        self.step_count = int(state_dict["step_count"])
        self.initial_lr = float(state_dict["initial_lr"])
        self._apply()

    def _attach(self, optimizer):
        owner = getattr(optimizer, "_schedule", None)
        if owner is not None and owner is not self:
            raise ValueError(f"this optimizer's learning rate is already driven by "
                             f"{type(owner).__name__}; use one schedule per optimizer")
        if self.optimizer is not None and self.optimizer is not optimizer:
            raise ValueError(f"this {type(self).__name__} already sets the learning rate of "
                             "another optimizer; make one schedule per optimizer")
        self.optimizer = optimizer
        self._apply()

    def _apply(self):
        if self.optimizer is None:
            return
        for group in self.optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
            group["lr"] = self.lr_at(self.step_count, group["initial_lr"])

    def __repr__(self):
        return f"<{type(self).__name__} at step {self.step_count}, lr={self.get_lr():.6g}>"


class StepLR(LRSchedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` steps (also named
    ``StepDecay``)::

        lr(t) = base_lr * gamma ** (t // step_size)

    Args:
        optimizer_or_lr: an optimizer or an initial learning rate (see :class:`LRSchedule`).
        step_size: the number of steps between decays, >= 1.
        gamma: the factor, > 0.

    >>> schedule = mg.optim.StepLR(0.1, step_size=2, gamma=0.5)
    >>> [schedule(t) for t in range(5)]
    [0.1, 0.1, 0.05, 0.05, 0.025]
    """

    def __init__(self, optimizer_or_lr, step_size, gamma=0.1):
        if isinstance(step_size, bool) or not isinstance(step_size, numbers.Integral) \
                or step_size < 1:
            raise ValueError(f"StepLR expected an integer step_size >= 1, got {step_size!r}")
        self.step_size, self.gamma = int(step_size), _positive(gamma, "gamma", "StepLR")
        super().__init__(optimizer_or_lr)

    def lr_at(self, step, base_lr):
        return base_lr * self.gamma ** (step // self.step_size)

    def get_config(self):
        return {"optimizer_or_lr": self.initial_lr, "step_size": self.step_size,
                "gamma": self.gamma}


#: Another name of :class:`StepLR`.
StepDecay = StepLR


class ExponentialLR(LRSchedule):
    """Multiply the learning rate by ``gamma`` every step, or every ``decay_steps`` steps::

        lr(t) = base_lr * gamma ** (t / decay_steps)          (floor(t / decay_steps) if staircase)

    With the defaults this is PyTorch's ``ExponentialLR``; see :class:`ExponentialDecay` for
    Keras's arguments.

    Args:
        optimizer_or_lr: an optimizer or an initial learning rate (see :class:`LRSchedule`).
        gamma: the factor per ``decay_steps`` steps, > 0.
        decay_steps: the number of steps over which the rate is multiplied by ``gamma``, > 0.
        staircase: decay in whole steps of ``decay_steps``.

    >>> schedule = mg.optim.ExponentialLR(1.0, gamma=0.5)
    >>> [schedule(t) for t in range(4)]
    [1.0, 0.5, 0.25, 0.125]
    """

    def __init__(self, optimizer_or_lr, gamma, decay_steps=1, staircase=False):
        name = type(self).__name__
        self.gamma = _positive(gamma, "gamma (decay_rate)", name)
        self.decay_steps = _positive(decay_steps, "decay_steps", name)
        self.staircase = bool(staircase)
        super().__init__(optimizer_or_lr)

    def lr_at(self, step, base_lr):
        exponent = step / self.decay_steps
        if self.staircase:
            exponent = math.floor(exponent)
        return base_lr * self.gamma ** exponent

    def get_config(self):
        return {"optimizer_or_lr": self.initial_lr, "gamma": self.gamma,
                "decay_steps": self.decay_steps, "staircase": self.staircase}


class ExponentialDecay(ExponentialLR):
    """Keras's ``ExponentialDecay``: :class:`ExponentialLR` with Keras's arguments::

        lr(t) = initial_learning_rate * decay_rate ** (t / decay_steps)

    Args:
        initial_learning_rate: the rate at step 0 (or an optimizer, see :class:`LRSchedule`).
        decay_steps: the number of steps over which the rate is multiplied by ``decay_rate``.
        decay_rate: the factor, > 0.
        staircase: decay in whole steps of ``decay_steps``.

    >>> schedule = mg.optim.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    >>> round(schedule(10), 6), round(schedule(5), 6)
    (0.05, 0.070711)
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        super().__init__(initial_learning_rate, gamma=decay_rate, decay_steps=decay_steps,
                         staircase=staircase)

    def get_config(self):
        return {"initial_learning_rate": self.initial_lr, "decay_steps": self.decay_steps,
                "decay_rate": self.gamma, "staircase": self.staircase}


class CosineAnnealingLR(LRSchedule):
    """Cosine annealing from the base rate down to ``eta_min`` over ``T_max`` steps (PyTorch's
    ``CosineAnnealingLR``; past ``T_max`` the cosine continues, rising again)::

        lr(t) = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2

    Args:
        optimizer_or_lr: an optimizer or an initial learning rate (see :class:`LRSchedule`).
        T_max: the number of steps of the half period, > 0.
        eta_min: the smallest learning rate, >= 0.

    >>> schedule = mg.optim.CosineAnnealingLR(1.0, T_max=4)
    >>> [round(schedule(t), 4) for t in range(5)]
    [1.0, 0.8536, 0.5, 0.1464, 0.0]
    """

    def __init__(self, optimizer_or_lr, T_max, eta_min=0.0):
        self.T_max = _positive(T_max, "T_max", type(self).__name__)
        if not eta_min >= 0:
            raise ValueError(f"{type(self).__name__} expected eta_min >= 0, got {eta_min!r}")
        self.eta_min = float(eta_min)
        super().__init__(optimizer_or_lr)

    def lr_at(self, step, base_lr):
        cosine = (1.0 + math.cos(math.pi * step / self.T_max)) / 2.0
        return self.eta_min + (base_lr - self.eta_min) * cosine

    def get_config(self):
        return {"optimizer_or_lr": self.initial_lr, "T_max": self.T_max,
                "eta_min": self.eta_min}


class CosineDecay(CosineAnnealingLR):
    """Keras's ``CosineDecay``: cosine decay to ``alpha * initial_learning_rate`` over
    ``decay_steps`` steps, then constant::

        s = min(t, decay_steps) / decay_steps
        lr(t) = base_lr * (alpha + (1 - alpha) * (1 + cos(pi * s)) / 2)

    For Keras's ``warmup_steps``, wrap it in :class:`LinearWarmup`.

    Args:
        initial_learning_rate: the rate at step 0 (or an optimizer, see :class:`LRSchedule`).
        decay_steps: the number of steps to decay over, > 0.
        alpha: the final rate as a fraction of the initial one, in [0, 1].

    >>> schedule = mg.optim.CosineDecay(1.0, decay_steps=2, alpha=0.1)
    >>> [round(schedule(t), 4) for t in range(4)]
    [1.0, 0.55, 0.1, 0.1]
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0):
        if not 0 <= alpha <= 1:
            raise ValueError(f"CosineDecay expected alpha in [0, 1], got {alpha!r}")
        self.alpha = float(alpha)
        super().__init__(initial_learning_rate, T_max=decay_steps)

    def lr_at(self, step, base_lr):
        cosine = (1.0 + math.cos(math.pi * min(step, self.T_max) / self.T_max)) / 2.0
        return base_lr * (self.alpha + (1.0 - self.alpha) * cosine)

    def get_config(self):
        return {"initial_learning_rate": self.initial_lr, "decay_steps": self.T_max,
                "alpha": self.alpha}


class LinearWarmup(LRSchedule):
    """Raise the learning rate linearly over ``warmup_steps`` steps, then follow ``after``
    (another schedule, restarted at its step 0, or a constant rate)::

        lr(t) = base_lr * (start_factor + (1 - start_factor) * t / warmup_steps)  (t < warmup_steps)
        lr(t) = after.lr_at(t - warmup_steps, base_lr)                          (later)

    The warmup part is PyTorch's ``LinearLR``; the whole is PyTorch's ``SequentialLR`` of
    ``LinearLR`` and ``after``.

    Args:
        after: the schedule to follow (made from an optimizer or a number: the warmup takes
            over its optimizer, so step the warmup and not ``after``), or a constant learning
            rate, or an optimizer (to warm up to its current rate).
        warmup_steps: the number of warmup steps, >= 1.
        start_factor: the rate at step 0 as a fraction of the base rate, in [0, 1].

    >>> schedule = mg.optim.LinearWarmup(mg.optim.StepLR(0.1, step_size=2), warmup_steps=4)
    >>> [round(schedule(t), 6) for t in range(8)]
    [0.0, 0.025, 0.05, 0.075, 0.1, 0.1, 0.01, 0.01]
    """

    def __init__(self, after, warmup_steps, start_factor=0.0):
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, numbers.Integral) \
                or warmup_steps < 1:
            raise ValueError(f"LinearWarmup expected an integer warmup_steps >= 1, got "
                             f"{warmup_steps!r}")
        if not 0 <= start_factor <= 1:
            raise ValueError(f"LinearWarmup expected start_factor in [0, 1], got "
                             f"{start_factor!r}")
        self.warmup_steps, self.start_factor = int(warmup_steps), float(start_factor)
        if isinstance(after, LRSchedule):
            self.after = after
            optimizer, after.optimizer = after.optimizer, None
            super().__init__(optimizer if optimizer is not None else after.initial_lr)
        else:
            self.after = None
            super().__init__(after)

    def lr_at(self, step, base_lr):
        if step < self.warmup_steps:
            fraction = self.start_factor + (1.0 - self.start_factor) * step / self.warmup_steps
            return base_lr * fraction
        if self.after is None:
            return base_lr
        return self.after.lr_at(step - self.warmup_steps, base_lr)

    def get_config(self):
        after = self.initial_lr if self.after is None else serialize(self.after)
        return {"after": after, "warmup_steps": self.warmup_steps,
                "start_factor": self.start_factor}


class ReduceLROnPlateau:
    """Reduce the learning rate when a metric has stopped improving (PyTorch's
    ``ReduceLROnPlateau``; Keras's callback of that name does the same).

    Call ``step(metric)`` once per epoch with the monitored value (e.g. the validation loss).
    When it has not improved for more than ``patience`` epochs, every group's rate becomes
    ``max(lr * factor, min_lr)``, and then ``cooldown`` epochs pass before counting again.
    "Improved" means, with ``best`` the best value so far::

        mode="min", threshold_mode="rel":  metric < best * (1 - threshold)
        mode="min", threshold_mode="abs":  metric < best - threshold
        mode="max", threshold_mode="rel":  metric > best * (1 + threshold)
        mode="max", threshold_mode="abs":  metric > best + threshold

    Args:
        optimizer: the optimizer whose learning rate is reduced.
        mode: ``"min"`` (lower is better, a loss) or ``"max"`` (an accuracy).
        factor: the multiplier of the learning rate, in (0, 1).
        patience: the number of epochs without improvement that are tolerated.
        threshold: the least change that counts as an improvement.
        threshold_mode: ``"rel"`` or ``"abs"`` (see above).
        cooldown: the number of epochs to wait after a reduction before counting again.
        min_lr: the lower bound of the learning rate, a number or one per group.
        eps: a reduction smaller than this is skipped.

    Attributes:
        best: the best metric so far.
        num_bad_epochs: the number of epochs since the last improvement.
        cooldown_counter: the epochs of cooldown left.
        last_epoch: the number of ``step`` calls.

    >>> w = mg.nn.Parameter(mg.zeros(1))
    >>> opt = mg.optim.SGD([w], lr=1.0)
    >>> plateau = mg.optim.ReduceLROnPlateau(opt, factor=0.5, patience=1)
    >>> for loss in [3.0, 2.0, 2.0, 2.0, 2.0]:
    ...     plateau.step(loss)
    >>> opt.lr
    0.5
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"ReduceLROnPlateau expected an optimizer, got "
                            f"{type(optimizer).__name__}")
        if getattr(optimizer, "_schedule", None) is not None:
            raise ValueError("ReduceLROnPlateau cannot change a learning rate driven by the "
                             f"schedule {type(optimizer._schedule).__name__}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau expected mode 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau expected threshold_mode 'rel' or 'abs', got "
                             f"{threshold_mode!r}")
        if not 0 < factor < 1:
            raise ValueError(f"ReduceLROnPlateau expected factor in (0, 1), got {factor!r}")
        groups = optimizer.param_groups
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(groups):
                raise ValueError(f"ReduceLROnPlateau got {len(min_lr)} min_lr values for "
                                 f"{len(groups)} parameter groups")
            self.min_lrs = [float(value) for value in min_lr]
        else:
            self.min_lrs = [float(min_lr)] * len(groups)
        self.optimizer = optimizer
        self.mode, self.threshold_mode = mode, threshold_mode
        self.factor, self.patience = float(factor), int(patience)
        self.threshold, self.cooldown, self.eps = float(threshold), int(cooldown), float(eps)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0

    def step(self, metric):
        """Record this epoch's ``metric`` (a number or a one-element tensor) and reduce the
        learning rate if it has not improved for more than ``patience`` epochs."""
        current = float(metric)
        self.last_epoch += 1
        if self._is_better(current):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0          # epochs in cooldown are not counted
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                new_lr = max(group["lr"] * self.factor, min_lr)   # lr = max(lr * factor, min)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0

    def _is_better(self, current):
        if self.mode == "min" and self.threshold_mode == "rel":
            return current < self.best * (1.0 - self.threshold)
        if self.mode == "min":
            return current < self.best - self.threshold
        if self.threshold_mode == "rel":
            return current > self.best * (1.0 + self.threshold)
        return current > self.best + self.threshold

    def get_lr(self):
        """The current learning rate (of the first parameter group), a float."""
        return self.optimizer.param_groups[0]["lr"] if self.optimizer.param_groups \
            else self.optimizer.lr

    def get_last_lr(self):
        """The current learning rate of each parameter group, a list."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        """The counters, the best value and the options, as plain numbers and strings."""
        return {key: getattr(self, key) for key in _PLATEAU_STATE}

    def load_state_dict(self, state_dict):
        """Restore what :meth:`state_dict` returned."""
        for key in _PLATEAU_STATE:
            if key in state_dict:
                setattr(self, key, list(state_dict[key]) if key == "min_lrs"
                        else state_dict[key])


def serialize(schedule):
    """``{"class_name": ..., "config": ...}``: a schedule as JSON, for model files.

    >>> mg.optim.schedules.serialize(mg.optim.StepLR(0.1, step_size=2))
    {'class_name': 'StepLR', 'config': {'optimizer_or_lr': 0.1, 'step_size': 2, 'gamma': 0.1}}
    """
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config, _depth=0):
    """The schedule that :func:`serialize` described (at step 0: load its ``state_dict`` for
    the position). Only the schedules of this module are made; anything else is a
    ``ValueError`` naming what was given."""
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str) \
            or not isinstance(config.get("config", {}), dict):
        raise ValueError(f"a learning-rate schedule must be described as {{'class_name': ..., "
                         f"'config': {{...}}}}, got {config!r:.200}")
    cls = _SCHEDULES.get(config["class_name"])
    if cls is None:
        raise ValueError(f"unknown learning-rate schedule {config['class_name']!r:.100}; "
                         f"expected one of {', '.join(sorted(_SCHEDULES))}")
    options = dict(config.get("config", {}))
    if cls is LinearWarmup and isinstance(options.get("after"), dict):
        if _depth >= 4:  # a crafted file nesting warmups without end
            raise ValueError("learning-rate schedules nested more than 4 deep")
        options["after"] = deserialize(options["after"], _depth + 1)
    try:
        return cls(**options)
    except TypeError as exc:
        raise ValueError(f"{cls.__name__} cannot be made from {options!r:.200}: {exc}") from None


_PLATEAU_STATE = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown",
                  "min_lrs", "eps", "best", "num_bad_epochs", "cooldown_counter", "last_epoch")


def _positive(value, key, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"{name} expected {key} > 0, got {value!r}")
    return float(value)


_SCHEDULES = {cls.__name__: cls for cls in (StepLR, ExponentialLR, ExponentialDecay,
                                            CosineAnnealingLR, CosineDecay, LinearWarmup)}
