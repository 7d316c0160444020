"""Activations by name, for ``Dense(64, activation="relu")`` and ``Activation("tanh")``."""

from .. import functional as F


def linear(x):
    """The identity (Keras's ``"linear"``)."""
    return x


def softmax(x):
    """softmax over the last axis."""
    return F.softmax(x, axis=-1)


ACTIVATIONS = {"relu": F.relu, "sigmoid": F.sigmoid, "tanh": F.tanh, "softmax": softmax,
               "elu": F.elu, "softplus": F.softplus, "leaky_relu": F.leaky_relu,
               "linear": linear, "log_softmax": F.log_softmax}


def get(activation):
    """The activation function for a name, a callable, or None (no activation)."""
    if activation is None or callable(activation):
        return None if activation is linear else activation
    try:
        return ACTIVATIONS[str(activation).lower()]
    except KeyError:
        names = ", ".join(sorted(ACTIVATIONS))
        raise ValueError(f"unknown activation {activation!r}; choose from {names}") from None


def name_of(activation):
    """The name under which ``activation`` is known (for saving a model's architecture)."""
    if activation is None:
        return None
    for name, function in ACTIVATIONS.items():
        if function is activation:
            return name
    raise ValueError(f"activation {activation!r} has no name: a model that uses it cannot be "
                     "saved with its architecture; use a named activation or save_weights")
