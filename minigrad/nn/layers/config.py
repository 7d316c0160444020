"""The config entries layers write for their initializers and regularizers (what Keras's
``get_config`` writes): an initializer by name, an L1L2 regularizer as ``{"l1": ..., "l2": ...}``.
``from_config`` reads them back through ``init.get`` and ``regularizers.get``."""

from ..activations import name_of as activation_name


def initializer_name(initializer):
    """An initializer as a config holds it: a name as it is, a function by its ``__name__``
    (``"glorot_uniform"``), anything else by its ``repr``."""
    if isinstance(initializer, str):
        return initializer
    return getattr(initializer, "__name__", repr(initializer))


def regularizer_config(regularizer):
    """A regularizer as a config holds it: None, a name or a dict as it is; an
    :class:`~minigrad.nn.regularizers.L1L2` (or anything with ``l1`` and ``l2``) as
    ``{"l1": ..., "l2": ...}``; None for another callable, which a config cannot hold."""
    if regularizer is None or isinstance(regularizer, (str, dict)):
        return regularizer
    return {"l1": regularizer.l1, "l2": regularizer.l2} if hasattr(regularizer, "l1") else None


def kernel_and_bias_config(layer):
    """The config entries that layers with a kernel and a bias share (Dense, Conv2D)."""
    return {"activation": activation_name(layer.activation), "use_bias": layer.use_bias,
            "kernel_initializer": initializer_name(layer.kernel_initializer),
            "bias_initializer": initializer_name(layer.bias_initializer),
            "kernel_regularizer": regularizer_config(layer.kernel_regularizer),
            "bias_regularizer": regularizer_config(layer.bias_regularizer)}
