"""Which function converts which layer class to ONNX nodes.

A converter is ``convert(layer, builder, inputs) -> outputs``: ``layer`` is the built minigrad
layer (in inference form: Dropout is the identity, BatchNormalization uses its moving
statistics), ``builder`` a :class:`~.builder.GraphBuilder`, ``inputs`` and ``outputs`` lists of
:class:`~.builder.Symbol`. Register one with ``@converts(LayerClass, ...)``; a subclass without
its own converter uses its nearest registered base class only if that base is registered with
``subclasses=True`` (a subclass may change the computation, so the default is to refuse).
"""

CONVERTERS = {}
_SUBCLASSES_OK = set()


class UnsupportedLayerError(TypeError):
    """A layer (or a setting of it) that minigrad cannot export to ONNX."""


def converts(*layer_classes, subclasses=False):
    """Decorator: register the function as the converter of ``layer_classes``."""
    def register(function):
        for cls in layer_classes:
            if cls in CONVERTERS:
                raise ValueError(f"{cls.__name__} already has an ONNX converter")
            CONVERTERS[cls] = function
            if subclasses:
                _SUBCLASSES_OK.add(cls)
        return function
    return register


def converter_for(layer):
    """The converter of ``layer``'s class; :class:`UnsupportedLayerError` naming the layer when
    there is none."""
    cls = type(layer)
    if cls in CONVERTERS:
        return CONVERTERS[cls]
    for base in cls.__mro__[1:]:
        if base in _SUBCLASSES_OK:
            return CONVERTERS[base]
    raise UnsupportedLayerError(
        f"cannot export layer {getattr(layer, 'name', '?')!r} ({cls.__name__}) to ONNX: "
        f"minigrad has no ONNX converter for {cls.__name__}")
