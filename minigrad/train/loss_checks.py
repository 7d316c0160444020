"""Checks of a loss against the model it trains, made once at ``compile``.

The CIFAR-10 tutorial's classic mistake: ``SparseCategoricalCrossentropy(from_logits=True)`` on
a model whose last layer already applies softmax. The loss then takes probabilities for logits,
applies softmax a second time, and training is slower and ends less accurate without any error.
Keras warns about it; so does minigrad, naming the layer and the two ways out."""

import warnings

from ..nn.activations import name_of

#: The activation that turns logits into what each loss expects when ``from_logits=False``.
_PROBABILITY_ACTIVATIONS = {"softmax": "softmax", "sigmoid": "sigmoid"}


def _last_activation(model):
    """(layer, activation name) of the model's last layer, or (None, None) if unknown."""
    layers = getattr(model, "layers", None)
    if not layers:
        return None, None
    layer = layers[-1]
    if type(layer).__name__ == "Softmax":
        return layer, "softmax"
    activation = getattr(layer, "activation", None)
    if activation is None:
        return layer, None
    try:
        return layer, name_of(activation)
    except (ValueError, KeyError):  # a user's own function: nothing to say about it
        return layer, None


def warn_if_probabilities_as_logits(model, loss):
    """Warn when ``loss`` has ``from_logits=True`` but the model's last layer ends in softmax
    or sigmoid, so the loss would get probabilities where it expects logits."""
    if not getattr(loss, "from_logits", False):
        return
    layer, activation = _last_activation(model)
    if activation not in _PROBABILITY_ACTIVATIONS:
        return
    name = getattr(layer, "name", type(layer).__name__)
    warnings.warn(
        f"{type(loss).__name__}(from_logits=True) expects logits, but the model's last layer "
        f"{name!r} applies {activation}, so the loss gets probabilities and applies "
        f"{activation} a second time: training is slower and ends less accurate. Remove the "
        f"{activation} from {name!r} (keep it for predictions only), or use "
        f"from_logits=False.", UserWarning, stacklevel=3)
