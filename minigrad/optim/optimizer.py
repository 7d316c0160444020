"""``Optimizer``: the base of every optimizer -- parameter groups, the step loop, gradient clipping
options, the learning rate and the state dict. The update formulas live in one file per
optimizer (``sgd.py``, ``adagrad.py``, ``rmsprop.py``, ``adam.py``)."""

import math
import numbers

from ..autograd.tensor import Tensor
from ..nn import pruning_masks
from . import clip
from .schedules import LRSchedule, deserialize, serialize


class Optimizer:
    """Base class of the optimizers: holds the parameters in groups, each with its options, and
    a state per parameter (moments, momentum buffers) created at the parameter's first update.

    Subclasses define ``_update(param, grad, state, group)``, which updates ``param.data`` in
    place from the raw gradient array ``grad``; ``state`` is the parameter's dict (empty at its
    first update) and ``group`` its group's options. Or they define ``_update_group(params,
    grads, states, group)``, which updates a whole group at once (the fused kernels).

    Args:
        params: an iterable of :class:`~minigrad.nn.Parameter` (e.g. ``model.parameters()``),
            or of dicts ``{"params": [...], "lr": ..., ...}`` with per-group options (as
            PyTorch's parameter groups). May be omitted (None) when the parameters are attached
            later with :meth:`add_param_group`, as ``compile(optimizer="adam")`` does.
        defaults: the options of every group that does not set them itself.
        clipnorm: clip each parameter's gradient to at most this L2 norm (Keras).
        clipvalue: clip every gradient element to ``[-clipvalue, clipvalue]`` (Keras).
        global_clipnorm: scale all gradients together so that their joint L2 norm is at most
            this (Keras). At most one of the three clipping options may be set.
        formulas: ``"pytorch"`` (the default: each class's formula, as ``torch.optim``) or
            ``"keras"``: Keras 3's formulas, which ``compile(optimizer="adam")`` and
            ``minigrad.keras.optimizers`` use -- epsilon where Keras puts it (Adam:
            ``sqrt(v) + eps`` before the bias correction; RMSprop and Adagrad:
            ``sqrt(v + eps)``), the learning rate inside the momentum buffer (SGD, RMSprop),
            decoupled weight decay for every optimizer (``param -= lr * weight_decay * param``
            before the update) and clipping to ``clipnorm / max(norm, clipnorm)``.

    Attributes:
        param_groups: the list of groups, each a dict with ``"params"`` (a list of parameters)
            and the group's options (``"lr"``, ...).
        state: the per-parameter state, a dict from ``id(param)`` to a dict of arrays/numbers.
        iterations: the number of :meth:`step` calls so far (Keras's ``optimizer.iterations``).
    """

    def __init__(self, params, defaults, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 formulas="pytorch"):
        name = type(self).__name__
        if formulas not in FORMULAS:
            raise ValueError(f"{name} expected formulas='pytorch' or 'keras', got {formulas!r}")
        self.formulas = formulas
        lr = defaults["lr"]
        if isinstance(lr, dict):  # a schedule described by get_config() (a model file)
            lr = deserialize(lr)
        self._schedule = None
        if isinstance(lr, LRSchedule):
            self._schedule, defaults = lr, dict(defaults, lr=lr.initial_lr)
        defaults = {key: _as_option(value) for key, value in defaults.items()}
        self._check_options(defaults)
        self.defaults = defaults
        self.clipnorm = _positive_or_none(clipnorm, "clipnorm", name)
        self.clipvalue = _positive_or_none(clipvalue, "clipvalue", name)
        self.global_clipnorm = _positive_or_none(global_clipnorm, "global_clipnorm", name)
        chosen = [key for key in ("clipnorm", "clipvalue", "global_clipnorm")
                  if getattr(self, key) is not None]
        if len(chosen) > 1:
            raise ValueError(f"{name}: only one of clipnorm, clipvalue and global_clipnorm can "
                             f"be set, got {' and '.join(chosen)}")
        self.param_groups = []
        self.state = {}
        self.iterations = 0
        if params is not None:
            groups = _as_list(params, name)
            if not groups:
                raise ValueError(
                    f"{name} got an empty parameter list. If it came from model.parameters() "
                    "right after making the model: the model has no weights yet, because "
                    "layers create them on their first call. Call model.build(input_shape) "
                    "first (with the batch axis, e.g. model.build((None, 784))) or run the "
                    "model on one batch, then pass model.parameters(); or let "
                    "model.compile(optimizer='adam', ...) make the optimizer when fit starts")
            if not isinstance(groups[0], dict):
                groups = [{"params": groups}]
            for group in groups:
                self.add_param_group(group)
        if self._schedule is not None:
            self._schedule._attach(self)

    # --- parameters -------------------------------------------------------------------------
    def add_param_group(self, group):
        """Add parameters to optimize: a dict ``{"params": [...], <options>}`` (options left
        out take the optimizer's defaults) or a plain iterable of parameters.

        Raises ``TypeError`` for something that is not a parameter and ``ValueError`` for an
        empty group, a parameter already in a group or an unknown option.
        """
        name = type(self).__name__
        if not isinstance(group, dict):
            group = {"params": group}
        params = _as_list(group.get("params"), name)
        if not params:
            raise ValueError(f"{name} got a parameter group without parameters")
        for i, param in enumerate(params):
            if not isinstance(param, Tensor):
                hint = (" (pass model.parameters(), not the model)"
                        if hasattr(param, "parameters") else "")
                raise TypeError(f"{name} expected Parameters, got {type(param).__name__} at "
                                f"position {i}{hint}")
            if not param.is_leaf:
                raise ValueError(f"{name} can only optimize leaf tensors (Parameters), but the "
                                 f"tensor at position {i} was computed by {param.grad_fn.name}")
        held = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or held & {id(p) for p in params}:
            raise ValueError(f"{name}: a parameter appears more than once in the parameter "
                             "groups; each parameter may be in one group only")
        unknown = sorted(set(group) - set(self.defaults) - {"params", "initial_lr"})
        if unknown:
            raise ValueError(f"{name} has no option {', '.join(map(repr, unknown))}; its "
                             f"options are {', '.join(sorted(self.defaults))}")
        options = {key: _as_option(value) for key, value in group.items() if key != "params"}
        self._check_options(options)
        new_group = {"params": params, **self.defaults, **options}
        self.param_groups.append(new_group)
        if self._schedule is not None and self._schedule.optimizer is self:
            self._schedule._apply()

    def _check_options(self, options):
        """Raise ``ValueError`` for an option value out of range (subclasses add checks)."""
        name = type(self).__name__
        if "lr" in options:
            lr = options["lr"]
            if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not lr >= 0.0:
                raise ValueError(f"{name} expected a learning rate lr >= 0, got {lr!r}")
        for key in ("weight_decay", "eps", "momentum"):
            if key in options and not options[key] >= 0.0:
                raise ValueError(f"{name} expected {key} >= 0, got {options[key]!r}")

    def _parameters(self):
        """Every parameter, in group order (the order of the state dict's indices)."""
        return [param for group in self.param_groups for param in group["params"]]

    # --- the learning rate ------------------------------------------------------------------
    @property
    def lr(self):
        """The learning rate of the first parameter group (of every group, unless groups were
        given their own). Setting it sets every group's rate; schedules and callbacks do this.
        It cannot be set while a schedule passed as ``lr=`` drives it (set a new schedule, or
        make the optimizer with a number)."""
        if self.param_groups:
            return self.param_groups[0]["lr"]
        if self._schedule is not None:
            return self._schedule.get_lr()
        return self.defaults["lr"]

    @lr.setter
    def lr(self, value):
        if isinstance(value, LRSchedule):
            if self._schedule is not None:
                self._schedule.optimizer = None
            self._schedule = value
            self.defaults["lr"] = value.initial_lr
            for group in self.param_groups:         # the new schedule's base rate
                group["lr"] = group["initial_lr"] = value.initial_lr
            value._attach(self)
            return
        if self._schedule is not None:
            raise TypeError(f"this {type(self).__name__}'s learning rate is driven by "
                            f"{type(self._schedule).__name__}; it cannot be set to a number")
        value = _as_option(value)
        self._check_options({"lr": value})
        self.defaults["lr"] = value
        for group in self.param_groups:
            group["lr"] = value

    #: Keras's name of :attr:`lr`.
    learning_rate = lr

    # --- stepping ---------------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Reset the gradients of every parameter: to None (the default, and what
        :meth:`step` skips), or to zeros in place with ``set_to_none=False``."""
        for param in self._parameters():
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param.grad.data[...] = 0

    def step(self):
        """Update every parameter that has a gradient (``param.grad`` not None) in place, after
        clipping the gradients if a clipping option is set. Parameters without a gradient are
        left alone and get no state. Then advances a schedule given as ``lr=``."""
        if not self.param_groups:
            raise RuntimeError(f"{type(self).__name__} has no parameters to update; pass them "
                               "when making it or with add_param_group()")
        params = [p for p in self._parameters() if p.grad is not None]
        for p in params:
            if p.grad.shape != p.shape:
                raise ValueError(f"{type(self).__name__}: a parameter of shape {p.shape} has a "
                                 f"gradient of shape {p.grad.shape}")
        grads = self._clipped_grads(params)
        for group in self.param_groups:
            updated = [param for param in group["params"] if param.grad is not None]
            states = []
            for param in updated:
                states.append(self.state.setdefault(id(param), {}))
                _follow_parameter(states[-1], param)
            if updated:
                if self.formulas == "keras" and group["weight_decay"]:
                    group = _decay_decoupled(updated, group)
                self._update_group(updated, [grads[id(p)] for p in updated], states, group)
        for param in params:  # pruned weights stay zero, whatever the moments say
            pruning_masks.reapply(param)
        self.iterations += 1
        if self._schedule is not None:
            self._schedule.step()

    def _clipped_grads(self, params):
        """``{id(param): gradient array}``, zero where a weight is pruned and clipped by the
        Keras options (new arrays: the parameters' ``.grad`` are not changed)."""
        grads = [pruning_masks.masked_gradient(p) for p in params]
        tiny = 0.0 if self.formulas == "keras" else 1e-6  # Keras adds nothing to the norm
        if self.clipnorm is not None:
            grads = [g * clip.norm_scale(norm, self.clipnorm, tiny)
                     for g, norm in zip(grads, clip.norms(grads))]
        elif self.global_clipnorm is not None:
            scale = clip.norm_scale(clip.total_norm(grads), self.global_clipnorm, tiny)
            grads = [g * scale for g in grads]
        elif self.clipvalue is not None:
            grads = [p._backend.xp.clip(g, -self.clipvalue, self.clipvalue)
                     for p, g in zip(params, grads)]
        return {id(p): g for p, g in zip(params, grads)}

    def _update(self, param, grad, state, group):
        raise NotImplementedError(f"{type(self).__name__} does not define _update()")

    def _update_group(self, params, grads, states, group):
        """Update the parameters of one group that have gradients (lists, in group order).
        This calls :meth:`_update` for each; SGD and Adam instead hand the whole group to one
        backend kernel (``backend.sgd_step``, ``backend.adam_step``)."""
        for param, grad, state in zip(params, grads, states):
            self._update(param, grad, state, group)

    # --- saving and restoring ---------------------------------------------------------------
    def state_dict(self):
        """The optimizer's state as plain data (no pickled objects), ready for JSON (numbers)
        and safetensors/npz (arrays)::

            {"state": {index: {"step": 3, "exp_avg": ndarray, ...}, ...},
             "param_groups": [{"lr": 0.001, "betas": [0.9, 0.999], ..., "params": [0, 1]}],
             "iterations": 3}

        ``index`` is the parameter's position over all groups, in order; parameters that were
        never updated have no entry. Arrays are NumPy copies (also from a GPU). A schedule
        passed as ``lr=`` adds ``"schedule"``.
        """
        index = {id(p): i for i, p in enumerate(self._parameters())}
        state = {}
        for param in self._parameters():
            if self.state.get(id(param)):        # SGD without momentum keeps no state
                state[index[id(param)]] = {
                    key: (param._backend.to_numpy(value).copy() if hasattr(value, "shape")
                          else value)
                    for key, value in self.state[id(param)].items()}
        groups = []
        for group in self.param_groups:
            saved = {key: (list(value) if isinstance(value, tuple) else value)
                     for key, value in group.items() if key != "params"}
            saved["params"] = [index[id(p)] for p in group["params"]]
            groups.append(saved)
        result = {"state": state, "param_groups": groups, "iterations": self.iterations}
        if self._schedule is not None:
            result["schedule"] = self._schedule.state_dict()
        return result

    def load_state_dict(self, state_dict):
        """Restore the state saved by :meth:`state_dict` (also after a JSON round trip: string
        indices and lists are accepted). The optimizer must hold the same number of groups and
        parameters, of the same shapes; arrays are copied to each parameter's device and dtype.

        Raises ``ValueError`` naming the group, parameter index, key or shape that does not
        match; nothing is changed then.
        """
        name = type(self).__name__
        for key in ("state", "param_groups"):
            if key not in state_dict:
                raise ValueError(f"{name}.load_state_dict: the state dict has no {key!r} entry "
                                 f"(it has {', '.join(map(repr, state_dict)) or 'nothing'})")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(saved_groups)} "
                             f"parameter group(s), this optimizer has {len(self.param_groups)}")
        for g, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {g} has "
                                 f"{len(saved['params'])} parameter(s) in the state dict, "
                                 f"{len(group['params'])} in this optimizer")
            unknown = sorted(set(saved) - set(self.defaults) - {"params", "initial_lr"})
            if unknown:
                raise ValueError(f"{name}.load_state_dict: parameter group {g} has option(s) "
                                 f"{', '.join(map(repr, unknown))} that {name} does not have "
                                 "(a state dict of another optimizer?)")
        # the groups as they will be: this optimizer's parameters, the saved options
        new_groups = [{**group, **{key: _as_option(value) for key, value in saved.items()
                                   if key != "params"}}
                      for saved, group in zip(saved_groups, self.param_groups)]
        params, group_of = [], []
        for group in new_groups:
            params += group["params"]
            group_of += [group] * len(group["params"])
        new_state = {}
        for key, saved in state_dict["state"].items():
            i = int(key)
            if not 0 <= i < len(params):
                raise ValueError(f"{name}.load_state_dict: the state dict has state for "
                                 f"parameter {i}, but this optimizer has {len(params)} "
                                 "parameters")
            param = params[i]
            expected = set(self._state_keys(group_of[i]))
            if set(saved) != expected:
                raise ValueError(f"{name}.load_state_dict: the state of parameter {i} has keys "
                                 f"{sorted(saved)}, {name} with these options expects "
                                 f"{sorted(expected)}")
            new_state[id(param)] = {}
            for key_name, value in saved.items():
                if key_name == "step":
                    new_state[id(param)][key_name] = int(value)
                    continue
                array = param._backend.asarray(value, dtype=param.dtype)
                if array.shape != param.shape:
                    raise ValueError(f"{name}.load_state_dict: {key_name!r} of parameter {i} "
                                     f"has shape {tuple(array.shape)}, but the parameter has "
                                     f"shape {param.shape}")
                new_state[id(param)][key_name] = array.copy()
        for group in new_groups:
            self._check_options({key: value for key, value in group.items() if key != "params"})
        self.param_groups = new_groups
        self.state = new_state
        self.iterations = int(state_dict.get("iterations", 0))
        if self._schedule is not None and "schedule" in state_dict:
            self._schedule.load_state_dict(state_dict["schedule"])

    def _state_keys(self, group):
        """The keys of a parameter's state under ``group``'s options (for load checks)."""
        raise NotImplementedError

    # --- description ------------------------------------------------------------------------
    def get_config(self):
        """The optimizer's options as a JSON-friendly dict (the defaults of its groups and the
        clipping options); ``mg.optim.get({"class_name": ..., "config": ...})`` makes it again.
        A schedule passed as ``lr=`` is described as ``{"class_name": ..., "config": ...}``
        (:func:`~minigrad.optim.schedules.serialize`); its position is in :meth:`state_dict`."""
        config = {key: (list(value) if isinstance(value, tuple) else value)
                  for key, value in self.defaults.items()}
        if self._schedule is not None:
            config["lr"] = serialize(self._schedule)
        for key in ("clipnorm", "clipvalue", "global_clipnorm"):
            if getattr(self, key) is not None:
                config[key] = getattr(self, key)
        if self.formulas != "pytorch":  # left out: files written before the option load alike
            config["formulas"] = self.formulas
        return config

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        if not self.param_groups:
            lines.append("no parameters yet; defaults: " + ", ".join(
                f"{key}={value}" for key, value in sorted(self.defaults.items())))
        return "\n".join(lines) + "\n)"


#: The values of ``formulas=``: whose update formulas an optimizer follows.
FORMULAS = ("pytorch", "keras")


def _decay_decoupled(params, group):
    """Keras's weight decay, before the update: ``param -= lr * weight_decay * param`` for
    each of ``params``; returns ``group`` with ``weight_decay`` 0 for the update itself."""
    for param in params:
        param.data -= param.data * (group["weight_decay"] * group["lr"])
    return {**group, "weight_decay": 0.0}


def _as_list(params, name):
    if isinstance(params, Tensor):
        raise TypeError(f"{name} expected an iterable of Parameters, got a single "
                        f"{type(params).__name__}; wrap it in a list")
    if isinstance(params, dict) or not hasattr(params, "__iter__"):
        hint = (" (pass model.parameters(), not the model)" if hasattr(params, "parameters")
                else "")
        raise TypeError(f"{name} expected an iterable of Parameters, got "
                        f"{type(params).__name__}{hint}")
    return list(params)


def _as_option(value):
    """Hyperparameters as Python numbers (a NumPy float64 scalar would promote float32 arrays),
    sequences as tuples."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple)):
        return tuple(_as_option(v) for v in value)
    return value


def _positive_or_none(value, key, name):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0 \
            or math.isinf(value):
        raise ValueError(f"{name} expected {key} > 0 (or None), got {value!r}")
    return float(value)


def by_backend(params):
    """``{backend: [index, ...]}``: the positions of ``params`` on each device, in order."""
    groups = {}
    for k, param in enumerate(params):
        groups.setdefault(param._backend, []).append(k)
    return groups


def resolve_lr(lr, learning_rate, default, name):
    """The learning rate a subclass's constructor was given: ``lr=`` or its Keras spelling
    ``learning_rate=`` (not both: a ``lr`` other than ``default`` beside ``learning_rate``
    raises ``TypeError`` naming the optimizer ``name``)."""
    if learning_rate is None:
        return lr
    if lr != default:
        raise TypeError(f"{name} got both lr={lr!r} and learning_rate={learning_rate!r}; "
                        "they are the same option, give one")
    return learning_rate


def _follow_parameter(state, param):
    """Keep a parameter's state arrays on its device and in its dtype: ``model.to("cuda")`` or
    ``model.to("float64")`` after some steps (or after loading a model) moves the parameters in
    place, and their moments must follow."""
    backend = param._backend
    for key, value in state.items():
        if not hasattr(value, "shape"):
            continue
        if not backend.owns(value):
            value = backend.asarray(value)
        if value.dtype != param.data.dtype and value.dtype.kind == "f":
            value = value.astype(param.data.dtype)
        state[key] = value
