"""ONNX converters of LSTM, GRU, SimpleRNN and Bidirectional, masks included.

Weights. Keras (and minigrad) keep ``kernel`` (F, G*U) and ``recurrent_kernel`` (U, G*U), the
gates side by side; ONNX's ``LSTM``/``GRU``/``RNN`` take ``W`` (1, G*U, F), ``R`` (1, G*U, U) and
one ``B`` (1, 2*G*U) = input bias then recurrent bias. The gate orders (checked by the tests
against ``model.predict``, not assumed):

- LSTM: minigrad i, f, c, o; ONNX i, o, f, c, so the blocks are taken in the order 0, 3, 1, 2.
- GRU: minigrad z, r, h; ONNX z, r, h (the same). ``reset_after=True`` is ONNX's
  ``linear_before_reset=1`` (its two bias rows are ONNX's Wb and Rb); ``reset_after=False`` is
  ``linear_before_reset=0`` with a zero recurrent bias.
- SimpleRNN: one block; ``activation`` "tanh" or "relu" becomes ONNX's ``Tanh`` or ``Relu``.

Masks. At a masked step minigrad (as Keras 3) carries the state over unchanged, so the states
are those of the sequence with its masked steps removed. ONNX's recurrent ops only know a
per-sample length (``sequence_lens``: the first L steps are real), which covers post-padding
read forwards but neither pre-padding nor a backward direction. So with a mask, for any
pattern of masked steps, the graph

1. moves each sample's real steps to the front, in processing order (ascending time, or
   descending for ``go_backwards``), by sorting the key ``padded * T + position`` with TopK;
2. runs the ONNX op forwards with ``sequence_lens`` = the number of real steps;
3. gathers the output of each time step t from position ``count(t) - 1`` of the result, where
   count(t) is the number of real steps read up to and including t (a cumulative sum of the
   mask, reversed for the backward direction), and multiplies it by minigrad's output factor
   (the mask itself with ``zero_output_for_mask``, else ``count(t) > 0``).

A sample that is all padding runs one step (ONNX needs a length of at least 1 in some runtimes)
whose state is then multiplied by 0: the state minigrad keeps there is its initial zero state.
"""

import numpy as np

from ...nn.activations import name_of as activation_name
from ...nn.layers.recurrent import GRU, LSTM, Bidirectional, SimpleRNN
from .builder import Symbol
from .registry import UnsupportedLayerError, converts
from .sequence import as_numpy, cast_float, reduce_sum, squeeze, unsqueeze

#: ONNX's name of each activation that its recurrent ops accept (and minigrad's layers have).
_ONNX_ACTIVATIONS = {"tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu"}
_INT64_MAX = np.iinfo(np.int64).max
_INT64, _INT32 = 7, 6       # onnx.TensorProto.INT64, INT32


# --- the layers ------------------------------------------------------------------------------

@converts(LSTM, GRU, SimpleRNN)
def convert_recurrent(layer, builder, inputs):
    """One recurrent layer: outputs as its ``forward`` (reversed in time when it returns the
    sequence read backwards), then the final states when ``return_state``."""
    x = _single_input(layer, inputs)
    outputs, states = _run(layer, builder, x, layer.go_backwards, layer.zero_output_for_mask)
    if layer.return_sequences and layer.go_backwards:
        outputs = builder.node("Slice", [outputs, _ints(builder, [-1], layer),
                                         _ints(builder, [-_INT64_MAX], layer),
                                         _ints(builder, [1], layer), _ints(builder, [-1], layer)],
                               hint=f"{layer.name}/reversed")
    output = Symbol(outputs, mask=x.mask if layer.return_sequences else None,
                    shape=_output_shape(layer, x, layer.units))
    if not layer.return_state:
        return [output]
    return [output] + [Symbol(s, shape=(layer.units,)) for s in states]


@converts(Bidirectional)
def convert_bidirectional(layer, builder, inputs):
    """Both directions, each as :func:`convert_recurrent` without the final flip (the backward
    outputs are in time order), merged as ``layer.merge_mode`` says."""
    x = _single_input(layer, inputs)
    results, states = [], []
    for sub in (layer.forward_layer, layer.backward_layer):
        outputs, final = _run(sub, builder, x, sub.go_backwards, sub.zero_output_for_mask)
        results.append(outputs)
        states.extend(final)
    mask = x.mask if layer.return_sequences else None
    units = layer.forward_layer.units
    hint = f"{layer.name}/{layer.merge_mode}"
    if layer.merge_mode == "concat":
        merged = [builder.node("Concat", results, hint=hint, axis=-1)]
        units = 2 * units
    elif layer.merge_mode == "sum":
        merged = [builder.node("Add", results, hint=hint)]
    elif layer.merge_mode == "mul":
        merged = [builder.node("Mul", results, hint=hint)]
    elif layer.merge_mode == "ave":
        half = builder.weight(0.5, f"{layer.name}/half")
        merged = [builder.node("Mul", [builder.node("Add", results, hint=f"{hint}/sum"), half],
                               hint=hint)]
    else:
        merged = results
    shape = _output_shape(layer, x, units)
    outputs = [Symbol(name, mask=mask, shape=shape) for name in merged]
    if layer.return_state:
        outputs += [Symbol(s, shape=(layer.forward_layer.units,)) for s in states]
    return outputs


# --- one direction -----------------------------------------------------------------------------

def _run(layer, builder, x, reverse, zero_output_for_mask):
    """The nodes of ``layer._run``: (outputs, [final states]) as value names; outputs (N, T, U)
    in time order if ``return_sequences``, else the last output (N, U)."""
    op, weights, attributes = _onnx_op(layer, builder)
    name = layer.name
    xs = builder.node("Transpose", [x.name], hint=f"{name}/time_major", perm=[1, 0, 2])
    n_out = 3 if op == "LSTM" else 2
    if x.mask is None:
        y, *final = builder.node(op, [xs, *weights], hint=f"{name}/{op.lower()}", outputs=n_out,
                                 direction="reverse" if reverse else "forward", **attributes)
        states = [squeeze(builder, s, 0, f"{name}/state") for s in final]
        if not layer.return_sequences:
            return states[0], states
        return _batch_major(builder, y, name), states
    return _run_masked(layer, builder, op, weights, attributes, xs, x.mask, reverse,
                       zero_output_for_mask, n_out)


def _run_masked(layer, builder, op, weights, attributes, xs, mask, reverse,
                zero_output_for_mask, n_out):
    """:func:`_run` with a mask (N, T) of any pattern: see the module's docstring."""
    name = layer.name
    real = builder.node("Cast", [mask], hint=f"{name}/real", to=_INT64)        # (N, T) 0/1
    packed, length = _pack(layer, builder, xs, real, reverse)
    lens = builder.node("Cast", [_at_least(builder, length, 1, layer)],
                        hint=f"{name}/sequence_lens", to=_INT32)
    y, *final = builder.node(op, [packed, *weights, lens], hint=f"{name}/{op.lower()}",
                             outputs=n_out, direction="forward", **attributes)

    # the state of an all-padding sample is the initial zero state, not that of its one step
    anything = builder.node("Greater", [length, _ints(builder, 0, layer)], hint=f"{name}/any")
    anything = unsqueeze(builder, cast_float(builder, anything, f"{name}/any_f"), 1,
                         f"{name}/any_n1")                                    # (N, 1)
    states = [builder.node("Mul", [squeeze(builder, s, 0, f"{name}/state"), anything],
                           hint=f"{name}/state") for s in final]

    # count[n, t]: the real steps read up to and including t, in the order they are read
    count = builder.node("CumSum", [real, _ints(builder, 1, layer)], hint=f"{name}/count",
                         reverse=int(reverse))                                # (N, T)
    seen = mask if zero_output_for_mask else builder.node(
        "Greater", [count, _ints(builder, 0, layer)], hint=f"{name}/seen")
    keep = cast_float(builder, seen, f"{name}/keep")                          # (N, T)
    if not layer.return_sequences:  # the output of the step read last
        index = _ints(builder, [0 if reverse else -1], layer)
        keep_last = builder.node("Gather", [keep, index], hint=f"{name}/keep_last", axis=1)
        return builder.node("Mul", [states[0], keep_last], hint=f"{name}/last"), states
    read = builder.node("Sub", [count, _ints(builder, 1, layer)], hint=f"{name}/read")
    outputs = _batch_major(builder, y, name)                                  # (N, T, U)
    index = _expand_like(builder, _at_least(builder, read, 0, layer), outputs, name)
    gathered = builder.node("GatherElements", [outputs, index], hint=f"{name}/unpacked",
                            axis=1)
    keep = unsqueeze(builder, keep, 2, f"{name}/keep3")
    return builder.node("Mul", [gathered, keep], hint=f"{name}/outputs"), states


def _pack(layer, builder, xs, real, reverse):
    """The steps of ``xs`` (T, N, F) with each sample's real steps first, in the order they are
    read, and the number of real steps per sample (N,)."""
    name = layer.name
    steps = builder.node("Gather", [builder.node("Shape", [real], hint=f"{name}/shape"),
                                    _ints(builder, [1], layer)], hint=f"{name}/steps")  # [T]
    position = builder.node("Range", [_ints(builder, 0, layer),
                                      squeeze(builder, steps, 0, f"{name}/t"),
                                      _ints(builder, 1, layer)], hint=f"{name}/position")
    if reverse:  # read from the end: the last real step comes first
        last = builder.node("Sub", [steps, _ints(builder, [1], layer)], hint=f"{name}/last")
        position = builder.node("Sub", [last, position], hint=f"{name}/position_reversed")
    padded = builder.node("Sub", [_ints(builder, 1, layer), real], hint=f"{name}/padded")
    key = builder.node("Add", [builder.node("Mul", [padded, steps], hint=f"{name}/padded_t"),
                               position], hint=f"{name}/key")                 # all distinct
    _, order = builder.node("TopK", [key, steps], hint=f"{name}/order", outputs=2, axis=1,
                            largest=0, sorted=1)                              # (N, T)
    order = builder.node("Transpose", [order], hint=f"{name}/order_t", perm=[1, 0])
    packed = builder.node("GatherElements", [xs, _expand_like(builder, order, xs, name)],
                          hint=f"{name}/packed", axis=0)                      # (T, N, F)
    return packed, reduce_sum(builder, real, 1, f"{name}/length", keepdims=False)


# --- weights -----------------------------------------------------------------------------------

def _onnx_op(layer, builder):
    """(ONNX op type, [W, R, B] value names, attributes) for ``layer``. W and R are stored
    under the hints ``"<layer>/kernel"`` and ``"<layer>/recurrent_kernel"``, which the export
    of quantized layers (:mod:`.quantized`) recognises to store them int8."""
    units = layer.units
    gates = layer.recurrent_kernel.shape[1] // units
    if layer.use_bias:
        bias = as_numpy(layer.bias, builder)
    else:
        bias = np.zeros((2, gates * units) if isinstance(layer, GRU) and layer.reset_after
                        else (gates * units,), builder.dtype)
    _check_activations(layer)
    if isinstance(layer, LSTM):
        op, order, attributes = "LSTM", [0, 3, 1, 2], {}       # i, f, c, o -> i, o, f, c
    elif isinstance(layer, GRU):
        op, order = "GRU", [0, 1, 2]                             # z, r, h both
        attributes = {"linear_before_reset": int(layer.reset_after)}
    else:
        op, order = "RNN", [0]
        attributes = {"activations": [_ONNX_ACTIVATIONS[activation_name(layer.activation)]]}
    if bias.ndim == 2:          # GRU(reset_after=True): input bias, recurrent bias
        input_bias, recurrent_bias = bias[0], bias[1]
    else:
        input_bias, recurrent_bias = bias, np.zeros_like(bias)

    def to_onnx(array):         # (rows, G*U) -> (1, G*U, rows); (G*U,) -> (G*U,)
        blocks = np.split(array, gates, axis=-1)
        array = np.concatenate([blocks[i] for i in order], axis=-1)
        return array if array.ndim == 1 else array.T[None]

    weights = [builder.constant(to_onnx(as_numpy(getattr(layer, weight), builder)),
                                f"{layer.name}/{weight}")
               for weight in ("kernel", "recurrent_kernel")]
    weights.append(builder.constant(np.concatenate([to_onnx(input_bias),
                                                    to_onnx(recurrent_bias)])[None],
                                    f"{layer.name}/B"))
    attributes["hidden_size"] = units
    return op, weights, attributes


def _check_activations(layer):
    """UnsupportedLayerError unless ``layer`` computes what the ONNX op will: LSTM and GRU
    with tanh and sigmoid (their fused kernels compute nothing else), SimpleRNN with an
    activation ONNX's RNN has."""
    names = {"activation": activation_name(layer.activation)}
    if isinstance(layer, (LSTM, GRU)):
        names["recurrent_activation"] = activation_name(layer.recurrent_activation)
        expected = {"activation": "tanh", "recurrent_activation": "sigmoid"}
    else:
        expected = {"activation": names["activation"]
                    if names["activation"] in ("tanh", "relu") else "tanh or relu"}
    for argument, name in names.items():
        if name != expected[argument]:
            raise UnsupportedLayerError(
                f"cannot export layer {layer.name!r} ({type(layer).__name__}) to ONNX: "
                f"{argument}={name!r} is not supported (only {expected[argument]})")


# --- small helpers -----------------------------------------------------------------------------

def _single_input(layer, inputs):
    if len(inputs) != 1:
        raise UnsupportedLayerError(
            f"cannot export layer {layer.name!r} ({type(layer).__name__}) to ONNX with "
            f"{len(inputs)} inputs: initial states are not supported, only the sequence")
    return inputs[0]


def _output_shape(layer, x, units):
    if layer.return_sequences:
        steps = x.shape[0] if x.shape else None
        return (steps, units)
    return (units,)


def _ints(builder, values, layer):
    """An int64 constant (a scalar for an int, 1-D for a list)."""
    return builder.ints(values, f"{layer.name}/const")


def _batch_major(builder, y, name):
    """ONNX's Y (T, 1, N, U) as (N, T, U)."""
    return builder.node("Transpose", [squeeze(builder, y, 1, f"{name}/y")],
                        hint=f"{name}/outputs_nt", perm=[1, 0, 2])


def _at_least(builder, value, low, layer):
    """max(value, low) for an int64 ``value`` (Where: Max takes integers only from opset 12)."""
    low = _ints(builder, low, layer)
    below = builder.node("Less", [value, low], hint=f"{layer.name}/below")
    return builder.node("Where", [below, low, value], hint=f"{layer.name}/at_least")


def _expand_like(builder, index, like, name):
    """``index`` (A, B) as (A, B, C) for GatherElements on ``like`` (A, B, C)."""
    index = unsqueeze(builder, index, 2, f"{name}/index3")
    return builder.node("Expand", [index, builder.node("Shape", [like], hint=f"{name}/shape")],
                        hint=f"{name}/index")
