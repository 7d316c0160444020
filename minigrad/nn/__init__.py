"""Neural-network building blocks: ``Module`` and ``Parameter`` (PyTorch-style), layers with
Keras names that build their weights from the first input, initializers and regularizers.

``mg.nn.Sequential`` is the plain container (as ``torch.nn.Sequential``); ``mg.Sequential``
(:class:`minigrad.train.Sequential`) is the same with the Keras training API.
"""

from . import activations, init, losses, naming, regularizers, torch_weights
from .container import Sequential
from .layers.core import (Activation, Dense, Dropout, Flatten, LeakyReLU, Masking, ReLU,
                          Sigmoid, Softmax, SpatialDropout1D, SpatialDropout2D, Tanh)
from .layers.conv import Conv2D
from .layers.embedding import Embedding
from .layers.input_layer import Input, InputLayer, KerasTensor
from .layers.merge import Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract
from .layers.reshaping import Permute, Reshape
from .layers.normalization import BatchNormalization
from .layers.pooling import (AveragePooling2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
                             MaxPooling2D)
from .layers.recurrent import GRU, LSTM, Bidirectional, SimpleRNN
from .layers.quantized import (QuantizedConv2D, QuantizedDense,  # noqa: F401  (load_model)
                               QuantizedEmbedding, QuantizedGRU,  # noqa: F401
                               QuantizedLSTM, QuantizedSimpleRNN)  # noqa: F401
from .module import Layer, Module
from .parameter import Parameter
from .torch_weights import load_torch_weights

__all__ = ["Module", "Layer", "Parameter", "Dense", "Flatten", "Dropout", "Activation", "ReLU",
           "Sigmoid", "Tanh", "Softmax", "LeakyReLU", "Conv2D", "MaxPooling2D", "AveragePooling2D",
           "GlobalAveragePooling2D", "BatchNormalization", "Sequential", "init", "regularizers",
           "activations", "losses", "naming"]
__all__ += ["Embedding", "LSTM", "GRU", "SimpleRNN", "Bidirectional"]  # recurrent layers
__all__ += ["load_torch_weights", "torch_weights"]  # importing PyTorch weights
__all__ += ["SpatialDropout1D", "SpatialDropout2D", "GlobalAveragePooling1D", "Masking"]
__all__ += ["Input", "InputLayer", "KerasTensor", "Add", "Subtract", "Multiply", "Average",
            "Maximum", "Minimum", "Concatenate", "Reshape", "Permute"]  # functional API
# The quantized layers (QuantizedDense, ...: int8 / float16 weights, made by mg.quantize) are
# exported so that load_model finds them by name, but stay out of __all__: they are not part of
# the Keras-style set that keras.layers mirrors (Keras quantizes a Dense in place).
