"""Layers from their configs, by class name, without executing anything from a file: only the
layer classes that :mod:`minigrad.nn` exports can be named."""

from .module import Layer


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
    """The layer described by :func:`serialize`'s output (weights not included)."""
    if not isinstance(spec, dict) or "class_name" not in spec or "config" not in spec:
        raise ValueError(f"a layer spec is {{'class_name': ..., 'config': {{...}}}}, got {spec!r}")
    return layer_class(spec["class_name"]).from_config(dict(spec["config"]))
