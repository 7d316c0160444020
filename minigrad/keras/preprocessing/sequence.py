"""``keras.preprocessing.sequence.pad_sequences`` (:func:`minigrad.datasets.pad_sequences`)."""

from ...datasets.sequence import pad_sequences

__all__ = ["pad_sequences"]
