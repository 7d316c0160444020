"""The Embedding layer: integer token ids to learned vectors, Keras-style, with ``mask_zero``."""

import numpy as np

from ... import functional as F
from ...autograd.tensor import Tensor
from ...backends import get_backend
from ..module import Layer
from ..init import name_of as initializer_name
from ..regularizers import config_of as regularizer_config
from ..arguments import positive_int


class Embedding(Layer):
    """Turn integer ids into dense vectors: row ``ids[n, t]`` of a learned (input_dim,
    output_dim) table, as Keras's ``Embedding`` (PyTorch's ``nn.Embedding``).

    Input: integer ids of any shape, usually (N, T), each in ``[0, input_dim)``. Output:
    (\\*ids.shape, output_dim) in the layer's dtype. Weight: ``embeddings`` (input_dim,
    output_dim), initialized ``"uniform"`` (U(-0.05, 0.05), Keras's default). The gradient is a
    row scatter-add into the table (a Numba kernel on the CPU).

    With ``mask_zero=True``, id 0 is padding: :meth:`compute_mask` gives the mask ``ids != 0``
    that the recurrent layers take as ``mask=`` (see :mod:`minigrad.nn.layers.recurrent`), so
    that zero-padded sequences read as if they were unpadded. Id 0 still has a row in the table
    (so ``input_dim`` counts it, as in Keras).

    Args:
        input_dim: size of the vocabulary (the largest id + 1).
        output_dim: size of each vector.
        input_length: the sequence length, if fixed (Keras's argument; the same as
            ``input_shape=(input_length,)``).

    >>> embed = mg.nn.Embedding(100, 8, mask_zero=True)
    >>> ids = mg.tensor([[0, 0, 5, 7]])
    >>> embed(ids).shape
    (1, 4, 8)
    >>> embed.compute_mask(ids).tolist()
    [[False, False, True, True]]
    """

    #: The dtype of the inputs this layer expects (token ids), for code that builds a model
    #: by calling it on placeholder inputs.
    input_dtype = np.dtype(np.int64)

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, mask_zero=False, input_length=None, **kwargs):
        if input_length is not None and kwargs.get("input_shape") is None:
            kwargs["input_shape"] = (int(input_length),)
        super().__init__(**kwargs)
        self.input_dim = positive_int(input_dim, "input_dim", "Embedding")
        self.output_dim = positive_int(output_dim, "output_dim", "Embedding")
        self.embeddings_initializer = embeddings_initializer
        self.embeddings_regularizer = embeddings_regularizer
        self.mask_zero = bool(mask_zero)
        self.input_length = None if input_length is None else int(input_length)

    def build(self, input_shape):
        self.add_weight("embeddings", (self.input_dim, self.output_dim),
                        self.embeddings_initializer, self.embeddings_regularizer)

    def __call__(self, ids, *args, **kwargs):
        return super().__call__(self._as_ids(ids), *args, **kwargs)

    def forward(self, ids):
        """The vectors of ``ids``: (\\*ids.shape, output_dim)."""
        try:
            return F.embedding(ids, self.embeddings)
        except (TypeError, IndexError) as exc:
            raise type(exc)(f"{self.name}: {exc}") from None

    def compute_mask(self, inputs, mask=None):
        """The bool mask ``inputs != 0`` (True at real tokens) if ``mask_zero``, else None."""
        if not self.mask_zero:
            return None
        ids = self._as_ids(inputs)
        return Tensor._make(ids.data != 0, ids._backend)

    def _as_ids(self, ids):
        if isinstance(ids, Tensor):
            return ids
        backend = self._device or get_backend("cpu")
        return Tensor._make(backend.asarray(np.asarray(ids) if isinstance(ids, (list, tuple))
                                            else ids), backend)

    def get_config(self):
        config = {**super().get_config(), "input_dim": self.input_dim,
                  "output_dim": self.output_dim,
                  "embeddings_initializer": initializer_name(self.embeddings_initializer),
                  "embeddings_regularizer": regularizer_config(self.embeddings_regularizer),
                  "mask_zero": self.mask_zero}
        if self.input_length is not None:
            config["input_length"] = self.input_length
            config.pop("input_shape", None)
        return config

    def extra_repr(self):
        return f"{self.input_dim}, {self.output_dim}" + (", mask_zero=True" if self.mask_zero
                                                         else "")
