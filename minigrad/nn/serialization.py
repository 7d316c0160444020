"""Layers from their configs, by class name, without executing anything from a file: only the
layer classes that :mod:`minigrad.nn` exports can be named."""

import reprlib

from . import init
from .module import Layer

#: The config entries that give a layer's input shape, which some layers allocate at once
#: (an InputLayer's probe, a Sequential built from its first layer's input_shape).
INPUT_SHAPE_KEYS = ("input_shape", "shape", "batch_input_shape", "batch_shape", "input_dim")


def layer_class(class_name):
    """The :class:`~minigrad.nn.Layer` subclass that ``minigrad.nn`` exports as ``class_name``."""
    from .. import nn

    cls = getattr(nn, str(class_name), None)
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise ValueError(f"unknown layer class {class_name!r}: minigrad.nn has no such layer")
    return cls


def serialize(layer):
    """``{"class_name": ..., "config": ...}`` for a layer (see :meth:`Layer.get_config`)."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(spec):
    """The layer described by :func:`serialize`'s output (weights not included).

    Under :func:`minigrad.nn.init.allocation_budget` (loading a file), the input shapes in the
    config are checked against the budget before the layer is made."""
    if not isinstance(spec, dict) or "class_name" not in spec or "config" not in spec or \
            not isinstance(spec["config"], dict):
        raise ValueError(f"a layer spec is {{'class_name': ..., 'config': {{...}}}}, got "
                         f"{reprlib.repr(spec)}")
    cls, config = layer_class(spec["class_name"]), dict(spec["config"])
    for key in INPUT_SHAPE_KEYS:
        if config.get(key) is not None and not (key == "input_dim" and cls.__name__ == "Embedding"):
            init.check_input_shape(config[key], f"{cls.__name__} {key}")
    return cls.from_config(config)
