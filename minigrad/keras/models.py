"""``keras.models``: ``Sequential``, ``Model`` and ``load_model`` (minigrad's)."""

from ..train import Model, Sequential, load_model

__all__ = ["Model", "Sequential", "load_model"]
