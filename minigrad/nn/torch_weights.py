"""Import PyTorch weights into the equivalent minigrad layers.

:func:`~minigrad.nn.load_torch_weights` copies a torch module's weights (or a ``state_dict``)
into a built minigrad model, pairing the layers that have weights in order; the ``from_*``
functions convert one torch layer's tensors into the list that the minigrad layer's
:meth:`~minigrad.nn.Module.set_weights` takes. The layouts differ:

========================================  ==================================================
PyTorch                                   minigrad (Keras's layouts)
========================================  ==================================================
``Linear.weight`` (out, in)               ``Dense.kernel`` (in, out) = ``weight.T``
``Conv2d.weight`` (F, C/g, kh, kw)        ``Conv2D.kernel`` (kh, kw, C/g, F), ``groups=g``
``Embedding.weight`` (V, D)               ``Embedding.embeddings`` (V, D), the same
``BatchNorm2d`` weight, bias,             ``BatchNormalization`` gamma, beta, moving_mean,
running_mean, running_var                 moving_variance
``LSTM`` weight_ih (4U, F), gates         ``LSTM.kernel`` (F, 4U) = ``weight_ih.T``, gates
i, f, g, o; bias_ih, bias_hh              i, f, c, o (the same order); one bias, the sum
``GRU`` gates r, z, n; bias_ih, bias_hh   ``GRU`` gates z, r, h; ``bias`` (2, 3U): row 0 the
                                          input bias, row 1 the recurrent bias
``RNN`` weight_ih, weight_hh, two biases  ``SimpleRNN``: transposed, one bias, the sum
``bidirectional=True``: the ``_reverse``  ``Bidirectional``: the backward layer's weights
weights
``num_layers=L``                          L recurrent layers one after another
========================================  ==================================================

torch is not imported here: tensors are read with ``.detach().cpu().numpy()``, and a state dict
of NumPy arrays works as well.
"""

from collections.abc import Mapping

import numpy as np

from ..autograd.tensor import Tensor
from .activations import name_of as activation_name
from .layers.conv import Conv2D
from .layers.core import Activation, Dense, Dropout, Flatten, LeakyReLU, Softmax
from .layers.embedding import Embedding
from .layers.normalization import BatchNormalization
from .layers.recurrent import GRU, LSTM, Bidirectional, SimpleRNN
from .module import Layer, Module, _label

#: PyTorch's BatchNorm ``eps``: what a state dict (which does not record it) is assumed to use.
TORCH_BN_EPSILON = 1e-5
#: PyTorch's BatchNorm ``momentum`` (minigrad's 0.9), assumed for a state dict likewise.
TORCH_BN_MOMENTUM = 0.1

# Layers that keep the features in place, so a Flatten's (h, w, c) order reaches the next Dense.
_KEEPS_FEATURE_ORDER = (Dropout, Activation, LeakyReLU, Softmax, BatchNormalization)


# --- one layer at a time ----------------------------------------------------------------------
def from_linear(weight, bias=None, flattened_shape=None):
    """A ``torch.nn.Linear``'s weight (out, in) and bias (out,) as ``[kernel, bias]`` for
    :class:`~minigrad.nn.Dense` (``[kernel]`` without a bias); kernel = ``weight.T``.

    ``flattened_shape``: (H, W, C) when the Dense follows a Flatten of channels-last feature
    maps, whose features come in (h, w, c) order where torch's Flatten of (C, H, W) gives
    (c, h, w): the kernel's rows are permuted to match.

    >>> kernel, bias = mg.nn.torch_weights.from_linear(np.ones((3, 2)), np.zeros(3))
    >>> kernel.shape
    (2, 3)
    """
    weight = _array(weight)
    _check_ndim(weight, 2, "Linear weight (out_features, in_features)")
    if flattened_shape is not None:
        order = flatten_order(flattened_shape)
        if order.size != weight.shape[1]:
            raise ValueError(f"from_linear: flattened_shape {tuple(flattened_shape)} has "
                             f"{order.size} features, the Linear weight {weight.shape} takes "
                             f"{weight.shape[1]}")
        weight = weight[:, order]
    return [weight.T.copy()] + ([] if bias is None else [_array(bias).copy()])


def from_conv2d(weight, bias=None):
    """A ``torch.nn.Conv2d``'s weight (F, C, kh, kw) and bias (F,) as ``[kernel, bias]`` for
    :class:`~minigrad.nn.Conv2D`: kernel (kh, kw, C, F) = ``weight.transpose(2, 3, 1, 0)``.

    >>> kernel, bias = mg.nn.torch_weights.from_conv2d(np.ones((8, 3, 5, 5)), np.zeros(8))
    >>> kernel.shape
    (5, 5, 3, 8)
    """
    weight = _array(weight)
    _check_ndim(weight, 4, "Conv2d weight (out_channels, in_channels, kh, kw)")
    return ([np.ascontiguousarray(weight.transpose(2, 3, 1, 0))]
            + ([] if bias is None else [_array(bias).copy()]))


def from_embedding(weight):
    """A ``torch.nn.Embedding``'s weight (V, D) as ``[embeddings]`` for
    :class:`~minigrad.nn.Embedding` (the same layout)."""
    weight = _array(weight)
    _check_ndim(weight, 2, "Embedding weight (num_embeddings, embedding_dim)")
    return [weight.copy()]


def from_batch_norm(weight, bias, running_mean, running_var):
    """A ``torch.nn.BatchNorm1d/2d``'s weight, bias, running_mean and running_var (each (C,))
    as ``[gamma, beta, moving_mean, moving_variance]`` for
    :class:`~minigrad.nn.BatchNormalization` (the same values; ``weight``/``bias`` None
    for ``affine=False`` are left out). The epsilon is not a weight: give the layer
    ``epsilon=1e-5`` (PyTorch's default) for equal outputs."""
    return [_array(a).copy() for a in (weight, bias, running_mean, running_var) if a is not None]


def from_lstm(weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One direction of one layer of a ``torch.nn.LSTM`` (``weight_ih_l0`` (4U, F),
    ``weight_hh_l0`` (4U, U), ``bias_ih_l0``, ``bias_hh_l0``) as ``[kernel,
    recurrent_kernel, bias]`` for :class:`~minigrad.nn.LSTM`: the transposes, and the sum of
    the two biases (the gate order i, f, g, o is Keras's i, f, c, o)."""
    kernel, recurrent = _recurrent_kernels(weight_ih, weight_hh, 4, "LSTM")
    biases = _biases(bias_ih, bias_hh, kernel.shape[1], "LSTM")
    return [kernel, recurrent] + ([] if biases is None else [biases[0] + biases[1]])


def from_gru(weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One direction of one layer of a ``torch.nn.GRU`` as ``[kernel, recurrent_kernel,
    bias]`` for :class:`~minigrad.nn.GRU` (Keras's ``reset_after=True``, PyTorch's
    formulation): the gates reordered from r, z, n to z, r, h, and ``bias`` (2, 3U) =
    ``[bias_ih, bias_hh]`` reordered the same way.

    >>> weights = mg.nn.torch_weights.from_gru(np.ones((6, 3)), np.ones((6, 2)),
    ...                                        np.arange(6.0), np.zeros(6))
    >>> [w.shape for w in weights], weights[2][0].tolist()
    ([(3, 6), (2, 6), (2, 6)], [2.0, 3.0, 0.0, 1.0, 4.0, 5.0])
    """
    kernel, recurrent = _recurrent_kernels(weight_ih, weight_hh, 3, "GRU")
    units = recurrent.shape[0]
    order = np.r_[units:2 * units, 0:units, 2 * units:3 * units]  # (r, z, n) -> (z, r, h)
    weights = [kernel[:, order], recurrent[:, order]]
    biases = _biases(bias_ih, bias_hh, kernel.shape[1], "GRU")
    return weights + ([] if biases is None else [np.stack(biases)[:, order]])


def from_rnn(weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One direction of one layer of a ``torch.nn.RNN`` as ``[kernel, recurrent_kernel,
    bias]`` for :class:`~minigrad.nn.SimpleRNN`: the transposes and the sum of the biases."""
    kernel, recurrent = _recurrent_kernels(weight_ih, weight_hh, 1, "RNN")
    biases = _biases(bias_ih, bias_hh, kernel.shape[1], "RNN")
    return [kernel, recurrent] + ([] if biases is None else [biases[0] + biases[1]])


def flatten_order(shape):
    """For channels-last feature maps of per-sample ``shape`` (H, W, C): the index array
    ``order`` such that minigrad's flattened feature ``i`` (h, w, c order) is torch's
    flattened feature ``order[i]`` ((c, h, w) order).

    >>> mg.nn.torch_weights.flatten_order((1, 2, 3)).tolist()
    [0, 2, 4, 1, 3, 5]
    """
    if len(shape) != 3:
        raise ValueError(f"flatten_order expected a per-sample (H, W, C) shape, got "
                         f"{tuple(shape)}")
    h, w, c = (int(s) for s in shape)
    return np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).ravel()


# --- a whole model ----------------------------------------------------------------------------
def load_torch_weights(model, source, permute_flatten=True):
    """Copy a PyTorch model's weights into the equivalent minigrad ``model``, in place.

    The minigrad layers that have weights (Dense, Conv2D, Embedding, BatchNormalization,
    LSTM, GRU, SimpleRNN, Bidirectional) are paired, in order, with the torch modules that
    have weights (Linear, Conv2d, Embedding, BatchNorm1d/2d, LSTM, GRU, RNN; a torch RNN with
    ``num_layers=L`` pairs with L minigrad layers, and one with ``bidirectional=True`` with a
    :class:`~minigrad.nn.Bidirectional`), and each pair is converted (see the table of the
    module). Layers without weights (activations, pooling, Flatten, Dropout) are not paired:
    building the same architecture is up to you. Everything is checked before anything is
    written: the kinds, the shapes, the number of layers on each side, and the settings that
    would silently give different outputs -- errors name both sides.

    Args:
        model: a minigrad Module (a model or a single layer), built (see
            :meth:`~minigrad.nn.Module.build`).
        source: a ``torch.nn.Module``, or a state dict (names to torch tensors or NumPy
            arrays, e.g. ``torch.load("weights.pt")``). From a module the settings are checked
            too (Conv2d strides, padding and dilation, an RNN's nonlinearity, BatchNorm's eps
            and momentum); a state dict carries shapes only.
        permute_flatten: permute the kernel of a Dense that follows a :class:`Flatten` of
            (H, W, C) feature maps (with only dropout, activations or BatchNormalization in
            between), whose features are in (h, w, c) order where torch's Flatten of
            (C, H, W) gives (c, h, w). Needs the model to have run once (``build`` does it),
            so that the Flatten knows the shape. Flattening with a function inside
            ``forward`` is not seen: use the Flatten layer, or
            :func:`~minigrad.nn.torch_weights.from_linear` with ``flattened_shape``.

    Returns the model.

    Settings: BatchNormalization takes torch's ``eps`` as its ``epsilon`` and ``1 - momentum``
    as its ``momentum`` (from a state dict, PyTorch's defaults 1e-5 and 0.1 are assumed; a
    torch ``momentum=None`` leaves the momentum alone). torch's ``affine=False`` loads as gamma
    1 and beta 0; ``track_running_stats=False`` (batch statistics even in evaluation) is
    refused. A torch layer without a bias loads into a minigrad layer with one as zeros.
    Refused as well: a Conv2d whose groups differ from the Conv2D's, a padding mode other than
    zeros, or a padding that differs from the Conv2D's (Keras's ``"same"`` with strides pads
    the bottom and right only, torch both sides: give Conv2D torch's ``padding=``); an
    Embedding with ``max_norm``; an
    LSTM with ``proj_size``; a recurrent layer with ``go_backwards`` (torch has none); a
    Bidirectional whose ``merge_mode`` is not ``"concat"``.

    Compare outputs in evaluation mode (``model.eval()`` on both sides),
    with images (N, H, W, C) here where torch takes (N, C, H, W), and sequences batch first.

    Example::

        torch_model = torch.nn.Sequential(
            torch.nn.Conv2d(1, 8, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Flatten(), torch.nn.Linear(8 * 13 * 13, 10))
        model = mg.Sequential([mg.nn.Conv2D(8, 3, activation="relu"), mg.nn.MaxPooling2D(2),
                               mg.nn.Flatten(), mg.nn.Dense(10)])
        model.build((None, 28, 28, 1))
        mg.nn.load_torch_weights(model, torch_model)
        # model(x.transpose(0, 2, 3, 1)) == torch_model(x) within float32 rounding
    """
    if not isinstance(model, Module):
        raise TypeError(f"load_torch_weights expected a minigrad Module as the model, got "
                        f"{type(model).__name__}")
    units = _torch_units(source)
    layers = _minigrad_layers(model, permute_flatten)
    if not layers:
        raise ValueError(f"load_torch_weights: {_label(model)} has no layers with weights")
    listing = _listing(layers, units)
    plan = []
    for index, (layer, order) in enumerate(layers):
        if index >= len(units):
            raise ValueError(f"load_torch_weights: the minigrad model has {len(layers)} layers "
                             f"with weights, the torch source {len(units)}; "
                             f"{_label(layer)} and those after it have no torch "
                             f"counterpart{listing}")
        plan.append((layer, _convert(layer, units[index], order, listing)))
    if len(units) > len(layers):
        extra = ", ".join(unit.describe() for unit in units[len(layers):])
        raise ValueError(f"load_torch_weights: the torch source has {len(units)} modules with "
                         f"weights, the minigrad model {len(layers)}: no minigrad layer for "
                         f"{extra} (pass a sub-module or a filtered state dict){listing}")
    for layer, (weights, settings) in plan:
        layer.set_weights(weights)
        for name, value in settings.items():
            setattr(layer, name, value)
    return model


# --- the torch side ---------------------------------------------------------------------------
class _TorchUnit:
    """One torch module with weights (one layer of a multi-layer RNN): its name, its kind
    ("Linear", "LSTM", ...), its arrays by short name, and the module itself if known."""

    def __init__(self, name, kind, arrays, module=None, reverse=None):
        self.name, self.kind, self.arrays, self.module = name, kind, arrays, module
        self.reverse = reverse  # the _reverse direction's arrays of a bidirectional RNN

    def describe(self):
        shapes = ", ".join(f"{key} {value.shape}" for key, value in self.arrays.items())
        bidirectional = " bidirectional" if self.reverse is not None else ""
        return f"'{self.name}' ({self.kind}{bidirectional}: {shapes})"


def _torch_units(source):
    """The torch modules with weights, in order, as _TorchUnits."""
    if isinstance(source, Module):
        raise TypeError("load_torch_weights: the source is a minigrad module; to copy weights "
                        "between minigrad models use target.set_weights(source.get_weights())")
    if hasattr(source, "state_dict") and hasattr(source, "named_modules"):
        state, modules = source.state_dict(), dict(source.named_modules())
    elif isinstance(source, Mapping):
        state, modules = source, {}
    else:
        raise TypeError(f"load_torch_weights expected a torch.nn.Module or a state dict (a "
                        f"mapping of names to tensors), got {type(source).__name__}")
    groups = {}
    for key, value in state.items():
        prefix, _, short = str(key).rpartition(".")
        groups.setdefault(prefix, {})[short] = value
    units = []
    for prefix, tensors in groups.items():
        tensors = {key: _array(value) for key, value in tensors.items()
                   if key != "num_batches_tracked"}
        if tensors:
            units.extend(_units_of(prefix or "(top level)", tensors, modules.get(prefix)))
    return units


def _units_of(name, tensors, module):
    """The unit(s) of one torch module: one per layer of a multi-layer RNN."""
    if "weight_ih_l0" not in tensors:
        return [_TorchUnit(name, _kind(tensors, module), tensors, module)]
    kind = type(module).__name__ if module is not None else _recurrent_kind(tensors)
    if any(key.startswith("weight_hr_l") for key in tensors):
        raise ValueError(f"load_torch_weights: torch {kind} '{name}' has proj_size > 0 "
                         "(weight_hr): minigrad's LSTM has no projection")
    count = 1 + max(int(key.split("_l")[-1].split("_")[0]) for key in tensors)
    units = []
    for layer in range(count):
        forward, reverse = {}, {}
        for key, value in tensors.items():
            base, _, rest = key.rpartition(f"_l{layer}")
            if base and rest in ("", "_reverse"):
                (reverse if rest else forward)[base] = value
        label = name if count == 1 else f"{name} (layer {layer} of {count})"
        units.append(_TorchUnit(label, kind, forward, module, reverse or None))
    return units


def _recurrent_kind(tensors):
    gates = tensors["weight_ih_l0"].shape[0] // tensors["weight_hh_l0"].shape[1]
    return {4: "LSTM", 3: "GRU", 1: "RNN"}.get(gates, f"RNN with {gates} gates")


def _kind(tensors, module):
    """What a torch module is: its class name, or from a state dict its names and shapes."""
    if module is not None:
        return type(module).__name__
    keys, weight = set(tensors), tensors.get("weight")
    if "running_mean" in keys:
        return "BatchNorm"
    if weight is None or not keys <= {"weight", "bias"}:
        return "unknown"
    if weight.ndim == 4:
        return "Conv2d"
    if weight.ndim == 2:
        return "Linear" if "bias" in keys else "Linear or Embedding"
    if weight.ndim == 1:
        return "normalization without running statistics"
    return f"Conv{weight.ndim - 2}d"


def _family(kind):
    """BatchNorm1d, BatchNorm2d, SyncBatchNorm, ... are one family; other kinds are their own."""
    return "BatchNorm" if "BatchNorm" in kind else kind


# --- the minigrad side ------------------------------------------------------------------------
def _minigrad_layers(model, permute_flatten):
    """(layer, flatten order) for each layer with weights, in order. The order is the
    (h, w, c) -> (c, h, w) permutation of the layer's input features when it follows a
    Flatten of feature maps, "unknown" when that Flatten has not run yet, else None."""
    layers, pending, inside = [], None, set()
    for _, module in model.named_modules():
        if id(module) in inside:
            continue
        if isinstance(module, Bidirectional):
            inside.update(id(sub) for sub in module.modules() if sub is not module)
        elif module._modules and not _owns_weights(module):
            continue  # a container: its layers come next
        if isinstance(module, Flatten):
            pending = _flatten_state(module) if permute_flatten else None
            continue
        if isinstance(module, Layer) and not module.built and isinstance(module, _KNOWN):
            raise ValueError(f"load_torch_weights: {_label(module)} has no weights yet "
                             "(layers create them on their first call); call "
                             "model.build(input_shape) or run the model once first")
        if _owns_weights(module) or isinstance(module, Bidirectional):
            layers.append((module, pending))
        if not isinstance(module, _KEEPS_FEATURE_ORDER):
            pending = None
    return layers


def _owns_weights(module):
    return any(t is not None for table in (module._parameters, module._buffers)
               for t in table.values())


def _flatten_state(flatten):
    shape = flatten.flattened_shape
    if shape is None:
        return "unknown"
    return flatten_order(shape) if len(shape) == 3 else None


def _listing(layers, units):
    """The two sides, for error messages."""
    ours = ", ".join(_label(layer) for layer, _ in layers)
    theirs = ", ".join(f"'{unit.name}' ({unit.kind})" for unit in units)
    return f".\nminigrad layers with weights: {ours}\ntorch modules with weights: {theirs}"


# --- pairing ----------------------------------------------------------------------------------
_EXPECTED = {Dense: ("Linear", "Linear or Embedding"), Conv2D: ("Conv2d",),
             Embedding: ("Embedding", "Linear or Embedding"), BatchNormalization: ("BatchNorm",),
             LSTM: ("LSTM",), GRU: ("GRU",), SimpleRNN: ("RNN",)}


def _convert(layer, unit, order, listing):
    """(weights for layer.set_weights, settings to assign) for one pair, after every check."""
    def fail(reason):
        raise ValueError(f"load_torch_weights: {_label(layer)} is paired with torch module "
                         f"{unit.describe()}: {reason}{listing}")

    inner = layer.forward_layer if isinstance(layer, Bidirectional) else layer
    kind = next((k for cls, k in _EXPECTED.items() if isinstance(inner, cls)), None)
    if kind is None:
        fail(f"load_torch_weights does not know how to fill a {type(layer).__name__}; use "
             f"its set_weights()")
    if _family(unit.kind) not in kind:
        wrapped = f"Bidirectional({type(inner).__name__})" if inner is not layer else \
            type(layer).__name__
        fail(f"a {wrapped} takes a torch {kind[0]}")
    if isinstance(layer, Bidirectional) != (unit.reverse is not None):
        fail("a torch RNN with bidirectional=True pairs with a minigrad Bidirectional layer, "
             "and a one-directional one with the plain layer")
    converter = next(convert for cls, convert in _CONVERTERS.items() if isinstance(inner, cls))
    try:
        weights, settings = converter(layer, unit, order)
    except ValueError as error:
        fail(str(error))
    expected = [tensor.shape for _, tensor in layer.named_weights()]
    got = [tuple(w.shape) for w in weights]
    if got != expected:
        names = [name for name, _ in layer.named_weights()]
        wrong = "; ".join(f"{n}: minigrad {e}, from torch {g}"
                          for n, e, g in zip(names, expected, got) if e != g)
        fail(f"the shapes differ ({wrong or f'{len(got)} arrays for {len(expected)} weights'})")
    return weights, settings


class _Mismatch(ValueError):
    """A setting that would give different outputs."""


def _dense(layer, unit, order):
    _only(unit, {"weight", "bias"})
    weight = unit.arrays["weight"]
    _check_ndim(weight, 2, "a Linear weight (out_features, in_features)")
    if isinstance(order, str):
        raise _Mismatch("the Flatten before it has not run yet, so its (h, w, c) feature order "
                        "is unknown: call model.build(input_shape) or run the model once")
    if order is not None:
        if order.size != weight.shape[1]:
            raise _Mismatch(f"it follows a Flatten of {order.size} features but the Linear "
                            f"takes {weight.shape[1]}")
        weight = weight[:, order]  # torch's (c, h, w) columns in Flatten's (h, w, c) order
    kernel = weight.T.copy()
    return [kernel] + _bias(layer, unit, "bias", weight.shape[0]), {}


def _conv2d(layer, unit, order):
    _only(unit, {"weight", "bias"})
    weight = unit.arrays["weight"]
    _check_ndim(weight, 4, "a Conv2d weight (out_channels, in_channels, kh, kw)")
    module = unit.module
    if module is not None:
        if getattr(module, "groups", 1) != layer.groups:
            raise _Mismatch(f"torch groups={module.groups}, minigrad groups={layer.groups}: "
                            f"make the Conv2D with groups={module.groups}")
        if getattr(module, "padding_mode", "zeros") != "zeros":
            raise _Mismatch(f"padding_mode={module.padding_mode!r}: Conv2D pads with zeros")
        for theirs, ours, what in ((module.stride, layer.strides, "strides"),
                                   (module.dilation, layer.dilation_rate, "dilation")):
            if tuple(theirs) != tuple(ours):
                raise _Mismatch(f"torch {what} {tuple(theirs)}, minigrad {tuple(ours)}")
        kernel_size = weight.shape[2:]
        ours, theirs = _conv_padding(layer.padding, layer.strides, layer.dilation_rate,
                                     kernel_size), \
            _conv_padding(module.padding, module.stride, module.dilation, kernel_size)
        if ours is None:
            raise _Mismatch(f"Conv2D padding='same' with strides {tuple(layer.strides)} pads "
                            f"as Keras, depending on the input size (the odd row at the "
                            f"bottom), torch padding={module.padding!r} the same on both "
                            f"sides: give Conv2D torch's padding (an int or a pair)")
        if ours != theirs:
            raise _Mismatch(f"the padding differs: minigrad {layer.padding!r} pads (top, "
                            f"bottom, left, right) = {ours}, torch padding={module.padding!r} "
                            f"pads {theirs}")
    kernel = np.ascontiguousarray(weight.transpose(2, 3, 1, 0))
    return [kernel] + _bias(layer, unit, "bias", weight.shape[0]), {}


def _conv_padding(padding, strides, dilation, kernel_size):
    """(top, bottom, left, right), or None when it depends on the input size."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if tuple(strides) != (1, 1):
            return None
        sides = []
        for d, k in zip(dilation, kernel_size):
            total = d * (k - 1)
            sides += [total // 2, total - total // 2]
        return tuple(sides)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    return (ph, ph, pw, pw)


def _embedding(layer, unit, order):
    _only(unit, {"weight"})
    if unit.module is not None and getattr(unit.module, "max_norm", None) is not None:
        raise _Mismatch(f"max_norm={unit.module.max_norm} renormalizes rows as they are looked "
                        "up; minigrad's Embedding does not")
    return from_embedding(unit.arrays["weight"]), {}


def _batch_norm(layer, unit, order):
    _only(unit, {"weight", "bias", "running_mean", "running_var"})
    arrays = unit.arrays
    if "running_mean" not in arrays or "running_var" not in arrays:
        raise _Mismatch("it has no running statistics (track_running_stats=False normalizes "
                        "with the batch's statistics even in evaluation mode)")
    features = arrays["running_mean"].shape[0]
    if isinstance(order, str):
        raise _Mismatch("the Flatten before it has not run yet: call model.build(input_shape)")
    pick = (lambda a: a[order]) if order is not None and order.size == features else \
        (lambda a: a)
    weights = []
    for name, present, fill in (("weight", layer.scale, 1.0), ("bias", layer.center, 0.0)):
        if name in arrays and not present:
            raise _Mismatch(f"torch has a {name} but the layer was made with "
                            f"{'scale' if name == 'weight' else 'center'}=False")
        if present:
            weights.append(pick(arrays[name]) if name in arrays
                           else np.full(features, fill, np.float32))
    weights += [pick(arrays["running_mean"]), pick(arrays["running_var"])]
    module = unit.module
    epsilon = getattr(module, "eps", TORCH_BN_EPSILON) if module is not None else \
        TORCH_BN_EPSILON
    momentum = getattr(module, "momentum", TORCH_BN_MOMENTUM) if module is not None else \
        TORCH_BN_MOMENTUM
    settings = {"epsilon": float(epsilon)}
    if momentum is not None:
        settings["momentum"] = 1.0 - float(momentum)
    return weights, settings


def _recurrent(layer, unit, order):
    inner = layer.forward_layer if isinstance(layer, Bidirectional) else layer
    if isinstance(layer, Bidirectional):
        if layer.merge_mode != "concat":
            raise _Mismatch(f"merge_mode={layer.merge_mode!r}: torch concatenates the two "
                            "directions (merge_mode='concat')")
        weights = []  # forward layer's, then backward layer's (named_weights' order)
        for sub in (layer.forward_layer, layer.backward_layer):
            weights += _one_direction(sub, unit.reverse if sub.go_backwards else unit.arrays,
                                      unit)
        return weights, {}
    if inner.go_backwards:
        raise _Mismatch("go_backwards=True reads the sequence from the end; a one-directional "
                        "torch RNN reads it from the start")
    return _one_direction(layer, unit.arrays, unit), {}


def _one_direction(layer, arrays, unit):
    module = unit.module
    if isinstance(layer, GRU) and not getattr(layer, "reset_after", True):
        raise _Mismatch("GRU(reset_after=False) applies the reset gate before the recurrent "
                        "product, torch's GRU after it: make the GRU with reset_after=True")
    if isinstance(layer, SimpleRNN) and module is not None:
        nonlinearity = getattr(module, "nonlinearity", "tanh")
        ours = activation_name(layer.activation)
        if nonlinearity != ours:
            raise _Mismatch(f"torch nonlinearity={nonlinearity!r}, SimpleRNN activation "
                            f"{ours!r}")
    unknown = set(arrays) - {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}
    if unknown:
        raise _Mismatch(f"unexpected tensors {sorted(unknown)}")
    convert = {LSTM: from_lstm, GRU: from_gru, SimpleRNN: from_rnn}[
        next(c for c in (LSTM, GRU, SimpleRNN) if isinstance(layer, c))]
    has_bias = "bias_ih" in arrays or "bias_hh" in arrays
    if has_bias and not layer.use_bias:
        raise _Mismatch("torch has biases but the layer was made with use_bias=False")
    weights = convert(arrays["weight_ih"], arrays["weight_hh"], arrays.get("bias_ih"),
                      arrays.get("bias_hh"))
    if layer.use_bias and not has_bias:  # torch's bias=False: zeros give the same outputs
        weights.append(np.zeros(layer.bias.shape, np.float32))
    return weights


_KNOWN = (Dense, Conv2D, Embedding, BatchNormalization, Bidirectional, LSTM, GRU, SimpleRNN)
_CONVERTERS = {Dense: _dense, Conv2D: _conv2d, Embedding: _embedding,
               BatchNormalization: _batch_norm, LSTM: _recurrent, GRU: _recurrent,
               SimpleRNN: _recurrent}


# --- small helpers ----------------------------------------------------------------------------
def _array(value):
    """A NumPy array of a torch tensor (duck-typed: torch is not imported), a minigrad tensor or
    anything array-like."""
    if isinstance(value, Tensor):
        return value.numpy()
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu()
        if str(getattr(value, "dtype", "")) == "torch.bfloat16":  # NumPy has no bfloat16
            value = value.float()
        return value.numpy()
    return np.asarray(value)


def _check_ndim(array, ndim, what):
    if array.ndim != ndim:
        raise ValueError(f"expected {what}, {ndim}-D, got shape {array.shape}")


def _only(unit, allowed):
    unknown = set(unit.arrays) - allowed
    if unknown:
        raise _Mismatch(f"unexpected tensors {sorted(unknown)}")


def _bias(layer, unit, name, size):
    """[bias] for a layer with a bias (zeros if torch has none), [] for one without."""
    if name in unit.arrays:
        if not layer.use_bias:
            raise _Mismatch("torch has a bias but the layer was made with use_bias=False")
        return [unit.arrays[name].copy()]
    return [np.zeros(size, np.float32)] if layer.use_bias else []


def _recurrent_kernels(weight_ih, weight_hh, gates, kind):
    weight_ih, weight_hh = _array(weight_ih), _array(weight_hh)
    _check_ndim(weight_ih, 2, f"a {kind} weight_ih ({gates} * hidden_size, input_size)")
    _check_ndim(weight_hh, 2, f"a {kind} weight_hh ({gates} * hidden_size, hidden_size)")
    units = weight_hh.shape[1]
    if weight_hh.shape[0] != gates * units or weight_ih.shape[0] != gates * units:
        raise ValueError(f"expected {kind} weights with {gates} gates: weight_ih "
                         f"({gates} * U, F) and weight_hh ({gates} * U, U), got "
                         f"{weight_ih.shape} and {weight_hh.shape}")
    return weight_ih.T.copy(), weight_hh.T.copy()


def _biases(bias_ih, bias_hh, width, kind):
    """(bias_ih, bias_hh) with a missing one as zeros, or None when both are missing."""
    if bias_ih is None and bias_hh is None:
        return None
    biases = [np.zeros(width, np.float32) if b is None else _array(b) for b in (bias_ih, bias_hh)]
    for b in biases:
        if b.shape != (width,):
            raise ValueError(f"expected {kind} biases of shape ({width},), got {b.shape}")
    return biases
