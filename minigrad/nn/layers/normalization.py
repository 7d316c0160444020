"""Normalization layers: BatchNormalization (Keras's names, arguments and momentum)."""

from ... import functional as F
from ...autograd.tensor import Tensor
from ...backends import get_backend
from .. import init as initializers
from ..module import Layer
from ..init import name_of as initializer_name
from ..regularizers import config_of as regularizer_config
from ..arguments import non_negative_float


class BatchNormalization(Layer):
    """Normalize each feature over the batch, then scale by ``gamma`` and shift by ``beta``
    (see :func:`minigrad.functional.batch_norm`).

    Input: any shape with the features along ``axis`` -- (N, H, W, C) images or (N, C)
    vectors for the default ``axis=-1``; output: the same shape.

    In training mode (``model.train()``, the default) each batch is normalized by its own mean
    and variance, and ``moving_mean``/``moving_variance`` move towards them:
    ``moving = momentum * moving + (1 - momentum) * batch`` (Keras's momentum, 0.99; PyTorch's
    ``momentum=0.1`` is 0.9 here), with the biased batch variance as Keras. In evaluation mode
    (``model.eval()``) the moving statistics are used. As in Keras, a layer with
    ``trainable=False`` always runs in evaluation mode (its statistics are frozen).

    A batch of one sample trains as in Keras: its variance is 0, so the output is ``beta``
    (``fit`` with ``N % batch_size == 1`` runs). A mask (``Embedding(mask_zero=True)``, (N, T)
    beside (N, T, C) inputs) passes through, and in training the statistics are those of the
    real steps alone (Keras's masked moments).

    Weights: ``gamma`` (C,), ones, unless ``scale=False``; ``beta`` (C,), zeros, unless
    ``center=False``. Buffers (saved with the model, not learned): ``moving_mean`` (C,),
    zeros, and ``moving_variance`` (C,), ones.

    >>> layer = mg.nn.BatchNormalization()
    >>> layer(mg.randn(8, 4, 4, 3)).shape
    (8, 4, 4, 3)
    >>> layer.moving_mean.shape
    (3,)
    """

    #: A mask passes through (see :func:`minigrad.nn.container.call_with_mask`); ``forward``
    #: takes it for the statistics.
    supports_masking = True

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, int):
            raise TypeError(f"BatchNormalization normalizes along one axis (an int), got "
                            f"{axis!r}")
        if not 0 <= momentum <= 1:
            raise ValueError(f"BatchNormalization momentum must be in [0, 1], got {momentum}")
        self.axis, self.momentum = axis, float(momentum)
        self.epsilon = non_negative_float(epsilon, "epsilon", "BatchNormalization")
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer
        self.beta_regularizer, self.gamma_regularizer = beta_regularizer, gamma_regularizer
        self.features = None

    def build(self, input_shape):
        ndim = len(input_shape)
        if ndim < 2 or not -ndim <= self.axis < ndim or self.axis % ndim == 0:
            raise ValueError(f"{self.name} (axis={self.axis}) expected input of shape (N, ..., "
                             f"C) with the features along axis {self.axis}, got {input_shape}")
        features = self.features = int(input_shape[self.axis])
        if self.scale:
            self.add_weight("gamma", (features,), self.gamma_initializer, self.gamma_regularizer,
                            fan_in=features, fan_out=features)
        if self.center:
            self.add_weight("beta", (features,), self.beta_initializer, self.beta_regularizer,
                            fan_in=features, fan_out=features)
        backend = self._device or get_backend("cpu")
        for name, initializer in (("moving_mean", self.moving_mean_initializer),
                                  ("moving_variance", self.moving_variance_initializer)):
            array = initializers.get(initializer)((features,), features, features, self.dtype,
                                                  backend)
            self.register_buffer(name, Tensor._make(array, backend))

    def forward(self, x, mask=None):
        """Input (N, ..., C) (features along ``axis``); ``mask``: optional, x's shape without
        the feature axis, True at the real steps (used for the batch statistics)."""
        if x.ndim < 2 or not -x.ndim <= self.axis < x.ndim or x.shape[self.axis] != self.features:
            raise ValueError(f"{self.name} expected input with {self.features} features along "
                             f"axis {self.axis}, got shape {tuple(x.shape)}")
        return F.batch_norm(x, self.gamma if self.scale else None,
                            self.beta if self.center else None, self.moving_mean,
                            self.moving_variance, training=self.training and self.trainable,
                            momentum=self.momentum, epsilon=self.epsilon, axis=self.axis,
                            mask=mask)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": initializer_name(self.beta_initializer),
                "gamma_initializer": initializer_name(self.gamma_initializer),
                "moving_mean_initializer": initializer_name(self.moving_mean_initializer),
                "moving_variance_initializer": initializer_name(self.moving_variance_initializer),
                "beta_regularizer": regularizer_config(self.beta_regularizer),
                "gamma_regularizer": regularizer_config(self.gamma_regularizer)}

    def extra_repr(self):
        features = f"{self.features}, " if self.built else ""
        return f"{features}axis={self.axis}, momentum={self.momentum:g}, epsilon={self.epsilon:g}"
