"""``export(model, path)``: walk a model's layers, let each layer's converter append its ONNX
nodes, and write the checked ``onnx.ModelProto``.

How the walk knows shapes and masks: the model runs once (in evaluation mode, without
gradients) on a probe batch of one sample, layer by layer beside the conversion, so every
:class:`~.builder.Symbol` carries the per-sample shape minigrad computes, and the exporter
knows which outputs have a mask. A second probe, one step longer along each dynamic axis
(a sequence input's time axis), tells which output sizes follow those axes: they become
dynamic (None) too. When the model cannot take the longer probe (a Flatten before a Dense
fixes the length), the time axis stays fixed.

Graph inputs and outputs are named as ``minigrad serve`` names them: ``"input"`` and
``"output"`` for a model with one of each; a functional model with several uses its
``input_names`` / ``output_names`` (the Input layers' names, the output layers' names or
dict keys).
"""

import contextlib
import os
import warnings

import numpy as np

from ... import dtypes
from ...autograd import no_grad
from ...backends import get_backend
from ...nn.container import Sequential as Container
from ...nn.container import call_with_mask, output_mask
from ...nn.module import eval_mode
from ...train import structures
from ...train.batches import to_tensor
from ...train.functional import Functional
from .builder import GraphBuilder, Symbol
from .quantized import quantized_weights
from .registry import UnsupportedLayerError, converter_for

#: The opsets that the converters are written and tested for.
OPSETS = range(13, 22)
DEFAULT_OPSET = 17


class _Traced:
    """A value during the walk: its :class:`Symbol` and its probe values, one
    ``(tensor, mask)`` per probe batch."""

    def __init__(self, symbol, probes):
        self.symbol, self.probes = symbol, probes


class _LongerProbeFailed(Exception):
    """The model cannot take the probe with longer dynamic axes: export them fixed."""


def export(model, path=None, opset=DEFAULT_OPSET, input_names=None, output_names=None,
           dynamic_axes=None, input_shape=None, check=True):
    """Export ``model`` to ONNX; returns the ``onnx.ModelProto`` and writes it to ``path``
    (atomically: a crash never leaves half a file) unless ``path`` is None.

    Args:
        model: a ``Sequential`` (``mg.Sequential`` or ``mg.nn.Sequential``), a functional
            ``mg.Model(inputs, outputs)``, or a single layer; built (called on data, or made
            with ``input_shape=``).
        path: the ``.onnx`` file to write, or None.
        opset: the ONNX opset (default 17; 13 to 21 are tested).
        input_names, output_names: the graph's input and output names; default ``"input"`` /
            ``"output"`` for one (as ``minigrad serve``), the model's ``input_names`` /
            ``output_names`` for several.
        dynamic_axes: None: the batch axis is dynamic, and axis 1 of a sequence input (token
            ids (N, T), or (N, T, F) floats) too when the model takes any length. Or a dict
            ``{input or output name: {axis: dim name}}`` (or a list of axes) naming the axes
            besides the batch axis that are dynamic.
        input_shape: the per-sample input shape (no batch axis) of a single layer that does not
            know it.
        check: run ``onnx.checker.check_model(full_check=True)`` before writing (a failure is
            a bug in a converter: please report it).

    Raises:
        UnsupportedLayerError: a layer (or an activation or setting of one) without an ONNX
            form, named in the message.
        ValueError: an unbuilt model, a bad opset, a dtype other than float32/float64.

    >>> model = mg.Sequential([mg.nn.Dense(3, activation="relu", input_shape=(4,))])
    >>> proto = mg.onnx.export(model)
    >>> [i.name for i in proto.graph.input], [o.name for o in proto.graph.output]
    (['input'], ['output'])
    """
    import onnx

    opset = int(opset)
    if not OPSETS.start <= opset <= onnx.defs.onnx_opset_version():
        raise ValueError(f"export: opset must be between {OPSETS.start} and "
                         f"{onnx.defs.onnx_opset_version()} ({OPSETS.start} to {OPSETS[-1]} "
                         f"are tested), got {opset}")
    float_dtype = _float_dtype(model)
    specs = _input_specs(model, float_dtype, input_shape)
    input_names = _names(input_names, len(specs), "input",
                         getattr(model, "input_names", None), "input_names")
    dynamic = _dynamic_input_axes(specs, input_names, dynamic_axes)
    quiet = warnings.catch_warnings()
    with quiet, no_grad(), eval_mode(model) if hasattr(model, "training") else \
            contextlib.nullcontext():
        warnings.simplefilter("ignore")  # a mask ending at a layer warns in predict, not here
        try:
            return _export(model, path, opset, float_dtype, specs, input_names, output_names,
                           dynamic, longer=any(dynamic), check=check,
                           dynamic_axes=dynamic_axes)
        except _LongerProbeFailed as failure:
            if dynamic_axes is not None:
                raise ValueError(f"export: dynamic_axes {dynamic_axes} makes an axis dynamic "
                                 f"that the model cannot vary: {failure}") from None
            dynamic = [{} for _ in specs]
            return _export(model, path, opset, float_dtype, specs, input_names, output_names,
                           dynamic, longer=False, check=check, dynamic_axes=dynamic_axes)


def _export(model, path, opset, float_dtype, specs, input_names, output_names, dynamic, longer,
            check, dynamic_axes):
    import onnx
    from onnx import helper

    builder = GraphBuilder(opset, float_dtype)
    for name in input_names:
        builder.reserve(name)
    backend = getattr(model, "_device", None) or get_backend("cpu")
    values, graph_inputs = [], []
    for (shape, dtype), name, axes in zip(specs, input_names, dynamic):
        probes = [_probe(shape, dtype, backend, float_dtype, axes, extra=0)]
        if longer:
            probes.append(_probe(shape, dtype, backend, float_dtype, axes, extra=1))
        known = tuple(None if i + 1 in axes else d for i, d in enumerate(shape))
        values.append(_Traced(Symbol(name, shape=known), [(p, None) for p in probes]))
        dims = ["batch"] + [axes.get(i + 1, d) for i, d in enumerate(shape)]
        graph_inputs.append(helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), dims))

    outputs = _walk(model, builder, values)
    output_names = _names(output_names, len(outputs), "output",
                          getattr(model, "output_names", None), "output_names")
    for name in output_names:
        builder.reserve(name)
    unknown = sorted(set(dynamic_axes or {}) - set(input_names) - set(output_names))
    if unknown:
        raise ValueError(f"export: dynamic_axes names {unknown}, which are neither inputs "
                         f"{input_names} nor outputs {output_names}")
    time_name = next((n for axes in dynamic for n in axes.values()), None)
    graph_outputs = []
    for traced, name in zip(outputs, output_names):
        builder.rename(traced.symbol.name, name)
        named = _named_axes(dynamic_axes, name)
        dims = ["batch"] + [named.get(i + 1, d if d is not None else
                                      (time_name if i == 0 else None))
                            for i, d in enumerate(traced.symbol.shape)]
        tensor = traced.probes[0][0]
        graph_outputs.append(helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(np.dtype(tensor.dtype)), dims))

    nodes, initializers = _live(builder.nodes, builder.initializers, output_names)
    graph = helper.make_graph(nodes, getattr(model, "name", None) or "minigrad_model",
                              graph_inputs, graph_outputs, initializer=initializers)
    imports = [helper.make_opsetid("", opset)] + [
        helper.make_opsetid(domain, 1) for domain in sorted({n.domain for n in nodes} - {""})]
    proto = helper.make_model(graph, opset_imports=imports, producer_name="minigrad",
                              producer_version=_version())
    proto.ir_version = helper.find_min_ir_version_for(imports, ignore_unknown=True)
    if check:
        onnx.checker.check_model(proto, full_check=True)
    if path is not None:
        from ...io.atomic import atomic_write_bytes

        atomic_write_bytes(os.fspath(path), proto.SerializeToString())
    return proto


# --- the walk ---------------------------------------------------------------------------------
def _walk(module, builder, values):
    """Convert ``module`` applied to ``values`` (a list of :class:`_Traced`); returns the list
    of its outputs. Containers are walked; any other module goes to its converter."""
    if isinstance(module, Functional):
        return _walk_functional(module, builder, values)
    if isinstance(module, Container):
        (value,) = values
        for layer in module.layers:
            (value,) = _walk(layer, builder, [value])
        return [value]
    return _convert_layer(module, builder, values, as_list=len(values) > 1)


def _walk_functional(model, builder, values):
    env = {id(t): v for t, v in zip(model.inputs, values)}
    for node in model._nodes:
        kwargs = {k: v for k, v in node.kwargs.items() if k != "training"}
        if node.args or kwargs:
            raise UnsupportedLayerError(
                f"cannot export layer {getattr(node.layer, 'name', '?')!r} "
                f"({type(node.layer).__name__}): it is called with extra arguments "
                f"{list(node.args) + sorted(kwargs)} in the functional graph")
        inputs = [env[id(t)] for t in node.flat_inputs]
        as_list = isinstance(node.inputs, (list, tuple))
        if isinstance(node.layer, (Functional, Container)):
            outputs = _walk(node.layer, builder, inputs)
        else:
            outputs = _convert_layer(node.layer, builder, inputs, as_list)
        for tensor, value in zip(node.outputs, outputs):
            env[id(tensor)] = value
    return [env[id(t)] for t in model.outputs]


def _convert_layer(layer, builder, inputs, as_list):
    """Run ``layer`` on the probes and append its converter's nodes; returns its outputs."""
    runs = [_run(layer, [v.probes[k] for v in inputs], as_list, k)
            for k in range(len(inputs[0].probes))]
    # quantized_weights: int8 weights stay int8 (a quantized layer, or one inside Bidirectional)
    with quantized_weights(layer, builder) as layer_builder:
        converted = converter_for(layer)(layer, layer_builder, [v.symbol for v in inputs])
    converted = [converted] if isinstance(converted, Symbol) else list(converted)
    if len(converted) != len(runs[0]):
        raise RuntimeError(f"the ONNX converter of {type(layer).__name__} gave "
                           f"{len(converted)} outputs; the layer has {len(runs[0])}")
    outputs = []
    for index, symbol in enumerate(converted):
        results = [run[index] for run in runs]
        shapes = [tuple(tensor.shape[1:]) for tensor, _ in results]
        shape = tuple(None if any(s[i] != d for s in shapes[1:]) else d
                      for i, d in enumerate(shapes[0]))
        mask = _output_mask_name(layer, symbol, inputs, results[0][1] is not None)
        outputs.append(_Traced(Symbol(symbol.name, mask=mask, shape=shape), results))
    return outputs


def _run(layer, probes, as_list, which):
    """``layer`` on probe batch ``which``: a list of (tensor, mask) per output (Keras's mask
    protocol, as the model runs it in predict)."""
    try:
        if as_list:
            xs, masks = [p[0] for p in probes], [p[1] for p in probes]
            output = layer(xs)
            mask = output_mask(layer, xs, masks) if getattr(layer, "compute_mask", None) \
                is not None else None
        else:
            (x, mask), = probes
            output, mask = call_with_mask(layer, x, mask)
    except Exception as error:
        if which == 0:
            raise
        raise _LongerProbeFailed(f"{getattr(layer, 'name', '?')}: {error}") from None
    return [(t, mask if i == 0 else None) for i, t in enumerate(structures.leaves(output))]


def _output_mask_name(layer, symbol, inputs, has_mask):
    """The ONNX mask of a layer's output: the converter's; else the input's, passed on by a
    layer that supports masking (Keras's protocol); None where minigrad's output has none."""
    if not has_mask:
        return None
    if symbol.mask is not None:
        return symbol.mask
    passes = getattr(layer, "compute_mask", None) is None and (
        getattr(layer, "supports_masking", False) or getattr(layer, "passes_mask", False))
    if passes and len(inputs) == 1 and inputs[0].symbol.mask is not None:
        return inputs[0].symbol.mask
    raise UnsupportedLayerError(
        f"cannot export layer {getattr(layer, 'name', '?')!r} ({type(layer).__name__}): its "
        f"output has a mask that its ONNX converter does not make")


# --- inputs, names, dynamic axes --------------------------------------------------------------
def _float_dtype(model):
    """The model's float dtype (NumPy): float32 or float64."""
    backend_and_dtype = getattr(model, "backend_and_dtype", None)
    if backend_and_dtype is not None:
        dtype = backend_and_dtype()[1]
    else:
        dtype = next((p.dtype for p in model.parameters() if dtypes.is_floating(p.dtype)),
                     dtypes.default_float)
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"export takes float32 and float64 models; "
                         f"{getattr(model, 'name', 'this model')!r} computes in {dtype.name} "
                         f"(convert it with model.to(dtype='float32') first)")
    return dtype


def _input_specs(model, float_dtype, input_shape):
    """``[(per-sample shape, dtype)]`` of the model's inputs."""
    if isinstance(model, Functional):
        return [(tuple(t.shape[1:]), _np_dtype(t.dtype)) for t in model.inputs]
    shape = input_shape
    if shape is None:
        shape = getattr(model, "build_input_shape", None) or getattr(model, "input_shape", None)
    if shape is None:
        raise ValueError(f"export: {getattr(model, 'name', type(model).__name__)!r} has not "
                         "been built, so its input shape is unknown: call it on data, give its "
                         "first layer input_shape=, or pass export(..., input_shape=...)")
    dtype = getattr(model, "input_dtype", None)
    return [(tuple(shape), _np_dtype(dtype) if dtype is not None else float_dtype)]


def _np_dtype(dtype):
    return np.dtype(dtype)  # minigrad's dtypes are NumPy's


def _names(given, count, default, model_names, what):
    if given is None:
        if count == 1:
            return [default]
        return list(model_names) if model_names and len(model_names) == count else \
            [f"{default}_{i}" for i in range(count)]
    given = [given] if isinstance(given, str) else list(given)
    if len(given) != count or len(set(given)) != count:
        raise ValueError(f"export: {what} needs {count} distinct names, got {given}")
    return given


def _named_axes(dynamic_axes, name):
    axes = (dynamic_axes or {}).get(name, {})
    return dict(axes) if isinstance(axes, dict) else {int(a): f"{name}_{a}" for a in axes}


def _dynamic_input_axes(specs, names, dynamic_axes):
    """Per input, ``{axis: dim name}`` of the dynamic axes besides the batch axis."""
    if dynamic_axes is not None:
        result = [_named_axes(dynamic_axes, name) for name in names]
        for (shape, _), axes, name in zip(specs, result, names):
            if any(not 1 <= int(a) <= len(shape) for a in axes):
                raise ValueError(f"export: dynamic_axes[{name!r}] names axes {sorted(axes)}; "
                                 f"the input has axes 1 to {len(shape)} after the batch axis")
        return [{int(a): n for a, n in axes.items()} for axes in result]
    result = []
    for shape, dtype in specs:
        axes = {i + 1: "time" if i == 0 else f"dim{i + 1}" for i, d in enumerate(shape)
                if d is None}
        sequence = (len(shape) == 1 and dtype.kind in "iu") or \
            (len(shape) == 2 and dtype.kind == "f")
        if sequence:
            axes.setdefault(1, "time")
        result.append(axes)
    return result


def _probe(shape, dtype, backend, float_dtype, dynamic, extra):
    """A batch of one sample of ``shape`` (unknown sizes 3), ``extra`` steps longer along the
    dynamic axes; ones (a valid token id, and no padding for a mask)."""
    sizes = [(d if d is not None else 3) + (extra if i + 1 in dynamic else 0)
             for i, d in enumerate(shape)]
    return to_tensor(np.ones((1, *sizes), dtype=dtype), backend, float_dtype)


def _live(nodes, initializers, outputs):
    """The nodes and initializers that the outputs depend on (drops Transposes left unused by
    :meth:`GraphBuilder.transpose` and values no layer read)."""
    needed, kept = set(outputs), []
    for node in reversed(nodes):
        if any(name in needed for name in node.output):
            kept.append(node)
            needed.update(node.input)
    return list(reversed(kept)), [t for t in initializers if t.name in needed]


def _version():
    from ... import __version__

    return __version__
