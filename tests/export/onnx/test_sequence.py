"""The converters of the layers that make, change or end a mask (Embedding, Masking,
GlobalAveragePooling1D): onnxruntime gives what ``model.predict`` gives, and the mask they
hand on is the one minigrad's layers compute (checked through a recurrent layer after them)."""

import numpy as np
import pytest

from .helpers import assert_exports, randomize, run, vectors
from .test_recurrent import UNITS, VOCABULARY, WIDTH, batches, token_ids

import minigrad as mg  # noqa: E402  (after helpers: skipped without the onnx extra)
from minigrad import nn  # noqa: E402


def built(*layers, probe):
    model = mg.Sequential(list(layers))
    model.predict(probe, verbose=0)
    return randomize(model)


@pytest.mark.parametrize("mask_zero", [False, True])
def test_embedding_alone(mask_zero):
    model = built(nn.Embedding(VOCABULARY, WIDTH, mask_zero=mask_zero),
                  probe=token_ids(2, 3, None))
    proto, _ = assert_exports(model, *batches("post"))
    assert "Gather" in {n.op_type for n in proto.graph.node}


@pytest.mark.parametrize("padding", ["pre", "post", "holes"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_average_over_the_real_steps(padding, keepdims):
    # row 1 of each batch is all padding: minigrad gives 0 there, not Keras's 0 / 0
    model = built(nn.Embedding(VOCABULARY, WIDTH, mask_zero=True),
                  nn.GlobalAveragePooling1D(keepdims=keepdims), probe=token_ids(2, 3, None))
    assert_exports(model, *batches(padding))


def test_average_without_a_mask():
    model = built(nn.GlobalAveragePooling1D(), probe=vectors(1, 4, 3))
    assert_exports(model, vectors(2, 5, 3), vectors(3, 8, 3, seed=2))


def test_average_after_a_recurrent_layer_that_keeps_the_mask():
    model = built(nn.Embedding(VOCABULARY, WIDTH, mask_zero=True),
                  nn.GRU(UNITS, return_sequences=True, go_backwards=True),
                  nn.GlobalAveragePooling1D(), probe=token_ids(2, 3, None))
    assert_exports(model, *batches("pre"))


def padded_vectors(batch, steps, padding, value, seed):
    """(batch, steps, 3) floats whose padded steps (as :func:`token_ids` places them) are all
    ``value``; one real step has ``value`` in one feature only (still real)."""
    x = vectors(batch, steps, 3, seed=seed)
    x[token_ids(batch, steps, padding, seed=seed) == 0] = value
    x[0, 0, 1] = value
    return x


@pytest.mark.parametrize("mask_value", [0.0, -1.5])
@pytest.mark.parametrize("padding", ["pre", "post"])
def test_masking_then_lstm(mask_value, padding):
    model = built(nn.Masking(mask_value), nn.LSTM(UNITS, return_sequences=True),
                  probe=vectors(1, 4, 3))
    assert_exports(model, *[padded_vectors(n, t, padding, mask_value, seed)
                            for seed, (n, t) in enumerate(((4, 7), (2, 3), (5, 9)))])


@pytest.mark.parametrize("merge_mode", ["concat", "ave"])
def test_masking_then_bidirectional_sequences(merge_mode):
    model = built(nn.Masking(), nn.Bidirectional(nn.GRU(UNITS, return_sequences=True),
                                                 merge_mode=merge_mode),
                  probe=vectors(1, 4, 3))
    assert_exports(model, padded_vectors(4, 7, "pre", 0.0, 1),
                   padded_vectors(3, 5, "post", 0.0, 2))


def test_masking_alone():
    model = built(nn.Masking(0.5), probe=vectors(1, 4, 3))
    assert_exports(model, padded_vectors(4, 6, "pre", 0.5, 1),
                   padded_vectors(2, 3, "holes", 0.5, 2))


@pytest.mark.parametrize("bad_id", [-1, -VOCABULARY, VOCABULARY])
def test_an_id_outside_the_table_is_an_error_in_onnxruntime_too(bad_id):
    # ONNX's Gather reads -1 as the table's last row; minigrad refuses it, and so must the export
    model = built(nn.Embedding(VOCABULARY, WIDTH), probe=token_ids(2, 3, None))
    proto = mg.onnx.export(model, None)
    ids = np.array([[1, bad_id, 2]], np.int64)
    with pytest.raises(IndexError):
        model.predict(ids, verbose=0)
    with pytest.raises(Exception, match="(?i)out of (data )?bounds|out of range|invalid"):
        run(proto, {"input": ids})
