"""Activations as ONNX nodes: the functions of :mod:`minigrad.nn.activations` (by name in a
layer: ``Dense(8, activation="gelu")``) and of :mod:`minigrad.functional` passed as callables.

:func:`emit` appends the nodes of one activation. Each maps to one ONNX operator where the
opset has it with minigrad's exact formula, else to the formula in elementary operators (GELU
before opset 20, Mish before 18, HardSwish before 14). ``functools.partial`` of a listed
function with its keyword arguments (``partial(mg.gelu, approximate=True)``,
``partial(mg.leaky_relu, negative_slope=0.1)``, ``partial(mg.elu, alpha=0.5)``) is understood
too; any other callable is an :class:`~.registry.UnsupportedLayerError`.
"""

import functools
import math

from ... import functional as F
from ...nn import activations as named
from .registry import UnsupportedLayerError


def _simple(op_type, **attributes):
    def emit_op(builder, x, hint, axis):
        return builder.node(op_type, [x], hint=hint, **attributes)
    return emit_op


def _softmax(op_type):
    def emit_op(builder, x, hint, axis):
        return builder.node(op_type, [x], hint=hint, axis=axis)
    return emit_op


def _scalar(builder, value, hint):
    return builder.weight(value, hint)  # a 0-d initializer in the model's float dtype


def _leaky_relu(slope):
    return _simple("LeakyRelu", alpha=float(slope))


def _elu(alpha=1.0):
    return _simple("Elu", alpha=float(alpha))


def _relu6(builder, x, hint, axis):
    low, high = _scalar(builder, 0.0, f"{hint}/min"), _scalar(builder, 6.0, f"{hint}/max")
    return builder.node("Clip", [x, low, high], hint=hint)


def _silu(builder, x, hint, axis):
    return builder.node("Mul", [x, builder.node("Sigmoid", [x], hint=f"{hint}/sigmoid")],
                        hint=hint)


def _hard_sigmoid(builder, x, hint, axis):
    # relu6(x + 3) / 6 == clip(x / 6 + 1/2, 0, 1), ONNX's HardSigmoid(alpha, beta)
    return builder.node("HardSigmoid", [x], hint=hint, alpha=1.0 / 6.0, beta=0.5)


def _hard_silu(builder, x, hint, axis):
    if builder.opset >= 14:
        return builder.node("HardSwish", [x], hint=hint)
    return builder.node("Mul", [x, _hard_sigmoid(builder, x, f"{hint}/hard_sigmoid", axis)],
                        hint=hint)


def _mish(builder, x, hint, axis):
    if builder.opset >= 18:
        return builder.node("Mish", [x], hint=hint)
    softplus = builder.node("Softplus", [x], hint=f"{hint}/softplus")
    return builder.node("Mul", [x, builder.node("Tanh", [softplus], hint=f"{hint}/tanh")],
                        hint=hint)


def _gelu(approximate=False):
    if isinstance(approximate, str):  # PyTorch's spelling, as mg.gelu accepts it
        approximate = approximate == "tanh"

    def emit_op(builder, x, hint, axis):
        if builder.opset >= 20:
            return builder.node("Gelu", [x], hint=hint,
                                approximate="tanh" if approximate else "none")
        half = _scalar(builder, 0.5, f"{hint}/half")
        one = _scalar(builder, 1.0, f"{hint}/one")
        if approximate:  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
            cube = builder.node("Mul", [x, builder.node("Mul", [x, x], hint=f"{hint}/x2")],
                                hint=f"{hint}/x3")
            inner = builder.node("Add", [x, builder.node(
                "Mul", [cube, _scalar(builder, 0.044715, f"{hint}/c")], hint=f"{hint}/cx3")],
                hint=f"{hint}/inner")
            scaled = builder.node("Mul", [inner, _scalar(builder, math.sqrt(2 / math.pi),
                                                         f"{hint}/k")], hint=f"{hint}/scaled")
            phi = builder.node("Tanh", [scaled], hint=f"{hint}/tanh")
        else:  # 0.5 x (1 + erf(x / sqrt(2)))
            scaled = builder.node("Mul", [x, _scalar(builder, 1 / math.sqrt(2), f"{hint}/k")],
                                  hint=f"{hint}/scaled")
            phi = builder.node("Erf", [scaled], hint=f"{hint}/erf")
        total = builder.node("Add", [phi, one], hint=f"{hint}/plus_one")
        return builder.node("Mul", [builder.node("Mul", [x, half], hint=f"{hint}/half_x"),
                                    total], hint=hint)
    return emit_op


#: function -> (emitter, or a factory of emitters taking the function's keyword arguments).
#: A factory accepts the keywords of the matching minigrad function that change the result.
_FIXED = {
    named.linear: None,
    F.relu: _simple("Relu"),
    F.sigmoid: _simple("Sigmoid"),
    F.tanh: _simple("Tanh"),
    named.softmax: _softmax("Softmax"),
    F.softplus: _simple("Softplus"),
    named.leaky_relu: _leaky_relu(0.2),
    F.silu: _silu,
    F.selu: _simple("Selu"),  # ONNX's default alpha and gamma are SELU's constants
    F.relu6: _relu6,
    F.hard_sigmoid: _hard_sigmoid,
    F.hard_silu: _hard_silu,
    F.softsign: _simple("Softsign"),
    F.mish: _mish,
    F.exp: _simple("Exp"),
}
_WITH_ARGUMENTS = {
    F.softmax: lambda axis=None: ("axis", axis, _softmax("Softmax")),
    F.log_softmax: lambda axis=None: ("axis", axis, _softmax("LogSoftmax")),
    F.elu: lambda alpha=1.0: _elu(alpha),
    F.leaky_relu: lambda negative_slope=0.01: _leaky_relu(negative_slope),
    F.gelu: lambda approximate=False: _gelu(approximate),
}


def is_elementwise(function):
    """Whether ``function`` acts on each value alone (it may then run in any layout); False
    for softmax and log_softmax, which normalize along an axis."""
    target = function.func if isinstance(function, functools.partial) else function
    return target not in (named.softmax, F.softmax, F.log_softmax)


def supported_names():
    """The activation names (:data:`minigrad.nn.activations.ACTIVATIONS`) that export."""
    functions = set(_FIXED) | set(_WITH_ARGUMENTS)
    return sorted(name for name, function in named.ACTIVATIONS.items() if function in functions)


def emit(builder, function, x, hint, axis=-1, layer=None):
    """Append the nodes of ``function`` applied to the value ``x``; returns the output name.

    ``axis`` is the axis of a softmax / log_softmax in the graph's layout (1 inside an NCHW
    block for minigrad's last, channel axis); ``layer`` names the layer in the error raised for
    an activation without an ONNX form. ``function`` None (no activation) returns ``x``.
    """
    if function is None:
        return x
    target, keywords = function, {}
    if isinstance(function, functools.partial) and not function.args:
        target, keywords = function.func, dict(function.keywords)
    try:
        if target in _FIXED and not keywords:
            emitter = _FIXED[target]
            return x if emitter is None else emitter(builder, x, hint, axis)
        if target in _WITH_ARGUMENTS:
            made = _WITH_ARGUMENTS[target](**keywords)
            if isinstance(made, tuple):  # softmax-like: its own axis unless told
                _, own_axis, emitter = made
                return emitter(builder, x, hint, axis if own_axis is None else own_axis)
            return made(builder, x, hint, axis)
    except TypeError:  # a keyword the ONNX form does not take (softplus's beta, ...)
        pass
    owner = f"layer {getattr(layer, 'name', '?')!r} ({type(layer).__name__}): " if layer else ""
    label = getattr(target, "__name__", repr(target))
    raise UnsupportedLayerError(
        f"cannot export {owner}its activation {label}{' ' + repr(keywords) if keywords else ''}"
        f" has no ONNX form; exportable activations: {', '.join(supported_names())}")
