"""Padding lists of token ids into one rectangular array (Keras's ``pad_sequences``)."""

import numpy as np


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0):
    """Pad (or cut) each sequence to ``maxlen`` and stack them: an array of shape
    ``(len(sequences), maxlen) + item_shape``, as ``keras.utils.pad_sequences``.

    maxlen: the length of every row; None means the longest sequence. padding: ``"pre"``
    puts the ``value`` fill before the sequence, ``"post"`` after it. truncating: ``"pre"``
    drops items from the start of a sequence longer than ``maxlen``, ``"post"`` from its end.
    dtype: of the result (``"int32"`` by default, as in Keras; use ``"int64"`` for ids above
    2**31).

    >>> mg.datasets.pad_sequences([[1, 2, 3], [4, 5], [6]], maxlen=2)
    array([[2, 3],
           [4, 5],
           [0, 6]], dtype=int32)
    >>> mg.datasets.pad_sequences([[1, 2, 3], [4]], padding="post", truncating="post", value=-1)
    array([[ 1,  2,  3],
           [ 4, -1, -1]], dtype=int32)
    """
    if padding not in ("pre", "post"):
        raise ValueError(f'padding must be "pre" or "post", got {padding!r}')
    if truncating not in ("pre", "post"):
        raise ValueError(f'truncating must be "pre" or "post", got {truncating!r}')
    if not hasattr(sequences, "__len__"):
        raise ValueError("sequences must be a list (or array) of sequences")
    lengths, item_shape = [], None
    for i, sequence in enumerate(sequences):
        if not hasattr(sequence, "__len__"):
            raise ValueError(f"sequences[{i}] is not a sequence: {sequence!r}")
        lengths.append(len(sequence))
        if item_shape is None and len(sequence):
            item_shape = np.asarray(sequence).shape[1:]
    item_shape = item_shape or ()
    if maxlen is None:
        maxlen = max(lengths, default=0)
    maxlen = int(maxlen)
    if maxlen < 0:
        raise ValueError(f"maxlen must be >= 0, got {maxlen}")
    if isinstance(value, str) and np.dtype(dtype).kind not in "OUS":
        raise ValueError(f"a str value ({value!r}) needs dtype object or str, got {dtype}")
    result = np.full((len(lengths), maxlen) + tuple(item_shape), value, dtype=dtype)
    if maxlen == 0:
        return result
    for i, sequence in enumerate(sequences):
        if not len(sequence):
            continue
        kept = sequence[-maxlen:] if truncating == "pre" else sequence[:maxlen]
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != tuple(item_shape):
            raise ValueError(f"sequences[{i}] has items of shape {kept.shape[1:]}, but the "
                             f"first non-empty sequence has items of shape {tuple(item_shape)}")
        if padding == "post":
            result[i, :len(kept)] = kept
        else:
            result[i, maxlen - len(kept):] = kept
    return result
