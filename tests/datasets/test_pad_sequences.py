"""pad_sequences against Keras's semantics, with expectations worked out by hand."""

import numpy as np
import pytest

from minigrad.datasets import pad_sequences

SEQS = [[1, 2, 3, 4], [5, 6], [], [7]]


def test_default_pads_and_truncates_at_the_front_to_the_longest():
    expected = [[1, 2, 3, 4], [0, 0, 5, 6], [0, 0, 0, 0], [0, 0, 0, 7]]
    result = pad_sequences(SEQS)
    assert result.dtype == np.int32 and result.tolist() == expected


def test_pre_truncating_keeps_the_end_post_keeps_the_start():
    assert pad_sequences(SEQS, maxlen=3).tolist() == [[2, 3, 4], [0, 5, 6], [0, 0, 0], [0, 0, 7]]
    assert pad_sequences(SEQS, maxlen=3, truncating="post").tolist() == \
        [[1, 2, 3], [0, 5, 6], [0, 0, 0], [0, 0, 7]]


def test_post_padding_puts_the_fill_after():
    assert pad_sequences(SEQS, maxlen=3, padding="post", truncating="post").tolist() == \
        [[1, 2, 3], [5, 6, 0], [0, 0, 0], [7, 0, 0]]


def test_value_and_dtype():
    result = pad_sequences([[1.5], [2.5, 3.5]], dtype="float32", value=-1.0)
    assert result.dtype == np.float32
    assert result.tolist() == [[-1.0, 1.5], [2.5, 3.5]]
    assert pad_sequences([[1.7]], maxlen=2).tolist() == [[0, 1]]  # int32 cast truncates


def test_items_may_be_vectors():
    result = pad_sequences([[[1, 2]], [[3, 4], [5, 6]]], maxlen=2)
    assert result.shape == (2, 2, 2)
    assert result.tolist() == [[[0, 0], [1, 2]], [[3, 4], [5, 6]]]


def test_object_arrays_of_lists_as_imdb_returns_them():
    x = np.empty(2, dtype=object)
    x[0], x[1] = [1, 14, 22], [1, 9]
    assert pad_sequences(x, maxlen=4).tolist() == [[0, 1, 14, 22], [0, 0, 1, 9]]


def test_edge_cases():
    assert pad_sequences([]).shape == (0, 0)
    assert pad_sequences([[1, 2]], maxlen=0).shape == (1, 0)
    with pytest.raises(ValueError, match="padding"):
        pad_sequences(SEQS, padding="middle")
    with pytest.raises(ValueError, match="truncating"):
        pad_sequences(SEQS, truncating="both")
    with pytest.raises(ValueError, match="str value"):
        pad_sequences(SEQS, value="x")
    with pytest.raises(ValueError, match="items of shape"):
        pad_sequences([[[1, 2]], [[1, 2, 3]]])
