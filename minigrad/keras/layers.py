"""``keras.layers``: every layer of :mod:`minigrad.nn` (the same classes), with ``Input``,
``InputLayer`` and ``Layer`` (the base class for your own layers: define ``build`` and
``call``). ``Sigmoid`` and ``Tanh`` are minigrad's (Keras spells them
``Activation("sigmoid")``)."""

from ..nn import (GRU, LSTM, Activation, Add, Average, AveragePooling2D, BatchNormalization,
                  Bidirectional, Concatenate, Conv2D, Dense, Dropout, Embedding, Flatten,
                  GlobalAveragePooling1D, GlobalAveragePooling2D, Input, InputLayer, Layer,
                  LeakyReLU, Masking, MaxPooling2D, Maximum, Minimum, Multiply, Permute, ReLU,
                  Reshape, Sigmoid, SimpleRNN, Softmax, SpatialDropout1D, SpatialDropout2D,
                  Subtract, Tanh)

# Keras's other spellings of the same layers.
Convolution2D = Conv2D
MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalAvgPool1D = GlobalAveragePooling1D

__all__ = ["Activation", "Add", "Average", "AveragePooling2D", "AvgPool2D", "BatchNormalization",
           "Bidirectional", "Concatenate", "Conv2D", "Convolution2D", "Dense", "Dropout",
           "Embedding", "Flatten", "GRU", "GlobalAveragePooling2D", "GlobalAvgPool2D", "Input",
           "InputLayer", "LSTM", "Layer", "LeakyReLU", "MaxPool2D", "MaxPooling2D", "Maximum",
           "Minimum", "Multiply", "Permute", "ReLU", "Reshape", "SimpleRNN", "Softmax",
           "Subtract", "GlobalAveragePooling1D", "GlobalAvgPool1D", "Masking", "SpatialDropout1D",
           "SpatialDropout2D", "Sigmoid", "Tanh"]
