"""``Input`` and ``InputLayer``: where a functional model starts, and the symbolic tensors
(``KerasTensor``) that record which layer was called on what.

``x = Input(shape=(784,))`` is a placeholder for a batch of inputs; calling a layer on it
(``Dense(64)(x)``) builds the layer for that shape at once and returns a new placeholder that
remembers the call (a :class:`Node`). :class:`minigrad.train.functional.Functional`
(``keras.Model(inputs, outputs)``) walks these nodes back from the outputs to the inputs and
replays them on real data.

How shapes are found: every placeholder carries a small probe array (batch 1, each unknown
size 1); the layer runs on it in evaluation mode without gradients, which builds it and gives
the output's shape. Where an input has unknown sizes (``Input(shape=(None,))``), a second
probe with those sizes 2 tells which output sizes follow them (they are None too).
"""

import numpy as np

from ... import dtypes
from ...autograd.tensor import Tensor
from ...backends import get_backend
from .. import init
from ..module import Layer, eval_mode, symbolic_inputs


class Node:
    """One call of ``layer`` in a functional graph: its symbolic ``inputs`` (a KerasTensor or
    a list of them, as passed), the other arguments, and the symbolic ``outputs`` (a list)."""

    def __init__(self, layer, inputs, args, kwargs):
        self.layer, self.inputs, self.args, self.kwargs = layer, inputs, args, kwargs
        self.outputs = []

    @property
    def flat_inputs(self):
        """The input KerasTensors as a list."""
        return list(self.inputs) if isinstance(self.inputs, (list, tuple)) else [self.inputs]


class KerasTensor(Tensor):
    """A symbolic batch: ``shape`` has None for the batch axis (and any size not known yet);
    ``node`` is the call that made it (None for an Input). Only layers can be applied to it;
    arithmetic on it would not be recorded in the model, so it raises TypeError."""

    #: True for a placeholder (a layer called on one records the call instead of computing).
    is_symbolic = True

    @classmethod
    def make(cls, probe, alternate, shape, node=None, index=0, name=None):
        """A placeholder of symbolic ``shape`` around the tensor ``probe`` (its batch of 1);
        ``alternate``: the second probe's array (unknown sizes 2) or None; ``node``/``index``:
        the call that made it and which of its outputs it is."""
        tensor = cls._make(probe.data, probe._backend)
        tensor.alternate = alternate  # the second probe (unknown sizes 2), or None
        tensor.symbolic_shape = tuple(shape)
        tensor.node, tensor.node_index, tensor.name = node, index, name
        return tensor

    @property
    def shape(self):
        """(None, ...): the batch axis and unknown sizes are None."""
        return self.symbolic_shape

    def probe(self, second=False):
        """The probe batch as a plain tensor (the second one when asked and there is one)."""
        data = self.alternate if second and self.alternate is not None else self.data
        return Tensor._make(data, self._backend)

    def __repr__(self):
        return (f"<KerasTensor shape={self.symbolic_shape}, dtype={self.dtype.name}"
                + (f", name={self.name}" if self.name else "") + ">")

    def _no_ops(self, *args, **kwargs):
        raise TypeError("arithmetic on a symbolic tensor (keras.Input or a layer's output) is "
                        "not recorded in a functional model; use layers (Add, Subtract, "
                        "Multiply, Activation, Reshape, ...) between the inputs and outputs")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _no_ops
    __truediv__ = __rtruediv__ = __matmul__ = __rmatmul__ = __pow__ = __neg__ = _no_ops
    __getitem__ = _no_ops

    def __len__(self):
        raise TypeError(f"a symbolic tensor has no length (shape {self.symbolic_shape})")

    def __bool__(self):
        raise TypeError("a symbolic tensor has no truth value")


def _probe_array(shape, dtype, unknown_size, backend):
    return backend.asarray(np.zeros(tuple(unknown_size if d is None else d for d in shape),
                                    dtype=dtype))


class InputLayer(Layer):
    """The entry of a functional model (made by :func:`Input`); in a ``Sequential`` it only
    sets the input shape, so the model is built at once. ``shape`` is without the batch
    axis, None for a size that varies (a sequence length)."""

    def __init__(self, shape=None, batch_size=None, dtype=None, input_shape=None, name=None,
                 **kwargs):
        shape = shape if shape is not None else input_shape
        if shape is None:
            raise ValueError("InputLayer needs a shape, e.g. InputLayer(shape=(784,))")
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        shape = tuple(None if d is None else int(d) for d in shape)
        if any(d is not None and d <= 0 for d in shape):
            raise ValueError(f"InputLayer shape takes positive sizes (or None), got {shape}")
        # A model loaded from a file makes its probes within the file's allocation budget.
        init.check_input_shape((1, *(2 if d is None else d for d in shape)), "an Input's shape")
        super().__init__(name=name or None, **kwargs)
        self.dtype = dtypes.as_dtype(dtype) if dtype is not None else dtypes.default_float
        self.shape, self.batch_size = shape, batch_size
        self.input_shape = shape
        self.output_shape = (batch_size, *shape)
        self.built = True
        backend = self._device or get_backend("cpu")
        probe = Tensor._make(_probe_array((1, *shape), self.dtype, 1, backend), backend)
        alternate = _probe_array((1, *shape), self.dtype, 2, backend) if None in shape else None
        #: The symbolic tensor that stands for this input.
        self.output = KerasTensor.make(probe, alternate, (batch_size, *shape), name=self.name)
        self.output.input_layer = self

    def forward(self, x):
        return x

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype.name, "shape": list(self.shape),
                "batch_size": self.batch_size}


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None):
    """A symbolic input of per-sample ``shape`` (without the batch axis; None for a size that
    varies) -- Keras's ``keras.Input``. ``dtype``: float32 by default, an integer dtype for
    token ids. ``batch_shape=(None, 784)`` is the same as ``shape=(784,)``.

    >>> x = mg.nn.Input(shape=(784,))
    >>> x.shape
    (None, 784)
    >>> mg.nn.Dense(10)(x).shape
    (None, 10)
    """
    if batch_shape is not None:
        batch_size, shape = batch_shape[0], tuple(batch_shape[1:])
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name).output


def _structure_map(function, value):
    if isinstance(value, (list, tuple)):
        return [function(item) for item in value]
    return function(value)


def _flatten(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


def call_symbolically(module, inputs, args, kwargs):
    """Record ``module(inputs, *args, **kwargs)`` on symbolic inputs: run it on the probes
    (which builds it) and return symbolic outputs (one, or a list as the module returns)."""
    if symbolic_inputs(list(args) + list(kwargs.values())):
        raise TypeError(f"{getattr(module, 'name', type(module).__name__)}: only the first "
                        "argument may be a symbolic tensor in a functional model")
    flat = _flatten(inputs)
    if not all(isinstance(t, KerasTensor) for t in flat):
        raise TypeError(f"{getattr(module, 'name', type(module).__name__)}: mixes symbolic "
                        "tensors and real values in one call")

    def run(second):
        values = _structure_map(lambda t: t.probe(second), inputs)
        with eval_mode(module):
            return module(values, *args, **kwargs)

    first = run(False)
    second = run(True) if any(t.alternate is not None for t in flat) else None
    node = Node(module, inputs, args, kwargs)
    results = _flatten(first)
    alternates = _flatten(second) if second is not None else [None] * len(results)
    for index, (result, alternate) in enumerate(zip(results, alternates)):
        shape = [None] + list(result.shape[1:])
        if alternate is not None:
            shape = [None] + [a if a == b else None
                              for a, b in zip(result.shape[1:], alternate.shape[1:])]
        varies = None in shape[1:]  # else the second probe tells nothing new downstream
        node.outputs.append(KerasTensor.make(result, alternate.data if varies else None, shape,
                                             node, index))
    if isinstance(first, (list, tuple)):
        return list(node.outputs)
    return node.outputs[0]
