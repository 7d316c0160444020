"""``keras.preprocessing``: ``sequence.pad_sequences`` (as in the IMDB tutorials)."""

from . import sequence

__all__ = ["sequence"]
