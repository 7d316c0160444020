"""``keras.utils``: ``to_categorical`` and ``pad_sequences``."""

import numpy as np

from ..datasets.sequence import pad_sequences


def to_categorical(y, num_classes=None):
    """One-hot rows for integer labels, as Keras's: labels of shape (N,) (or (N, 1)) give a
    float32 array (N, num_classes); ``num_classes`` defaults to the largest label + 1.

    >>> mg.keras.utils.to_categorical([0, 2])
    array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    labels = np.asarray(y)
    if labels.dtype.kind not in "iub" and not (labels.dtype.kind == "f" and
                                               np.all(labels == np.round(labels))):
        raise ValueError(f"to_categorical expects integer labels, got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    count = int(labels.max()) + 1 if num_classes is None and labels.size else int(num_classes or 0)
    if labels.size and (labels.min() < 0 or labels.max() >= count):
        raise ValueError(f"to_categorical: labels must be in [0, {count}), got "
                         f"[{labels.min()}, {labels.max()}]")
    return np.eye(count, dtype=np.float32)[labels]


__all__ = ["pad_sequences", "to_categorical"]
