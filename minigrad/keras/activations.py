"""``keras.activations``: the activation functions that layers take by name
(``Dense(64, activation="relu")`` is ``activation=keras.activations.relu``), and ``get``."""

from ..nn.activations import ACTIVATIONS, get

# Every named activation of minigrad.nn.activations, under its name: relu, sigmoid, tanh,
# softmax, ... (the same function objects, so a layer made with one saves under its name).
globals().update(ACTIVATIONS)

__all__ = sorted(ACTIVATIONS) + ["get"]
