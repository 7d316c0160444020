"""Neural-network building blocks: ``Module`` and ``Parameter`` (PyTorch-style), layers with
Keras names that build their weights from the first input, initializers and regularizers.

``mg.nn.Sequential`` is :class:`minigrad.train.Sequential` (a Module with the Keras training
API), so both ``mg.Sequential`` and ``mg.nn.Sequential`` work.
"""

from . import activations, init, losses, regularizers
from .layers.core import (Activation, Dense, Dropout, Flatten, LeakyReLU, ReLU, Sigmoid,
                          Softmax, Tanh)
from .layers.conv import Conv2D
from .layers.embedding import Embedding
from .layers.normalization import BatchNormalization
from .layers.pooling import AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D
from .layers.recurrent import GRU, LSTM, Bidirectional, SimpleRNN
from .module import Layer, Module
from .parameter import Parameter

__all__ = ["Module", "Layer", "Parameter", "Dense", "Flatten", "Dropout", "Activation", "ReLU",
           "Sigmoid", "Tanh", "Softmax", "LeakyReLU", "Conv2D", "MaxPooling2D", "AveragePooling2D",
           "GlobalAveragePooling2D", "BatchNormalization", "Sequential", "init", "regularizers",
           "activations", "losses"]
__all__ += ["Embedding", "LSTM", "GRU", "SimpleRNN", "Bidirectional"]  # recurrent layers


def __getattr__(name):
    # Sequential carries the training API, which lives above nn (minigrad.train); resolved on
    # first use so that importing nn never imports train.
    if name == "Sequential":
        from ..train.sequential import Sequential

        return Sequential
    raise AttributeError(f"module 'minigrad.nn' has no attribute {name!r}")
