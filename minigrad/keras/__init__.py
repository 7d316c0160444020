"""``from minigrad import keras``: minigrad laid out as Keras 3's public API, so that Keras code
(``tf.keras.`` or ``keras.`` tutorials) runs with one import changed.

Every name here is minigrad's own object, re-exported (``keras.layers.Dense is
minigrad.nn.Dense``), except the optimizers, which are minigrad's optimizers with Keras's
constructors and defaults (:mod:`minigrad.keras.optimizers`). What differs from Keras, and why,
is on the docs page "Coming from Keras".

>>> from minigrad import keras
>>> inputs = keras.Input(shape=(4,))
>>> outputs = keras.layers.Dense(2)(keras.layers.Dense(8, activation="relu")(inputs))
>>> model = keras.Model(inputs, outputs)
>>> model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse")
"""

from ..nn import Input
from ..train import Model, Sequential
from . import (activations, callbacks, datasets, layers, losses, metrics, models, optimizers,
               preprocessing, utils)

__all__ = ["Input", "Model", "Sequential", "activations", "callbacks", "datasets", "layers",
           "losses", "metrics", "models", "optimizers", "preprocessing", "utils"]
