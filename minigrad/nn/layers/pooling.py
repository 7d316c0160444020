"""Pooling layers on channels-last images: MaxPooling2D, AveragePooling2D,
GlobalAveragePooling2D, and on sequences GlobalAveragePooling1D (Keras's names and arguments).
They have no weights."""

from ... import functional as F
from ...autograd.tensor import Tensor
from ...functional.conv import check_images, pair
from ..module import Layer


class _Pooling2D(Layer):
    """The arguments shared by max and average pooling."""

    _function = None

    def __init__(self, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.pool_size = pair(pool_size, "pool_size", name)
        self.strides = self.pool_size if strides is None else pair(strides, "strides", name)
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
            raise ValueError(f'{name}: padding must be "valid" or "same", got {padding!r}')
        self.padding = padding.lower()

    def forward(self, x):
        check_images(self.name, x.shape)
        return type(self)._function(x, self.pool_size, self.strides, self.padding)

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size),
                "strides": list(self.strides), "padding": self.padding}

    def extra_repr(self):
        text = f"pool_size={self.pool_size}"
        if self.strides != self.pool_size:
            text += f", strides={self.strides}"
        return text + (f", padding={self.padding!r}" if self.padding != "valid" else "")


class MaxPooling2D(_Pooling2D):
    """The maximum of each pool_h x pool_w window (see :func:`minigrad.functional.max_pool2d`).

    Input: (N, H, W, C); output: (N, OH, OW, C) with ``OH = (H - pool_h) // stride + 1`` for
    ``padding="valid"`` and ``ceil(H / stride)`` for ``"same"``. ``strides`` defaults to the
    pool size (non-overlapping windows), as in Keras.

    >>> mg.nn.MaxPooling2D()(mg.ones(2, 30, 30, 32)).shape
    (2, 15, 15, 32)
    """

    _function = staticmethod(F.max_pool2d)


class AveragePooling2D(_Pooling2D):
    """The mean of each pool_h x pool_w window (see :func:`minigrad.functional.avg_pool2d`);
    with ``padding="same"`` padded cells are left out of the mean, as in Keras.

    Input: (N, H, W, C); output: (N, OH, OW, C), as :class:`MaxPooling2D`.

    >>> mg.nn.AveragePooling2D(3, strides=2, padding="same")(mg.ones(2, 7, 7, 4)).shape
    (2, 4, 4, 4)
    """

    _function = staticmethod(F.avg_pool2d)


class GlobalAveragePooling2D(Layer):
    """The mean over each image's height and width (see
    :func:`minigrad.functional.global_avg_pool2d`).

    Input: (N, H, W, C); output: (N, C), or (N, 1, 1, C) with ``keepdims=True``.

    >>> mg.nn.GlobalAveragePooling2D()(mg.ones(2, 8, 8, 64)).shape
    (2, 64)
    """

    def __init__(self, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.keepdims = bool(keepdims)

    def forward(self, x):
        check_images(self.name, x.shape)
        return F.global_avg_pool2d(x, keepdims=self.keepdims)

    def get_config(self):
        return {**super().get_config(), "keepdims": self.keepdims}

    def extra_repr(self):
        return "keepdims=True" if self.keepdims else ""


class GlobalAveragePooling1D(Layer):
    """The mean over the steps of each sequence; with a mask (``Embedding(mask_zero=True)``)
    the mean over the real steps alone, as Keras, and the mask ends here.

    Input: (N, T, C); output: (N, C), or (N, 1, C) with ``keepdims=True``. A sequence that is
    all padding gives 0 (Keras divides 0 by 0 there: NaN, which would spoil the whole batch's
    gradient).

    >>> mg.nn.GlobalAveragePooling1D()(mg.ones(2, 7, 16)).shape
    (2, 16)
    """

    def __init__(self, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.keepdims = bool(keepdims)

    def forward(self, x, mask=None):
        """``x`` (N, T, C); ``mask`` (N, T) bool, True at the real steps, or None."""
        if x.ndim != 3:
            raise ValueError(f"{self.name} expected input of shape (N, steps, features), got "
                             f"{tuple(x.shape)}")
        if mask is None:
            return F.mean(x, axis=1, keepdims=self.keepdims)
        data = mask.data if isinstance(mask, Tensor) else x._backend.asarray(mask)
        if tuple(data.shape) != tuple(x.shape[:2]):
            raise ValueError(f"{self.name}: the mask must have shape (N, steps) = "
                             f"{tuple(x.shape[:2])}, got {tuple(data.shape)}")
        weights = (data != 0).astype(x.dtype)[:, :, None]                       # (N, T, 1)
        count = x._backend.xp.maximum(weights.sum(axis=1, keepdims=self.keepdims), 1)
        total = (x * Tensor._make(weights, x._backend)).sum(axis=1, keepdims=self.keepdims)
        return total / Tensor._make(count, x._backend)

    def compute_mask(self, inputs, mask=None):
        """None: the steps are gone."""
        return None

    def get_config(self):
        return {**super().get_config(), "keepdims": self.keepdims}

    def extra_repr(self):
        return "keepdims=True" if self.keepdims else ""
