"""``Module``: the base of every layer and model (PyTorch-style), and ``Layer``: a module that
builds its weights lazily from the first input it sees (Keras-style)."""

import functools
import inspect
import threading
from collections import OrderedDict
from contextlib import contextmanager

import numpy as np

from .. import dtypes
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..backends import get_backend, split_device_and_dtype
from ..creation import zeros
from . import init as initializers
from . import pruning_masks, regularizers
from .naming import unique_layer_name
from .parameter import Parameter


class Module:
    """Base class of layers and models: it registers the :class:`Parameter` s, buffers and
    sub-modules assigned to it as attributes.

    Subclasses set attributes in ``__init__`` (after ``super().__init__()``) and define
    ``forward``; calling the module calls ``forward``::

        class TwoLayer(mg.nn.Module):
            def __init__(self):
                super().__init__()
                self.hidden = mg.nn.Dense(64, activation="relu")
                self.out = mg.nn.Dense(10)

            def forward(self, x):
                return self.out(self.hidden(x))
    """

    @property
    def training(self):
        """True in training mode (the default), False after :meth:`eval` -- or, in the thread
        that runs it, what :func:`~minigrad.nn.module.eval_mode` or a call's ``training=``
        argument says (which other threads do not see)."""
        modes = _modes_here().get(id(self))
        if modes:
            return modes[-1]
        return self.__dict__.get("_training", True)

    @training.setter
    def training(self, mode):
        self.__dict__["_training"] = bool(mode)

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_device", None)
        object.__setattr__(self, "training", True)

    # --- registration -----------------------------------------------------------------------
    def __setattr__(self, name, value):
        registries = self.__dict__.get("_parameters")
        if registries is None and isinstance(value, (Parameter, Module)):
            raise AttributeError(f"cannot assign {type(value).__name__} {name!r} before "
                                 f"{type(self).__name__}.__init__ called super().__init__()")
        if registries is not None:
            for table in (self._parameters, self._buffers, self._modules):
                if name in table and not _fits(table, value, self):
                    del table[name]
            if isinstance(value, Parameter):
                self._parameters[name] = value
                return
            if isinstance(value, Module):
                self._modules[name] = value
                return
            if name in self._buffers:
                self._buffers[name] = value
                return
        object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # Only called when normal lookup fails: parameters, buffers and modules live in tables.
        for table in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(table)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name, tensor):
        """Keep ``tensor`` as state that is saved and moved with the module but not learned
        (e.g. BatchNormalization's running mean)."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"buffer {name!r} must be a Tensor or None, got "
                            f"{type(tensor).__name__}")
        self._buffers[name] = tensor

    # --- walking the tree -------------------------------------------------------------------
    def named_children(self):
        """(name, module) for each direct sub-module."""
        return iter(self._modules.items())

    def children(self):
        """The direct sub-modules."""
        return (module for _, module in self.named_children())

    def named_modules(self, prefix=""):
        """(dotted name, module) for this module and every module below it, each once."""
        seen = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{child_name}" if name else child_name, child)
                        for child_name, child in module._modules.items() if child is not None]
            stack.extend(reversed(children))

    def modules(self):
        """This module and every module below it."""
        return (module for _, module in self.named_modules())

    def named_parameters(self, prefix=""):
        """(dotted name, parameter) for every parameter, each once, in registration order."""
        seen = set()
        for module_name, module in self.named_modules(prefix):
            for name, parameter in module._parameters.items():
                if parameter is not None and id(parameter) not in seen:
                    seen.add(id(parameter))
                    yield (f"{module_name}.{name}" if module_name else name), parameter

    def parameters(self):
        """Every parameter (what an optimizer updates)."""
        return (parameter for _, parameter in self.named_parameters())

    def trainable_parameters(self):
        """The parameters with ``requires_grad=True``."""
        return (p for p in self.parameters() if p.requires_grad)

    def named_buffers(self, prefix=""):
        """(dotted name, buffer) for every buffer."""
        for module_name, module in self.named_modules(prefix):
            for name, buffer in module._buffers.items():
                if buffer is not None:
                    yield (f"{module_name}.{name}" if module_name else name), buffer

    def count_params(self):
        """The number of parameter elements (all of them, trainable or not)."""
        return sum(p.size for p in self.parameters())

    # --- state ------------------------------------------------------------------------------
    def state_dict(self):
        """An ordered mapping of dotted names to the parameters' and buffers' values (tensors
        outside the graph, sharing memory with the module)."""
        state = OrderedDict()
        for name, parameter in self.named_parameters():
            state[name] = parameter.detach()
        for name, buffer in self.named_buffers():
            state[name] = buffer.detach()
        return state

    def load_state_dict(self, state_dict, strict=True):
        """Copy values from ``state_dict`` (names to tensors or arrays) into this module's
        parameters and buffers, in place, on their device and in their dtype.

        With ``strict`` every name must match; otherwise missing and unexpected names are
        skipped. A shape mismatch is always an error. Raises ``KeyError``/``ValueError`` listing
        the names at fault. Masks of pruned weights in ``state_dict`` (``kernel_mask``) are
        attached to the weights that lack them (:mod:`minigrad.nn.pruning_masks`).
        """
        pruning_masks.adopt(self, state_dict)
        own = dict(self.named_parameters())
        own.update(self.named_buffers())
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys: {', '.join(missing)}")
            if unexpected:
                parts.append(f"unexpected keys: {', '.join(unexpected)}")
            raise KeyError(f"load_state_dict into {type(self).__name__}: " + "; ".join(parts))
        wrong_shapes = []
        for name, target in own.items():
            if name in state_dict:
                value = state_dict[name]
                shape = tuple(value.shape)
                if shape != target.shape:
                    wrong_shapes.append(f"{name}: saved {shape}, module {target.shape}")
        if wrong_shapes:
            raise ValueError(f"load_state_dict into {type(self).__name__}: shape mismatch for "
                             + "; ".join(wrong_shapes))
        for name, target in own.items():
            if name in state_dict:
                _assign(target, state_dict[name])
        return self

    # --- weights by position (Keras) --------------------------------------------------------
    def named_weights(self):
        """(dotted name, tensor) for every weight in Keras's order: module by module (this
        one first, then each sub-module in registration order), each module's parameters and
        then its buffers. BatchNormalization gives gamma, beta, moving_mean,
        moving_variance; a Bidirectional layer the forward layer's weights, then the backward
        layer's. (:meth:`state_dict` lists all parameters first, then all buffers.)"""
        seen = set()
        for module_name, module in self.named_modules():
            for table in (module._parameters, module._buffers):
                for name, tensor in table.items():
                    if tensor is not None and id(tensor) not in seen:
                        seen.add(id(tensor))
                        yield (f"{module_name}.{name}" if module_name else name), tensor

    def get_weights(self):
        """The weights as a list of NumPy arrays (copies), in the order of
        :meth:`named_weights` -- Keras's ``get_weights()``: ``[kernel, bias]`` for a Dense or a
        Conv2D, ``[kernel, recurrent_kernel, bias]`` for an LSTM, GRU or SimpleRNN,
        ``[embeddings]`` for an Embedding, ``[gamma, beta, moving_mean, moving_variance]`` for
        a BatchNormalization, and the concatenation over the layers for a model.

        >>> layer = mg.nn.Dense(2)
        >>> layer.build((None, 3))
        >>> [w.shape for w in layer.get_weights()]
        [(3, 2), (2,)]
        """
        return [np.array(tensor.numpy(), copy=True) for _, tensor in self.named_weights()]

    def set_weights(self, weights):
        """Copy ``weights`` (a list of arrays in the order of :meth:`get_weights`, as Keras's
        ``set_weights``) into the weights, in place, on their device and in their dtype.

        The number of arrays and each shape are checked before anything is written
        (ValueError naming the weight). A layer that has not been built has no weights yet:
        build it first (:meth:`build`, or call it once).

        >>> layer = mg.nn.Dense(2)
        >>> layer.build((None, 3))
        >>> layer.set_weights([np.ones((3, 2)), np.zeros(2)])
        >>> layer(mg.ones(1, 3)).tolist()
        [[3.0, 3.0]]
        """
        own = list(self.named_weights())
        label = _label(self)
        weights = list(weights)
        if len(weights) != len(own):
            if not own:
                raise ValueError(f"set_weights on {label}: it has no weights yet (layers create "
                                 f"them on their first call); call build(input_shape) or run it "
                                 f"once first, then set_weights() with {len(weights)} arrays")
            expected = ", ".join(f"{name} {tensor.shape}" for name, tensor in own)
            raise ValueError(f"set_weights on {label}: expected {len(own)} arrays "
                             f"[{expected}], got {len(weights)}")
        wrong = [f"array {i} ({name}) has shape {tuple(np.shape(value))}, expected "
                 f"{tensor.shape}" for i, ((name, tensor), value) in enumerate(zip(own, weights))
                 if tuple(np.shape(value)) != tensor.shape]
        if wrong:
            raise ValueError(f"set_weights on {label}: " + "; ".join(wrong))
        for (_, tensor), value in zip(own, weights):
            _assign(tensor, value)

    def build(self, input_shape, dtype=None):
        """Create the weights of every lazy layer now, by running the model once on zeros of
        ``input_shape`` -- the shape WITH the batch axis, as Keras's ``Model.build``:
        ``(None, 784)`` or ``(32, 784)`` (a None is taken as 1). Afterwards
        :meth:`parameters` is complete, so an optimizer can be made from it.

        ``input_shape`` may also be a list of shapes, one per argument of ``forward``.
        ``dtype``: of the zeros (default: the model's ``input_dtype`` if it has one -- integer
        ids for a Sequential that starts with an Embedding -- else the float dtype).
        Runs in evaluation mode without gradients; the mode is restored afterwards.

        >>> model = mg.Sequential([mg.nn.Dense(8, activation="relu"), mg.nn.Dense(2)])
        >>> model.build((None, 4))
        >>> [p.shape for p in model.parameters()]
        [(4, 8), (8,), (8, 2), (2,)]
        """
        shapes = list(input_shape)
        several = bool(shapes) and all(isinstance(s, (tuple, list)) for s in shapes)
        shapes = shapes if several else [input_shape]
        dtype = dtype or getattr(self, "input_dtype", None) or dtypes.default_float
        inputs = [zeros(tuple(1 if d is None else int(d) for d in shape), dtype=dtype,
                        device=self.device) for shape in shapes]
        try:
            with eval_mode(self):
                self(*inputs)
        except ValueError as error:
            if not several and len(shapes[0]) == 1:  # (784,): the batch axis left out
                raise ValueError(f"{error}; build() takes the input shape WITH the batch "
                                 f"axis, e.g. build((None, {shapes[0][0]}))") from error
            raise

    # --- modes and devices ------------------------------------------------------------------
    def train(self, mode=True):
        """Switch this module and all below it to training (``mode=True``) or evaluation
        behaviour (Dropout, BatchNormalization); returns the module."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        """Switch to evaluation behaviour (``train(False)``); returns the module."""
        return self.train(False)

    def to(self, device=None, dtype=None):
        """Move every parameter and buffer to ``device`` and/or convert floats to ``dtype``, in
        place (the same Parameter objects, so an optimizer made earlier still holds them).
        Layers built later are created there too. Returns the module."""
        device, dtype = split_device_and_dtype(device, dtype)  # model.to("float64")
        backend = get_backend(device) if device is not None else None
        dtype = dtypes.as_dtype(dtype)
        for module in self.modules():
            if backend is not None:
                object.__setattr__(module, "_device", backend)
            if dtype is not None and hasattr(module, "dtype"):
                object.__setattr__(module, "dtype", dtype)
            kept = module.buffers_that_keep_their_dtype()
            tensors = [(t, dtype) for t in module._parameters.values()] + [
                (t, None if name in kept else dtype) for name, t in module._buffers.items()]
            for tensor, new_dtype in tensors:
                if tensor is not None:
                    _move(tensor, backend, new_dtype)
        return self

    def buffers_that_keep_their_dtype(self):
        """Names of this module's buffers that ``to(dtype=...)`` leaves in their own dtype
        (stored weights whose dtype is the point, such as a quantized layer's float16 copy);
        none by default."""
        return ()

    def cpu(self):
        """Move to the CPU; returns the module."""
        return self.to("cpu")

    def cuda(self):
        """Move to the GPU; returns the module."""
        return self.to("cuda")

    @property
    def device(self):
        """The device on which new weights are created ("cpu" unless the module was moved)."""
        return (self._device or get_backend("cpu")).name

    def zero_grad(self):
        """Reset every parameter's ``.grad`` to None."""
        for parameter in self.parameters():
            parameter.grad = None

    def regularization_loss(self):
        """The sum of the weight penalties (``kernel_regularizer=``) of every layer, or 0.0."""
        total = 0.0
        for module in self.modules():
            for parameter, regularizer in getattr(module, "_regularized", ()):
                total = total + regularizer(parameter)
        return total

    # --- calling ----------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        """The computation of the module; subclasses define it (PyTorch's name), or ``call``
        (Keras's name), which this then runs."""
        call = getattr(self, "call", None)
        if call is None:
            raise NotImplementedError(f"{type(self).__name__} does not define forward() (nor "
                                      "Keras's call())")
        if "training" not in kwargs and "training" in inspect.signature(call).parameters:
            kwargs["training"] = self.training  # Keras's call(self, inputs, training=None)
        return call(*inputs, **kwargs)

    def __call__(self, *inputs, training=None, **kwargs):
        if inputs and symbolic_inputs(inputs[0]):  # building a functional model (keras.Input)
            from .layers.input_layer import call_symbolically
            return call_symbolically(self, inputs[0], inputs[1:],
                                     kwargs if training is None else {**kwargs,
                                                                      "training": training})
        if inputs and not isinstance(inputs[0], Tensor):  # model(numpy_array), as in Keras
            float_dtype = next((p.dtype for p in self.parameters()), dtypes.default_float)
            inputs = (as_input_tensor(inputs[0], self, float_dtype), *inputs[1:])
        with training_mode(self, training):  # Keras's model(x, training=False)
            return self.forward(*inputs, **kwargs)

    def extra_repr(self):
        """The text inside the parentheses of this module's repr."""
        return ""

    def __repr__(self):
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, module in self._modules.items():
            child = repr(module).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child}")
        if len(lines) == 1:
            return lines[0] + ")"
        return "\n".join(lines) + "\n)"


def as_input_tensor(x, module, float_dtype, keep_integers=True):
    """``x`` as a tensor for ``module``: a Tensor as it is; a NumPy or CuPy array, a list or a
    number (Keras's layers and models take arrays) converted onto the module's device, floats
    and booleans in ``float_dtype``, integers kept as int64 when ``keep_integers`` (token ids
    for an Embedding) and in ``float_dtype`` otherwise."""
    if isinstance(x, Tensor) or x is None:
        return x
    if isinstance(x, dict):  # a model's inputs by name
        return {name: as_input_tensor(item, module, float_dtype, keep_integers)
                for name, item in x.items()}
    if isinstance(x, (list, tuple)) and any(hasattr(item, "shape") for item in x):
        # several inputs (Add([a, b]), a model with two inputs): each on its own
        return type(x)(as_input_tensor(item, module, float_dtype, keep_integers) for item in x)
    backend = module._device or get_backend("cpu")
    array = x if hasattr(x, "dtype") and hasattr(x, "shape") else np.asarray(x)
    kind = np.dtype(array.dtype).kind
    if kind not in "biuf":
        raise TypeError(f"{type(module).__name__} takes tensors or numeric arrays, got "
                        f"{type(x).__name__} of dtype {array.dtype}")
    integer = kind in "iu" and keep_integers
    dtype = np.int64 if integer else float_dtype
    return Tensor._make(backend.asarray(array, dtype=dtype), backend)


def symbolic_inputs(inputs):
    """Whether ``inputs`` (a tensor or a list of them) holds a symbolic tensor of
    ``keras.Input`` (:mod:`minigrad.nn.layers.input_layer`)."""
    items = inputs if isinstance(inputs, (list, tuple)) else (inputs,)
    return any(getattr(item, "is_symbolic", False) for item in items)


def _fits(table, value, module):
    """Whether assigning ``value`` keeps the attribute in the same table."""
    if table is module._parameters:
        return isinstance(value, Parameter)
    if table is module._modules:
        return isinstance(value, Module)
    return value is None or isinstance(value, Tensor)


def _assign(target, value):
    """Copy ``value`` (a tensor or an array) into the tensor ``target``, in place, on its
    device and in its dtype (never sharing memory with ``value``)."""
    array = value.data if isinstance(value, Tensor) else value
    converted = target._backend.asarray(array, dtype=target.dtype)
    target.data = converted.copy() if converted is array else converted


def _label(module):
    """How messages name a module: ``dense_1 (Dense)``, or the class name alone."""
    name = getattr(module, "name", None)
    kind = type(module).__name__
    return f"{name} ({kind})" if isinstance(name, str) else kind


def _move(tensor, backend, dtype):
    if backend is not None and tensor._backend is not backend:
        tensor.data = backend.asarray(tensor.data)
        if tensor.grad is not None:
            _move(tensor.grad, backend, None)
        tensor._backend = backend
    if dtype is not None and dtypes.is_floating(tensor.dtype) and tensor.dtype != dtype:
        tensor.data = tensor.data.astype(dtype)
        if tensor.grad is not None:
            tensor.grad.data = tensor.grad.data.astype(dtype)


class Layer(Module):
    """A module that creates its weights from the first input it sees, as in Keras, so that
    ``Dense(64)`` needs no input size.

    Subclasses define ``build(input_shape)`` (creating weights with :meth:`add_weight`) and
    ``forward``. Common keyword arguments: ``name``; ``input_shape`` (without the batch axis,
    as Keras's) on the first layer of a model; ``dtype`` of the weights (float32).
    """

    def __init__(self, name=None, input_shape=None, input_dim=None, dtype=None, trainable=True):
        super().__init__()
        self.name = name or unique_layer_name(type(self).__name__)
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        self.input_shape = tuple(input_shape) if input_shape is not None else None
        self.dtype = dtypes.as_dtype(dtype) if dtype is not None else dtypes.default_float
        self.trainable = trainable
        self.built = False
        self.output_shape = None
        self._regularized = []

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__:
            cls.build = _marks_built(cls.__dict__["build"])

    def build(self, input_shape):
        """Create the weights for inputs of ``input_shape`` (with the batch axis first; None
        for a size not known yet, as Keras's ``build``). Called by the first call; calling it
        yourself builds the layer now (``built`` becomes True, and the first call does not
        build again).

        >>> layer = mg.nn.Dense(4)
        >>> layer.build((None, 3))
        >>> layer.kernel.shape, layer.built
        ((3, 4), True)
        """

    def add_weight(self, name, shape, initializer="glorot_uniform", regularizer=None,
                   fan_in=None, fan_out=None, trainable=True):
        """Create a :class:`Parameter` of ``shape`` on this layer's device, initialized by name
        or function, registered as attribute ``name``; returns it."""
        shape = tuple(int(s) for s in shape)
        if fan_in is None:
            fan_in = shape[0] if shape else 1
        if fan_out is None:
            fan_out = shape[-1] if shape else 1
        backend = self._device or get_backend("cpu")
        array = initializers.get(initializer)(shape, fan_in, fan_out, self.dtype, backend)
        parameter = Parameter(Tensor._make(array, backend), requires_grad=trainable
                              and self.trainable)
        setattr(self, name, parameter)
        regularizer = regularizers.get(regularizer)
        if regularizer is not None:
            self._regularized.append((parameter, regularizer))
        return parameter

    def __call__(self, x, *args, training=None, **kwargs):
        if symbolic_inputs(x):  # building a functional model (keras.Input)
            from .layers.input_layer import call_symbolically
            return call_symbolically(self, x, args, kwargs if training is None else
                                     {**kwargs, "training": training})
        if not isinstance(x, Tensor):  # layer(numpy_array), as in Keras
            input_dtype = getattr(self, "input_dtype", None)
            x = as_input_tensor(x, self, self.dtype, keep_integers=input_dtype is not None
                                and np.dtype(input_dtype).kind in "iu")
        if not self.built:
            with _building:  # two threads calling at once must not make two sets of weights
                if not self.built:
                    self._check_input_shape(x)
                    self.build(tuple(x.shape))
                    self.built = True
        with training_mode(self, training):  # Keras's layer(x, training=True)
            output = self.forward(x, *args, **kwargs)
        first = output[0] if isinstance(output, (tuple, list)) else output
        self.output_shape = (None,) + tuple(first.shape[1:])
        return output

    def _check_input_shape(self, x):
        # None in input_shape is an axis of any length (Keras's input_shape=(None, 3) for
        # sequences of any length)
        given = tuple(x.shape[1:])
        if self.input_shape is not None and (
                len(given) != len(self.input_shape) or
                any(d is not None and d != g for d, g in zip(self.input_shape, given))):
            raise ValueError(f"{self.name} expected input of shape (N, "
                             f"{', '.join(map(str, self.input_shape))}), got {tuple(x.shape)}")

    def get_config(self):
        """The constructor arguments that rebuild this layer (JSON-serializable), as Keras's
        ``get_config``; subclasses add their own."""
        config = {"name": self.name, "dtype": self.dtype.name}
        if self.input_shape is not None:
            config["input_shape"] = list(self.input_shape)
        if not self.trainable:
            config["trainable"] = False
        return config

    @classmethod
    def from_config(cls, config):
        """The layer that :meth:`get_config` described (weights not included)."""
        return cls(**config)


def _marks_built(build):
    """``build`` that sets ``layer.built`` when it returns (as Keras wraps a layer's build), so
    that a layer built by hand is not built again (with new weights) by its first call."""
    @functools.wraps(build)
    def build_and_mark(self, input_shape, *args, **kwargs):
        try:
            result = build(self, input_shape, *args, **kwargs)
        except BaseException:
            self.built = False
            raise
        self.built = True
        return result

    return build_and_mark


Layer.build = _marks_built(Layer.build)

# Held while a layer builds its weights on its first call. One lock for all layers (building
# happens once per layer, so it is never contended for long), reentrant because building a
# wrapper (Bidirectional, Module.build) calls the layers inside it.
_building = threading.RLock()

# Per thread: {id(module): [mode, ...]}, the modes that eval_mode() and training= arguments
# set in this thread, innermost last; they hide the module's own flag from this thread only.
_thread_modes = threading.local()


def _modes_here():
    modes = getattr(_thread_modes, "modes", None)
    if modes is None:
        modes = _thread_modes.modes = {}
    return modes


@contextmanager
def _mode_in_this_thread(module, training):
    """The block runs with ``module`` and every module below it in mode ``training`` as seen
    from this thread; nothing shared changes."""
    modes = _modes_here()
    keys = [id(m) for m in module.modules()]
    for key in keys:
        modes.setdefault(key, []).append(bool(training))
    try:
        yield module
    finally:
        for key in keys:
            stack = modes[key]
            stack.pop()
            if not stack:
                del modes[key]


@contextmanager
def training_mode(module, training):
    """Keras's ``training=`` argument of a call: the block runs with ``module`` and every module
    below it in training (True) or evaluation (False) behaviour, in this thread only (as
    :func:`eval_mode`, but recording gradients); None changes nothing."""
    if training is None:
        yield module
        return
    with _mode_in_this_thread(module, training):
        yield module


@contextmanager
def eval_mode(module):
    """Run the block with ``module`` and every module below it in evaluation behaviour
    (Dropout off, BatchNormalization on its moving statistics) and without recording
    gradients -- in this thread only: nothing shared changes, so other threads (another
    ``predict``, or a training loop) keep seeing the module's own mode
    (:attr:`~minigrad.nn.Module.training`, set by :meth:`~minigrad.nn.Module.train` /
    :meth:`~minigrad.nn.Module.eval`). What ``predict`` and ``evaluate`` run under, which makes
    them safe to call from several threads at once.

    >>> layer = mg.nn.Dropout(0.5)
    >>> with mg.nn.module.eval_mode(layer):
    ...     layer(mg.ones(4)).tolist()
    [1.0, 1.0, 1.0, 1.0]
    >>> layer.training
    True
    """
    with _mode_in_this_thread(module, False), no_grad():
        yield module
