"""Activations by name, for ``Dense(64, activation="relu")`` and ``Activation("tanh")``.

The names and what they mean are Keras 3's (``keras.activations.get``): ``"gelu"`` is the exact
GELU (``approximate=False``), ``"leaky_relu"`` has Keras's slope 0.2 (not PyTorch's 0.01),
``"hard_sigmoid"`` is Keras 3's ``relu6(x + 3) / 6`` (not tf.keras 2's ``0.2 x + 0.5``), and
``"swish"`` / ``"hard_swish"`` are other names of ``"silu"`` / ``"hard_silu"``. A saved model
records the first name of its activation's function in :data:`ACTIVATIONS`.
"""

from .. import functional as F


def linear(x):
    """The identity (Keras's ``"linear"``)."""
    return x


def softmax(x):
    """softmax over the last axis."""
    return F.softmax(x, axis=-1)


def leaky_relu(x):
    """Keras's ``"leaky_relu"``: ``x`` for ``x > 0``, else ``0.2 * x`` (Keras's default slope;
    ``mg.leaky_relu`` has PyTorch's 0.01)."""
    return F.leaky_relu(x, negative_slope=0.2)


#: name -> function. Several names of one function (an alias) follow its first name, the one
#: a saved model records.
ACTIVATIONS = {"relu": F.relu, "sigmoid": F.sigmoid, "tanh": F.tanh, "softmax": softmax,
               "elu": F.elu, "softplus": F.softplus, "leaky_relu": leaky_relu,
               "linear": linear, "log_softmax": F.log_softmax, "gelu": F.gelu,
               "silu": F.silu, "swish": F.silu, "selu": F.selu, "relu6": F.relu6,
               "hard_sigmoid": F.hard_sigmoid, "hard_silu": F.hard_silu,
               "hard_swish": F.hard_silu, "softsign": F.softsign, "mish": F.mish,
               "exponential": F.exp}


def get(activation):
    """The activation function for a name, a callable, or None (no activation).

    >>> mg.nn.activations.get("swish") is mg.silu
    True
    """
    if activation is None or callable(activation):
        return None if activation is linear else activation
    try:
        return ACTIVATIONS[str(activation).lower()]
    except KeyError:
        names = ", ".join(sorted(ACTIVATIONS))
        raise ValueError(f"unknown activation {activation!r}; choose from {names}") from None


def name_of(activation):
    """The name under which ``activation`` is known (for saving a model's architecture).

    >>> mg.nn.activations.name_of(mg.swish)
    'silu'
    """
    if activation is None:
        return None
    for name, function in ACTIVATIONS.items():
        if function is activation:
            return name
    raise ValueError(f"activation {activation!r} has no name: a model that uses it cannot be "
                     "saved with its architecture; use a named activation or save_weights")
