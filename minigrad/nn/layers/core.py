"""Core layers: Dense, Flatten, Dropout (and SpatialDropout1D/2D) and the activation layers."""

import numbers

from ... import functional as F
from ...functional.dropout import SeedGenerator
from ..activations import get as get_activation
from ..activations import name_of as activation_name
from ..init import name_of as initializer_name
from ..regularizers import config_of as regularizer_config
from ..module import Layer
from ..arguments import positive_int, non_negative_float


class Dense(Layer):
    """A fully connected layer: ``activation(x @ kernel + bias)``.

    Input: (N, ..., in_features); output: (N, ..., units). ``in_features`` is taken from the
    first input (or from ``input_shape=(in_features,)``). kernel: (in_features, units),
    initialized ``glorot_uniform``; bias: (units,), zeros.

    A mask (``Embedding(mask_zero=True)``) passes through: each step is mapped alone.

    >>> layer = mg.nn.Dense(4, activation="relu")
    >>> layer(mg.ones(2, 3)).shape
    (2, 4)
    """

    #: A mask passes through (see :func:`minigrad.nn.container.call_with_mask`).
    supports_masking = True

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.units = positive_int(units, "units", "Dense")
        self.activation = get_activation(activation)
        self.use_bias = use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer

    def build(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(f"{self.name} expected input of shape (N, features), got "
                             f"{input_shape}")
        in_features = input_shape[-1]
        self.add_weight("kernel", (in_features, self.units), self.kernel_initializer,
                        self.kernel_regularizer)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer, self.bias_regularizer,
                            fan_in=in_features, fan_out=self.units)

    def forward(self, x):
        expected = self.kernel.shape[0]
        if x.ndim < 2 or x.shape[-1] != expected:
            raise ValueError(f"{self.name} expected input of shape (N, {expected}), got "
                             f"{tuple(x.shape)}")
        y = F.linear(x, self.kernel, self.bias if self.use_bias else None)
        return self.activation(y) if self.activation is not None else y

    def get_config(self):
        return {**super().get_config(), "units": self.units, **kernel_and_bias_config(self)}

    def extra_repr(self):
        built = f"{self.kernel.shape[0]} -> " if self.built else ""
        act = f", activation={activation_name(self.activation)}" if self.activation else ""
        return f"{built}{self.units}{act}"


class Flatten(Layer):
    """Flatten every axis but the batch axis: (N, d1, d2, ...) -> (N, d1*d2*...), in row-major
    order -- for channels-last images (N, H, W, C) the features are in (h, w, c) order, where
    PyTorch's ``nn.Flatten`` on (N, C, H, W) gives (c, h, w) order
    (:func:`~minigrad.nn.load_torch_weights` permutes the next Dense's kernel to match).

    >>> layer = mg.nn.Flatten()
    >>> layer(mg.ones(2, 4, 4, 3)).shape, layer.flattened_shape
    ((2, 48), (4, 4, 3))
    """

    #: The per-sample shape (without the batch axis) of the last input, or None before the
    #: first call.
    flattened_shape = None

    def forward(self, x):
        self.flattened_shape = tuple(x.shape[1:])
        return F.flatten(x, 1) if x.ndim > 2 else (x if x.ndim == 2 else F.reshape(x, -1, 1))


class Dropout(Layer):
    """Randomly zero a fraction ``rate`` of the inputs while training, scaling the rest by
    ``1 / (1 - rate)`` (inverted dropout); the identity in evaluation mode.

    Input and output: any shape; a mask passes through.

    Args:
        rate: the fraction dropped, in [0, 1).
        noise_shape: the shape of the mask, broadcast over the input (Keras's): None entries
            are the input's sizes, 1 shares the mask along that axis, e.g. ``(None, 1, None)``
            on (N, T, F) drops the same features at every step of a sequence.
        seed: an int: the layer draws its masks from a generator of its own started from this
            seed, so a run is reproducible and two layers with different seeds differ; None:
            the global generator (``mg.manual_seed``).

    >>> layer = mg.nn.Dropout(0.5, seed=1)
    >>> layer(mg.ones(2, 3)).shape
    (2, 3)
    """

    #: A mask passes through (see :func:`minigrad.nn.container.call_with_mask`).
    supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        if noise_shape is not None:
            if isinstance(noise_shape, (str, bytes)) or not all(
                    d is None or (isinstance(d, numbers.Integral) and d > 0) for d in noise_shape):
                raise ValueError(f"Dropout noise_shape must be a tuple of positive ints and "
                                 f"None, got {noise_shape!r}")
            noise_shape = tuple(d if d is None else int(d) for d in noise_shape)
        self.noise_shape = noise_shape
        self.seed = seed
        self.generator = SeedGenerator(seed) if seed is not None else None

    def forward(self, x):
        return F.dropout(x, self.rate, training=self.training, noise_shape=self.noise_shape,
                         generator=self.generator)

    def get_config(self):
        noise_shape = list(self.noise_shape) if self.noise_shape is not None else None
        return {**super().get_config(), "rate": self.rate, "noise_shape": noise_shape,
                "seed": self.seed}

    def extra_repr(self):
        extra = f", noise_shape={self.noise_shape}" if self.noise_shape is not None else ""
        return f"rate={self.rate:g}{extra}" + (f", seed={self.seed}" if self.seed is not None
                                               else "")


class SpatialDropout1D(Dropout):
    """Dropout of whole feature maps (Keras's): one draw per sample and channel, shared by
    every step, for inputs whose neighbouring steps are alike (after a convolution or an
    embedding). Input and output: (N, T, C); a mask passes through.

    >>> mg.nn.SpatialDropout1D(0.5, seed=0)(mg.ones(2, 5, 3)).shape
    (2, 5, 3)
    """

    _spatial_axes = 1

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)

    def forward(self, x):
        ndim = self._spatial_axes + 2
        if x.ndim != ndim:
            raise ValueError(f"{self.name} expected input of {ndim} axes (N, "
                             f"{'H, W' if ndim == 4 else 'T'}, C), got shape {tuple(x.shape)}")
        noise_shape = (None,) + (1,) * self._spatial_axes + (None,)
        return F.dropout(x, self.rate, training=self.training, noise_shape=noise_shape,
                         generator=self.generator)

    def get_config(self):
        config = super().get_config()
        config.pop("noise_shape")
        return config

    def extra_repr(self):
        return f"rate={self.rate:g}" + (f", seed={self.seed}" if self.seed is not None else "")


class SpatialDropout2D(SpatialDropout1D):
    """Dropout of whole feature maps of channels-last images (Keras's): one draw per image
    and channel, shared by every pixel. Input and output: (N, H, W, C).

    >>> mg.nn.SpatialDropout2D(0.5, seed=0)(mg.ones(2, 4, 4, 3)).shape
    (2, 4, 4, 3)
    """

    _spatial_axes = 2


class Masking(Layer):
    """Mark the steps whose features all equal ``mask_value`` as padding (Keras's), for
    sequences of numbers rather than token ids: the output is the input with those steps set
    to 0, and its mask (N, T) is True where any feature differs from ``mask_value``.

    Input and output: (N, T, F).

    >>> x = mg.tensor([[[1.0, 2.0], [0.0, 0.0]]])
    >>> mg.nn.Masking().compute_mask(x).tolist()
    [[True, False]]
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)

    def forward(self, x):
        keep = F.any(F.ne(x, self.mask_value), axis=-1, keepdims=True)
        return x * F.astype(keep, x.dtype)

    def compute_mask(self, inputs, mask=None):
        """(N, T) bool: True at the steps with a feature other than ``mask_value``."""
        return F.any(F.ne(inputs, self.mask_value), axis=-1)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}

    def extra_repr(self):
        return f"mask_value={self.mask_value:g}"


class Activation(Layer):
    """Apply an activation by name (``Activation("relu")``) or function; a mask passes
    through."""

    #: A mask passes through (see :func:`minigrad.nn.container.call_with_mask`).
    supports_masking = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = get_activation(activation)
        if self.activation is None:
            raise ValueError("Activation needs an activation, got None")

    def forward(self, x):
        return self.activation(x)

    def get_config(self):
        return {**super().get_config(), "activation": activation_name(self.activation)}

    def extra_repr(self):
        return activation_name(self.activation)


class _NamedActivation(Activation):
    """An Activation whose function is fixed by the class (ReLU, Sigmoid, Tanh)."""

    _function_name = None

    def __init__(self, **kwargs):
        kwargs.pop("activation", None)
        super().__init__(self._function_name, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("activation")
        return config


class ReLU(_NamedActivation):
    """``max(x, 0)`` as a layer."""

    _function_name = "relu"


class Sigmoid(_NamedActivation):
    """The logistic function as a layer."""

    _function_name = "sigmoid"


class Tanh(_NamedActivation):
    """tanh as a layer."""

    _function_name = "tanh"


class Softmax(Layer):
    """softmax over ``axis`` (default: the last) as a layer; a mask passes through (it is not
    applied to the scores: Keras's ``Softmax(mask=...)`` is for attention scores, and raises on
    a (N, T) sequence mask beside (N, T, C) inputs)."""

    #: A mask passes through (see :func:`minigrad.nn.container.call_with_mask`).
    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def forward(self, x):
        return F.softmax(x, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class LeakyReLU(Layer):
    """``x`` if positive, else ``negative_slope * x``, with Keras's default slope 0.3 (the
    function ``mg.leaky_relu`` has PyTorch's 0.01); a mask passes through."""

    #: A mask passes through (see :func:`minigrad.nn.container.call_with_mask`).
    supports_masking = True

    def __init__(self, negative_slope=0.3, **kwargs):
        super().__init__(**kwargs)
        self.negative_slope = non_negative_float(negative_slope, "negative_slope", "LeakyReLU")

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


def kernel_and_bias_config(layer):
    """The config entries that layers with a kernel and a bias share (Dense, Conv2D)."""
    return {"activation": activation_name(layer.activation), "use_bias": layer.use_bias,
            "kernel_initializer": initializer_name(layer.kernel_initializer),
            "bias_initializer": initializer_name(layer.bias_initializer),
            "kernel_regularizer": regularizer_config(layer.kernel_regularizer),
            "bias_regularizer": regularizer_config(layer.bias_regularizer)}
