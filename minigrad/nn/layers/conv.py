"""Convolution layers: Conv2D (channels-last images, Keras's names and arguments)."""

from ... import functional as F
from ...functional.conv import check_groups, check_images, layout_hint, pair
from ..activations import get as get_activation
from ..activations import name_of as activation_name
from ..module import Layer
from ..arguments import positive_int
from .core import kernel_and_bias_config


class Conv2D(Layer):
    """A 2-D convolution layer: ``activation(conv2d(x, kernel) + bias)`` (see
    :func:`minigrad.functional.conv2d`).

    Input: (N, H, W, C), channels last, as Keras's ``input_shape=(32, 32, 3)``; output:
    (N, OH, OW, filters), with ``OH = (H - kh) // stride + 1`` for ``padding="valid"`` and
    ``ceil(H / stride)`` for ``"same"`` (with ``dilation_rate``, kh becomes
    ``dilation * (kh - 1) + 1``). ``C`` is taken from the first input.

    Weights: ``kernel`` (kh, kw, C / groups, filters), initialized ``glorot_uniform`` with
    fan_in = kh*kw*C/groups and fan_out = kh*kw*filters (as Keras); ``bias`` (filters,), zeros.

    Args:
        filters: the number of output channels.
        kernel_size: an int or a pair (kh, kw).
        strides: an int or a pair.
        padding: ``"valid"``, ``"same"``, or an int or pair of zero rows/columns per side.
        dilation_rate: an int or a pair.
        activation: a name (``"relu"``), a function, or None.
        groups: a grouped convolution, as Keras's: the input channels and the filters are cut
            into ``groups`` blocks, filter block g seeing only channel block g (``groups=C`` is
            depthwise). ``filters`` and the input's channels must be divisible by it.

    A PyTorch ``Conv2d`` weight (filters, C / groups, kh, kw) is this kernel permuted by
    (2, 3, 1, 0), for any ``groups``.

    >>> layer = mg.nn.Conv2D(8, 3, padding="same", activation="relu")
    >>> layer(mg.ones(2, 32, 32, 3)).shape
    (2, 32, 32, 8)
    >>> layer.kernel.shape
    (3, 3, 3, 8)
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 groups=1, **kwargs):
        super().__init__(**kwargs)  # named conv2d, conv2d_1, ... as in Keras
        self.filters = positive_int(filters, "filters", "Conv2D")
        self.groups = check_groups("Conv2D", groups)
        if self.filters % self.groups:
            raise ValueError(f"Conv2D: filters={self.filters} is not divisible by "
                             f"groups={self.groups} (each group gets filters / groups)")
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2D")
        self.strides = pair(strides, "strides", "Conv2D")
        self.dilation_rate = pair(dilation_rate, "dilation_rate", "Conv2D")
        if isinstance(padding, str):
            if padding.lower() not in ("valid", "same"):
                raise ValueError(f'Conv2D: padding must be "valid", "same", an int or a pair, '
                                 f"got {padding!r}")
            self.padding = padding.lower()
        else:
            self.padding = pair(padding, "padding", "Conv2D", minimum=0)
        self.activation = get_activation(activation)
        self.use_bias = use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer

    def _check_input_shape(self, x):
        try:
            super()._check_input_shape(x)
        except ValueError as error:
            raise ValueError(str(error) + layout_hint(x.shape, self.input_shape[-1])) from None

    def build(self, input_shape):
        check_images(self.name, input_shape)
        kh, kw = self.kernel_size
        channels = input_shape[-1]
        if channels % self.groups:
            raise ValueError(f"{self.name}: the input's {channels} channels (input shape "
                             f"{tuple(input_shape)}) are not divisible by groups={self.groups}")
        channels //= self.groups  # each filter sees one group's channels
        self.add_weight("kernel", (kh, kw, channels, self.filters), self.kernel_initializer,
                        self.kernel_regularizer, fan_in=kh * kw * channels,
                        fan_out=kh * kw * self.filters)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer, self.bias_regularizer,
                            fan_in=kh * kw * channels, fan_out=kh * kw * self.filters)

    def forward(self, x):
        check_images(self.name, x.shape, self.kernel.shape[2] * self.groups)
        fused = self.activation is F.relu  # computed inside conv2d's output (see there)
        y = F.conv2d(x, self.kernel, self.bias if self.use_bias else None, self.strides,
                     self.padding, self.dilation_rate, self.groups,
                     activation="relu" if fused else None)
        return self.activation(y) if self.activation is not None and not fused else y

    def get_config(self):
        padding = self.padding if isinstance(self.padding, str) else list(self.padding)
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": padding, "dilation_rate": list(self.dilation_rate),
                "groups": self.groups,
                **kernel_and_bias_config(self)}

    def extra_repr(self):
        channels = f"{self.kernel.shape[2] * self.groups} -> " if self.built else ""
        text = f"{channels}{self.filters}, kernel_size={self.kernel_size}"
        if self.strides != (1, 1):
            text += f", strides={self.strides}"
        if self.padding != "valid":
            text += f", padding={self.padding!r}"
        if self.dilation_rate != (1, 1):
            text += f", dilation_rate={self.dilation_rate}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.activation is not None:
            text += f", activation={activation_label(self.activation)}"
        return text


def activation_label(activation):
    """The activation's name for a repr (a function without a name is shown by its own)."""
    try:
        return activation_name(activation)
    except ValueError:
        return getattr(activation, "__name__", repr(activation))
