"""Post-training quantization: ``mg.quantize(model)`` -> a copy whose Dense, Conv2D,
Embedding, LSTM, GRU and SimpleRNN weights are int8 (or float16).

Weight-only ("dynamic") quantization as PyTorch's ``quantize_dynamic``: weights are stored int8
with a float32 scale per output channel, activations stay float. The layers that do it are in
:mod:`minigrad.nn.layers.quantized`, so that ``mg.load_model`` and ``minigrad serve`` read a
saved quantized model like any other.

How: the model's architecture (JSON, what ``save`` writes) is rewritten with the quantized
class of each chosen layer (``Dense`` -> ``QuantizedDense``, inside ``Bidirectional`` too),
rebuilt as ``load_model`` rebuilds a file, and given the float weights, quantized.
"""

import json

from ..io import host_array
from ..nn.layers.quantized import QUANTIZED_CLASSES, WEIGHT_DTYPES, QuantizedLayer
from ..train.loading import model_from_architecture

_BY_NAME = {cls.__name__: quantized for cls, quantized in QUANTIZED_CLASSES.items()}


def quantize(model, dtype="int8", layers=None):
    """A new model like ``model`` with its weights stored in ``dtype``; ``model`` is untouched.

    Args:
        model: a built Sequential or functional model (one that ``save`` can store).
        dtype: ``"int8"``: weights int8 with a symmetric float32 scale per output channel
            (per unit of a Dense, filter of a Conv2D, gate column of a recurrent kernel, row
            of an Embedding; see :mod:`minigrad.nn.layers.quantized`), the file about 4x
            smaller; ``"float16"``: weights in half precision, about 2x smaller.
        layers: which layers to quantize: None for every Dense, Conv2D, Embedding, LSTM, GRU
            and SimpleRNN (inside Bidirectional too; other layers stay float), or a list of
            layer names and layer classes (``["dense_1", mg.nn.LSTM]``), each of which must be
            one of those (a Bidirectional's name quantizes both its directions).

    Returns:
        The quantized model, uncompiled (compile it to ``evaluate``; ``fit`` refuses it):
        ``predict`` it, ``save`` it, load it with ``mg.load_model``, serve it, export it to
        ONNX.

    Raises:
        ValueError: an unknown ``dtype``, a name in ``layers`` that the model does not have,
            nothing to quantize, or a model that is quantized already.
        TypeError: a layer in ``layers`` that cannot be quantized, or a model that cannot
            describe its architecture (a subclassed Model: quantize its layers by hand).

    >>> model = mg.Sequential([mg.nn.Dense(8, activation="relu", input_shape=(4,)),
    ...                        mg.nn.Dense(2)])
    >>> small = mg.quantize(model)
    >>> [type(layer).__name__ for layer in small.layers]
    ['QuantizedDense', 'QuantizedDense']
    """
    if dtype not in WEIGHT_DTYPES:
        raise ValueError(f"quantize: dtype must be one of {', '.join(map(repr, WEIGHT_DTYPES))}, "
                         f"got {dtype!r}")
    already = [m for m in model.modules() if isinstance(m, QuantizedLayer)]
    if already:
        raise ValueError(f"quantize: the model is quantized already (layer {already[0].name!r} "
                         f"is {type(already[0]).__name__}); quantize the float model")
    try:
        architecture = model.get_architecture()
    except (TypeError, AttributeError) as error:
        raise TypeError(f"quantize: {error}") from None
    architecture = json.loads(json.dumps(architecture))  # a copy to rewrite
    choice = _Choice(layers)
    specs = architecture["config"]["layers"]
    changed = [name for spec in specs for name in _rewrite(spec, dtype, choice)]
    choice.check_all_found()
    if not changed:
        raise ValueError(f"quantize: nothing to quantize in {getattr(model, 'name', 'the model')}"
                         f": it has no {', '.join(_BY_NAME)} layer")
    quantized = model_from_architecture(architecture)
    quantized.load_state_dict(_quantized_state(quantized, model.state_dict()))
    quantized.to(model.device)
    return quantized


class _Choice:
    """Which layers ``quantize(layers=...)`` asked for: names and classes."""

    def __init__(self, layers):
        self.all = layers is None
        items = [] if layers is None else list(layers)
        self.classes = {item.__name__ for item in items if isinstance(item, type)}
        for name in self.classes:
            if name not in _BY_NAME:
                raise TypeError(f"quantize: minigrad cannot quantize {name} layers (it quantizes "
                                f"{', '.join(_BY_NAME)})")
        self.names = {item for item in items if isinstance(item, str)}
        strange = [item for item in items if not isinstance(item, (str, type))]
        if strange:
            raise TypeError(f"quantize: layers= holds layer names and classes, got "
                            f"{strange[0]!r}")
        self.found = set()

    def wants(self, spec, inside=False):
        """Whether the layer ``spec`` is chosen (``inside``: its Bidirectional was named)."""
        name = spec["config"].get("name")
        if name in self.names:
            self.found.add(name)
        return self.all or inside or name in self.names or spec["class_name"] in self.classes

    def check_all_found(self):
        missing = sorted(self.names - self.found)
        if missing:
            raise ValueError(f"quantize: the model has no layer named {missing[0]!r}")


def _rewrite(spec, dtype, choice, inside=False):
    """Give ``spec`` (a layer's ``{"class_name", "config"}``) the quantized class if chosen, in
    place; returns the names of the layers changed."""
    class_name, config = spec["class_name"], spec["config"]
    chosen = choice.wants(spec, inside)
    if class_name == "Bidirectional":
        return _rewrite(config["layer"], dtype, choice, inside=chosen and not choice.all)
    if not chosen:
        return []
    if class_name not in _BY_NAME:
        if choice.all:
            return []  # layers=None: everything else stays float
        raise TypeError(f"quantize: layer {config.get('name')!r} is a {class_name}, which "
                        f"minigrad cannot quantize (it quantizes {', '.join(_BY_NAME)})")
    spec["class_name"] = _BY_NAME[class_name].__name__
    config["weight_dtype"] = dtype
    return [config.get("name")]


def _quantized_state(quantized, float_state):
    """The ``state_dict`` of ``quantized`` from the float model's: each quantized weight
    (``dense.kernel``) replaced by its buffers (``dense.kernel_int8``, ``dense.kernel_scale``);
    a pruning mask of a quantized weight (``dense.kernel_mask``) dropped."""
    state = {name: host_array(value) for name, value in float_state.items()}
    for prefix, module in quantized.named_modules():
        if not isinstance(module, QuantizedLayer):
            continue
        for name, weight in module.quantized_weights().items():
            key = f"{prefix}.{name}" if prefix else name
            # a pruned weight is zero where its mask is False already, and stays so once
            # quantized (zero is exact in the symmetric scheme): the mask is not needed
            state.pop(f"{key}_mask", None)
            buffers = weight.buffers(state.pop(key), module.weight_dtype)
            state.update({(f"{prefix}.{b}" if prefix else b): a for b, a in buffers.items()})
    return state
