"""Differentiable ops on tensors, one family per module; each op is a
:class:`~minigrad.autograd.Function` with its forward and backward side by side.

All of them are also available as ``mg.<name>`` and most as tensor methods and operators.
Axes are named ``axis=`` (NumPy/Keras); ``dim=`` is accepted as an alias for PyTorch users, and
so is ``keepdim=`` for ``keepdims=``.
"""

from .activations import (elu, gelu, hard_sigmoid, hard_silu, hard_swish, leaky_relu, mish, relu,
                          relu6, selu, sigmoid, silu, softplus, softsign, swish, tanh)
from .arithmetic import add, div, mul, neg, pow, sub
from .comparison import eq, ge, gt, le, lt, ne
from .conversion import astype, clone, to_device
from .conv import conv2d
from .dropout import dropout
from .elementwise import abs, clip, exp, log, maximum, minimum, sqrt, where
from .embedding import embedding
from .indexing import getitem
from . import inplace  # noqa: F401  (Tensor's in-place operators use it)
from .join import cat, concat, split, stack
from .losses import (binary_crossentropy, categorical_crossentropy, huber, kl_divergence,
                     mean_absolute_error, mean_squared_error, sparse_categorical_crossentropy)
from .linear import linear
from .matmul import matmul
from .normalization import batch_norm
from .pooling import avg_pool2d, global_avg_pool2d, max_pool2d
from .recurrent import gru, lstm, simple_rnn
from .reductions import all, any, argmax, argmin, max, mean, min, sum, var
from .shape import (broadcast_to, expand, flatten, pad, permute, reshape, squeeze, swapaxes,
                    transpose, unsqueeze)
from .softmax import log_softmax, logsumexp, softmax

__all__ = [
    # arithmetic
    "add", "sub", "mul", "div", "pow", "neg", "matmul", "linear",
    # elementwise math and activations
    "exp", "log", "sqrt", "abs", "clip", "maximum", "minimum", "where",
    "tanh", "sigmoid", "relu", "leaky_relu", "elu", "softplus", "dropout",
    "gelu", "silu", "swish", "selu", "relu6", "hard_sigmoid", "hard_silu", "hard_swish",
    "softsign", "mish",
    # reductions
    "sum", "mean", "var", "max", "min", "argmax", "argmin", "any", "all",
    "softmax", "log_softmax", "logsumexp",
    # shapes
    "reshape", "flatten", "transpose", "permute", "swapaxes", "broadcast_to", "expand",
    "squeeze", "unsqueeze", "pad", "concat", "cat", "stack", "split", "getitem",
    # comparisons and conversions
    "eq", "ne", "lt", "le", "gt", "ge", "astype", "to_device", "clone",
    # convolution, pooling, normalization
    "conv2d", "max_pool2d", "avg_pool2d", "global_avg_pool2d", "batch_norm",
    # losses
    "mean_squared_error", "mean_absolute_error", "binary_crossentropy",
    "categorical_crossentropy", "sparse_categorical_crossentropy", "huber", "kl_divergence",
    # recurrent layers and embeddings
    "lstm", "gru", "simple_rnn", "embedding",
]
