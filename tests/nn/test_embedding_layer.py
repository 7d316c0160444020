"""The Embedding layer: Keras's arguments and initial weights, mask_zero's mask, configs and
error messages that name the layer."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import LSTM, Embedding


def test_embeds_ids_with_keras_uniform_initial_weights():
    layer = Embedding(1000, 16)
    out = layer(mg.tensor(np.arange(12).reshape(3, 4)))
    assert out.shape == (3, 4, 16) and out.dtype.name == "float32"
    table = layer.embeddings.numpy()
    assert table.shape == (1000, 16) and np.abs(table).max() <= 0.05
    np.testing.assert_array_equal(out.numpy()[1, 2], table[6])


def test_ids_may_be_numpy_arrays_or_lists():
    layer = Embedding(10, 3)
    a = layer(np.array([[1, 2]])).numpy()
    np.testing.assert_array_equal(layer([[1, 2]]).numpy(), a)


def test_mask_zero_marks_the_real_tokens():
    layer = Embedding(10, 3, mask_zero=True)
    ids = mg.tensor([[0, 0, 4, 9], [5, 0, 1, 2]])
    mask = layer.compute_mask(ids)
    assert mask.dtype.name == "bool"
    np.testing.assert_array_equal(mask.numpy(), [[0, 0, 1, 1], [1, 0, 1, 1]])
    assert Embedding(10, 3).compute_mask(ids) is None


def test_mask_zero_makes_an_lstm_ignore_pre_padding():
    embed, lstm = Embedding(10, 4, mask_zero=True), LSTM(3)
    padded, short = mg.tensor([[0, 0, 0, 3, 7, 2]]), mg.tensor([[3, 7, 2]])
    with_padding = lstm(embed(padded), mask=embed.compute_mask(padded))
    np.testing.assert_allclose(with_padding.numpy(), lstm(embed(short)).numpy(), rtol=1e-6)


def test_gradient_reaches_only_the_rows_used():
    layer = Embedding(6, 2)
    layer(mg.tensor([[1, 1, 4]])).sum().backward()
    np.testing.assert_array_equal(layer.embeddings.grad.numpy()[:, 0], [0, 2, 0, 0, 1, 0])


def test_input_length_is_the_input_shape():
    layer = Embedding(10, 2, input_length=5)
    assert layer.input_shape == (5,)
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 5\), got \(1, 4\)"):
        layer(mg.tensor([[1, 2, 3, 4]]))


def test_config_rebuilds_the_layer():
    layer = Embedding(10, 2, mask_zero=True, input_length=7, name="words")
    config = layer.get_config()
    assert config["input_dim"] == 10 and config["mask_zero"] and config["input_length"] == 7
    assert Embedding.from_config(config).get_config() == config


def test_float_ids_are_refused_naming_the_layer():
    with pytest.raises(TypeError, match=r"words: embedding expects integer token ids, got "
                                        r"dtype float32"):
        Embedding(10, 2, name="words")(mg.tensor([[1.0, 2.0]]))


def test_ids_out_of_range_name_the_range():
    with pytest.raises(IndexError, match=r"embedding\w*: .* must be in \[0, 10\).*got ids from "
                                         r"0 to 10"):
        Embedding(10, 2)(mg.tensor([[0, 10]]))


def test_sequential_hands_the_mask_to_the_recurrent_layer():
    """The masking protocol as Sequential runs it: Embedding.compute_mask, then mask= to the
    Bidirectional LSTM (which returns no sequence, so the mask ends there)."""
    embed, bilstm, dense = Embedding(10, 4, mask_zero=True), mg.nn.Bidirectional(LSTM(3)), \
        mg.nn.Dense(1)
    model = mg.Sequential([embed, bilstm, dense])
    padded = mg.tensor([[0, 0, 0, 3, 7, 2], [0, 5, 1, 1, 4, 9]])
    expected = dense(bilstm(embed(padded), mask=embed.compute_mask(padded)))
    np.testing.assert_allclose(model(padded).numpy(), expected.numpy(), rtol=1e-6)
    short = dense(bilstm(embed(mg.tensor([[3, 7, 2]]))))
    np.testing.assert_allclose(model(padded).numpy()[:1], short.numpy(), rtol=1e-5)
