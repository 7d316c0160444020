"""Recurrent layers: LSTM, GRU, SimpleRNN and the Bidirectional wrapper, Keras-style.

Each layer runs its whole sequence as ONE op of :mod:`minigrad.functional.recurrent` (a
hand-written backward through time), not a graph node per step.

Masks. A layer that consumes a mask accepts ``mask=`` (N, T) in its call and has
``supports_masking = True``; a layer that produces one has ``compute_mask(inputs, mask=None)``.
:class:`~minigrad.nn.Embedding` with ``mask_zero=True`` produces the mask ``ids != 0``; these
layers consume it (masked steps keep the state unchanged) and pass it on when they return
sequences::

    embed, rnn = mg.nn.Embedding(10000, 16, mask_zero=True), mg.nn.LSTM(32)
    mask = embed.compute_mask(ids)
    h = rnn(embed(ids), mask=mask)
"""

import copy

from ... import functional as F
from ...autograd.tensor import Tensor
from ...creation import ones
from .. import init as initializers
from ..activations import get as get_activation
from ..activations import name_of as activation_name
from ..module import Layer
from ..init import name_of as initializer_name
from ..regularizers import config_of as regularizer_config
from ..serialization import deserialize
from ..arguments import positive_int


class _Recurrent(Layer):
    """What LSTM, GRU and SimpleRNN share: weights, arguments, masks, the outputs to return."""

    #: These layers accept ``mask=`` (N, T) in their call.
    supports_masking = True
    _gates = 1         # kernel (features, _gates * units)
    _n_states = 1      # h (and c for the LSTM)

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, dropout=0.0, recurrent_dropout=0.0,
                 return_sequences=False, return_state=False, go_backwards=False,
                 zero_output_for_mask=False, **kwargs):
        super().__init__(**kwargs)
        kind = type(self).__name__
        units = positive_int(units, "units", kind)
        if not 0 <= dropout < 1:
            raise ValueError(f"{kind}: dropout must be in [0, 1), got {dropout}")
        if recurrent_dropout:
            raise NotImplementedError(f"{kind}: recurrent_dropout is not supported (the fused "
                                      "recurrent kernels have no dropout on the state); use "
                                      "dropout= on the inputs, or a Dropout layer")
        self.units = int(units)
        self.activation = _fused_activation(kind, "activation", activation,
                                            self._activations)
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = kernel_regularizer
        self.recurrent_regularizer = recurrent_regularizer
        self.bias_regularizer = bias_regularizer
        self.dropout = float(dropout)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.zero_output_for_mask = bool(zero_output_for_mask)

    _activations = ("tanh",)

    # --- weights ----------------------------------------------------------------------------
    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{self.name} expected input of shape (N, T, features), got "
                             f"{tuple(input_shape)}")
        features, width = input_shape[-1], self._gates * self.units
        self.add_weight("kernel", (features, width), self.kernel_initializer,
                        self.kernel_regularizer)
        self.add_weight("recurrent_kernel", (self.units, width), self.recurrent_initializer,
                        self.recurrent_regularizer)
        if self.use_bias:
            self.add_weight("bias", self._bias_shape(), self._bias_initializer(),
                            self.bias_regularizer, fan_in=features, fan_out=width)

    def _bias_shape(self):
        return (self._gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    # --- calling ----------------------------------------------------------------------------
    def forward(self, x, initial_state=None, mask=None):
        """Run the sequence ``x`` (N, T, features).

        Args:
            initial_state: the initial state(s), (N, units) each (LSTM: ``[h, c]``); zeros if
                None.
            mask: (N, T) bool tensor or array, False at padded steps (see the module's
                docstring), or None.

        Returns:
            The outputs (N, T, units) if ``return_sequences`` (in processing order, so reversed
            in time if ``go_backwards``, as in Keras), else the last output (N, units); with
            ``return_state``, a tuple ``(output, h)`` (LSTM: ``(output, h, c)``).
        """
        outputs, states = self._run(x, initial_state, mask, self.go_backwards,
                                    self.zero_output_for_mask)
        if self.return_sequences and self.go_backwards:
            outputs = outputs[:, ::-1]
        return (outputs, *states) if self.return_state else outputs

    def _run(self, x, initial_state, mask, reverse, zero_output_for_mask):
        """(outputs, [final states]) of the sequence processed forwards, or backwards if
        ``reverse``; the outputs are (N, T, units) in time order if ``return_sequences``, else
        the last output (N, units)."""
        self._check_input(x)
        states = self._initial_states(initial_state)
        if self.dropout and self.training:
            # Keras's input dropout: one mask per sequence and feature, the same at every step.
            keep = F.dropout(ones(x.shape[0], 1, x.shape[2], dtype=x.dtype, device=x.device),
                             self.dropout)
            x = x * keep
        bias = self.bias if self.use_bias else None
        outputs, *final = self._op(x, self.kernel, self.recurrent_kernel, bias, *states,
                                   mask=mask, reverse=reverse,
                                   zero_output_for_mask=zero_output_for_mask,
                                   return_sequences=self.return_sequences)
        return outputs, final

    def _check_input(self, x):
        features = self.kernel.shape[0]
        if not isinstance(x, Tensor) or x.ndim != 3 or x.shape[2] != features:
            shape = tuple(x.shape) if hasattr(x, "shape") else type(x).__name__
            raise ValueError(f"{self.name} expected input of shape (N, T, {features}), got "
                             f"{shape}")

    def _initial_states(self, initial_state):
        if initial_state is None:
            return [None] * self._n_states
        states = [initial_state] if isinstance(initial_state, Tensor) else list(initial_state)
        if len(states) != self._n_states:
            names = "[h, c]" if self._n_states == 2 else "[h]"
            raise ValueError(f"{self.name}: initial_state must be {names} ({self._n_states} "
                             f"tensor(s) of shape (N, {self.units})), got {len(states)}")
        return states

    def compute_mask(self, inputs, mask=None):
        """The mask of this layer's output: ``mask`` itself when returning sequences (each
        step keeps its mask), else None."""
        return mask if self.return_sequences else None

    # --- config -----------------------------------------------------------------------------
    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activation_name(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": initializer_name(self.kernel_initializer),
                "recurrent_initializer": initializer_name(self.recurrent_initializer),
                "bias_initializer": initializer_name(self.bias_initializer),
                "kernel_regularizer": regularizer_config(self.kernel_regularizer),
                "recurrent_regularizer": regularizer_config(self.recurrent_regularizer),
                "bias_regularizer": regularizer_config(self.bias_regularizer),
                "dropout": self.dropout, "return_sequences": self.return_sequences,
                "return_state": self.return_state, "go_backwards": self.go_backwards}

    def extra_repr(self):
        built = f"{self.kernel.shape[0]} -> " if self.built else ""
        flags = [name for name in ("return_sequences", "return_state", "go_backwards")
                 if getattr(self, name)]
        return f"{built}{self.units}" + "".join(f", {flag}=True" for flag in flags)


class LSTM(_Recurrent):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997), as Keras's ``LSTM``.

    Input: (N, T, features), batch first. Output: (N, units) (the last state), or (N, T,
    units) with ``return_sequences=True``; with ``return_state=True`` also the final ``h`` and
    ``c``. Weights: ``kernel`` (features, 4 * units) ``glorot_uniform``, ``recurrent_kernel``
    (units, 4 * units) ``orthogonal``, ``bias`` (4 * units,) zeros with the forget gate's part
    set to 1 (``unit_forget_bias=True``); the gates side by side in the order i, f, c, o (the
    same as PyTorch's i, f, g, o: ``kernel = weight_ih.T``, ``bias = bias_ih + bias_hh``).

    The whole sequence is one op, :func:`minigrad.functional.lstm`, whose kernels implement
    ``activation="tanh"`` and ``recurrent_activation="sigmoid"`` (Keras's defaults) only.

    Args:
        units: size of the state.
        return_sequences: return every step's output, not only the last.
        return_state: also return the final states.
        go_backwards: process the sequence from the end (and return it in that order).
        dropout: fraction of the input features dropped while training (one mask per sequence).
        unit_forget_bias: start the forget gate's bias at 1.

    >>> layer = mg.nn.LSTM(8, return_sequences=True)
    >>> layer(mg.randn(2, 5, 3)).shape
    (2, 5, 8)
    """

    _gates = 4
    _n_states = 2
    _op = staticmethod(F.lstm)

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 unit_forget_bias=True, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = _fused_activation("LSTM", "recurrent_activation",
                                                      recurrent_activation, ("sigmoid",))
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        units, base = self.units, initializers.get(self.bias_initializer)

        def forget_bias_one(shape, fan_in, fan_out, dtype, backend):
            bias = base(shape, fan_in, fan_out, dtype, backend)
            bias[units:2 * units] = 1
            return bias

        return forget_bias_one

    def get_config(self):
        return {**super().get_config(),
                "recurrent_activation": activation_name(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}


class GRU(_Recurrent):
    """Gated recurrent unit (Cho et al., 2014), as Keras's ``GRU``: by default with
    ``reset_after=True`` (Keras's default), which is the formulation of PyTorch's ``nn.GRU``.

    Input: (N, T, features). Output: as :class:`LSTM` (the state is ``h`` only). Weights:
    ``kernel`` (features, 3 * units), ``recurrent_kernel`` (units, 3 * units), gates in the
    order z (update), r (reset), h (candidate); ``bias`` (2, 3 * units), row 0 for the inputs,
    row 1 for the state. PyTorch orders its gates r, z, n and keeps ``bias_ih`` and ``bias_hh``:
    ``kernel[:, :U] = weight_ih[U:2U].T`` (z), ``kernel[:, U:2U] = weight_ih[:U].T`` (r),
    ``kernel[:, 2U:] = weight_ih[2U:].T``, and the same for ``weight_hh`` and the two biases.

    ``reset_after=False`` is Keras's other variant (the original GRU), which PyTorch does not
    have: the reset gate scales the state before the candidate's recurrent product,
    ``hh = tanh(x W_h + b_h + (r * h) U_h)``, and ``bias`` is one (3 * units,) vector, on the
    inputs; weights otherwise as above, the same as Keras's. See
    :func:`minigrad.functional.gru` for the formulas.

    >>> mg.nn.GRU(4)(mg.randn(2, 5, 3)).shape
    (2, 4)
    >>> layer = mg.nn.GRU(4, reset_after=False)
    >>> layer(mg.randn(2, 5, 3)).shape, layer.bias.shape
    ((2, 4), (12,))
    """

    _gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 reset_after=True, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = _fused_activation("GRU", "recurrent_activation",
                                                      recurrent_activation, ("sigmoid",))
        if reset_after not in (True, False):
            raise ValueError(f"GRU: reset_after must be True or False, got {reset_after!r}")
        self.reset_after = bool(reset_after)

    def _op(self, *args, **kwargs):
        return F.gru(*args, reset_after=self.reset_after, **kwargs)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def get_config(self):
        return {**super().get_config(),
                "recurrent_activation": activation_name(self.recurrent_activation),
                "reset_after": self.reset_after}


class SimpleRNN(_Recurrent):
    """A fully connected recurrent layer, ``h = activation(x_t @ kernel + h @ recurrent_kernel
    + bias)``, as Keras's ``SimpleRNN`` (and PyTorch's ``nn.RNN``).

    Input: (N, T, features). Output: as :class:`LSTM`. Weights: ``kernel`` (features, units),
    ``recurrent_kernel`` (units, units), ``bias`` (units,). ``activation`` is ``"tanh"`` or
    ``"relu"``.

    >>> mg.nn.SimpleRNN(4, return_sequences=True)(mg.randn(2, 5, 3)).shape
    (2, 5, 4)
    """

    _activations = ("tanh", "relu")

    def _op(self, *args, **kwargs):
        return F.simple_rnn(*args, activation=activation_name(self.activation), **kwargs)


class Bidirectional(Layer):
    """Run a recurrent layer over the sequence in both directions and merge the two results,
    as Keras's ``Bidirectional``.

    The forward layer is ``layer``; the backward layer is a copy of it with ``go_backwards``
    flipped (or ``backward_layer``), with weights of its own. The backward layer reads the
    sequence from the end; when returning sequences its outputs are reversed back, so that both
    are in time order before they are merged. With ``return_sequences=True``, masked steps
    output 0 (Keras does the same).

    Input: (N, T, features). Output: merged (N, 2 * units) for ``merge_mode="concat"`` (the
    default), (N, units) for ``"sum"``, ``"mul"`` and ``"ave"``; (N, T, ...) if the layer
    returns sequences; ``merge_mode=None`` returns the pair ``[forward, backward]``. With
    ``return_state``, the forward layer's states and then the backward layer's follow.

    The same as PyTorch's ``nn.LSTM(..., bidirectional=True)`` (its ``_reverse`` weights are
    the backward layer's) and, without return_sequences, ``concat([h_n[0], h_n[1]])``.

    >>> layer = mg.nn.Bidirectional(mg.nn.LSTM(4))
    >>> layer(mg.randn(2, 5, 3)).shape
    (2, 8)
    """

    #: Bidirectional accepts ``mask=`` (N, T) in its call and hands it to both layers.
    supports_masking = True
    #: The values ``merge_mode`` may take.
    MERGE_MODES = ("concat", "sum", "mul", "ave", None)

    def __init__(self, layer, merge_mode="concat", backward_layer=None, **kwargs):
        if not isinstance(layer, _Recurrent):
            raise TypeError(f"Bidirectional wraps an LSTM, GRU or SimpleRNN, got "
                            f"{type(layer).__name__}")
        if merge_mode not in self.MERGE_MODES:
            raise ValueError(f"Bidirectional: merge_mode must be one of 'concat', 'sum', "
                             f"'mul', 'ave' or None, got {merge_mode!r}")
        if kwargs.get("input_shape") is None and layer.input_shape is not None:
            kwargs["input_shape"] = layer.input_shape
        super().__init__(**kwargs)
        if backward_layer is None:
            if layer.built:
                raise ValueError("Bidirectional needs a layer that has not been called yet "
                                 "(its backward copy must get weights of its own)")
            backward_layer = copy.deepcopy(layer)
            backward_layer.go_backwards = not layer.go_backwards
        elif (not isinstance(backward_layer, _Recurrent)
              or backward_layer.go_backwards == layer.go_backwards
              or backward_layer.return_sequences != layer.return_sequences
              or backward_layer.return_state != layer.return_state):
            raise ValueError("Bidirectional: backward_layer must be a recurrent layer with the "
                             "opposite go_backwards and the same return_sequences and "
                             "return_state as the forward layer")
        layer.name, backward_layer.name = f"forward_{layer.name}", f"backward_{layer.name}"
        self.forward_layer, self.backward_layer = layer, backward_layer
        self.merge_mode = merge_mode
        self.return_sequences, self.return_state = layer.return_sequences, layer.return_state
        for sub in (layer, backward_layer):
            sub.zero_output_for_mask = self.return_sequences  # as Keras's Bidirectional

    def build(self, input_shape):
        for sub in (self.forward_layer, self.backward_layer):
            if not sub.built:
                sub.build(tuple(input_shape))
                sub.built = True

    def forward(self, x, initial_state=None, mask=None):
        """Run both directions over ``x`` (N, T, features) and merge them.

        Args:
            initial_state: the forward layer's initial states followed by the backward
                layer's (``[h_f, c_f, h_b, c_b]`` for an LSTM), or None.
            mask: (N, T), as for :meth:`LSTM.forward <minigrad.nn.LSTM.forward>`.
        """
        layers = (self.forward_layer, self.backward_layer)
        if initial_state is None:
            halves = (None, None)
        else:
            initial_state = list(initial_state)
            half = len(initial_state) // 2
            halves = (initial_state[:half], initial_state[half:])
        results, states = [], []
        for sub, initial in zip(layers, halves):
            outputs, final = sub._run(x, initial, mask, sub.go_backwards,
                                      sub.zero_output_for_mask)
            sub.output_shape = (None,) + tuple(outputs.shape[1:])  # (for model summaries)
            results.append(outputs)
            states.extend(final)
        merged = self._merge(*results)
        if not self.return_state:
            return merged
        return (*merged, *states) if self.merge_mode is None else (merged, *states)

    def _merge(self, forward, backward):
        if self.merge_mode == "concat":
            return F.concat([forward, backward], axis=-1)
        if self.merge_mode == "sum":
            return forward + backward
        if self.merge_mode == "mul":
            return forward * backward
        if self.merge_mode == "ave":
            return (forward + backward) * 0.5
        return [forward, backward]

    def compute_mask(self, inputs, mask=None):
        """``mask`` when returning sequences, else None (as the wrapped layer)."""
        return mask if self.return_sequences else None

    def get_config(self):
        return {**super().get_config(), "merge_mode": self.merge_mode,
                "layer": {"class_name": type(self.forward_layer).__name__,
                          "config": {**self.forward_layer.get_config(),
                                     "name": self.forward_layer.name[len("forward_"):]}}}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        inner = config.pop("layer")
        layer = deserialize(inner)  # any recurrent layer minigrad.nn exports (QuantizedLSTM)
        return cls(layer, **config)

    def extra_repr(self):
        return f"merge_mode={self.merge_mode!r}"


def _fused_activation(layer, argument, value, allowed):
    """The activation function for ``value`` if it is one the fused kernels implement."""
    for name in allowed:
        if value == name or value is get_activation(name):
            return get_activation(name)
    raise ValueError(f"{layer}: {argument} must be {' or '.join(repr(a) for a in allowed)} "
                     f"(what the fused recurrent kernels implement), got {value!r}")
