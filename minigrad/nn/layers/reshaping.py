"""Reshaping layers: ``Reshape`` and ``Permute`` (Keras's), on every axis but the batch axis.
(``Flatten`` is in ``minigrad/nn/layers/core.py``.) Each is one existing op, so the backward
is that op's."""

import math

from ... import functional as F
from ..module import Layer


class Reshape(Layer):
    """Give each sample the shape ``target_shape`` (the batch axis left out, as in Keras; one
    entry may be -1, worked out from the others). (N, 784) with ``Reshape((28, 28, 1))`` gives
    (N, 28, 28, 1).

    >>> mg.nn.Reshape((2, -1))(mg.ones(5, 6)).shape
    (5, 2, 3)
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1 or \
                any(d == 0 or d < -1 for d in self.target_shape):
            raise ValueError(f"Reshape target_shape takes positive sizes and at most one -1, got "
                             f"{self.target_shape}")

    def forward(self, x):
        size = math.prod(x.shape[1:])
        known = math.prod(d for d in self.target_shape if d != -1)
        if (-1 in self.target_shape and size % known) or \
                (-1 not in self.target_shape and size != known):
            raise ValueError(f"{self.name} cannot reshape samples of shape {tuple(x.shape[1:])} "
                             f"({size} values) to {self.target_shape}")
        return F.reshape(x, x.shape[0], *self.target_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}

    def extra_repr(self):
        return str(self.target_shape)


class Permute(Layer):
    """Reorder the axes of each sample: ``dims`` numbers them from 1 (the batch axis stays
    first), as Keras's. (N, T, F) with ``Permute((2, 1))`` gives (N, F, T).

    >>> mg.nn.Permute((2, 1))(mg.ones(4, 3, 5)).shape
    (4, 5, 3)
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute dims must be a permutation of 1..{len(self.dims)}, got "
                             f"{self.dims}")

    def forward(self, x):
        if x.ndim != len(self.dims) + 1:
            raise ValueError(f"{self.name} expected inputs with {len(self.dims)} axes after the "
                             f"batch axis, got shape {tuple(x.shape)}")
        return F.permute(x, 0, *self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}
