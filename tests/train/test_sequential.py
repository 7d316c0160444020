"""Sequential: building from input_shape, summary, indexing."""

import pytest

import minigrad as mg
from minigrad import nn


def mnist_mlp():
    return mg.Sequential([nn.Dense(512, activation="relu", input_shape=(784,)),
                          nn.Dense(512, activation="relu"),
                          nn.Dense(10, activation="softmax")])


def test_input_shape_builds_the_model_at_once():
    model = mnist_mlp()
    assert model.built and model.output_shape == (None, 10)
    assert model.count_params() == 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10


def test_summary_lists_layers_shapes_and_counts():
    text = mnist_mlp().summary(print_fn=None)
    assert "(None, 512)" in text and "401,920" in text and "Total params: 669,706" in text


def test_add_and_indexing():
    model = mg.Sequential()
    model.add(nn.Dense(4, input_shape=(3,))).add(nn.ReLU())
    assert len(model) == 2 and isinstance(model[1], nn.ReLU)
    assert model(mg.ones(2, 3)).shape == (2, 4)
    assert issubclass(mg.Sequential, mg.nn.Sequential)  # the training API over the container


def test_add_rejects_non_layers():
    with pytest.raises(TypeError, match="expects a layer"):
        mg.Sequential([lambda x: x])


def test_mask_from_embedding_reaches_the_recurrent_layer_through_dropout():
    import numpy as np

    mg.manual_seed(0)
    ids = np.array([[0, 0, 3, 4], [5, 6, 7, 8]])  # the first sequence is pre-padded
    model = mg.Sequential([nn.Embedding(10, 4, mask_zero=True), nn.Dropout(0.5),
                           nn.LSTM(3)])
    model.eval()
    padded = model(mg.tensor(ids)).numpy()
    # With the mask, the padded steps are skipped: same result as the unpadded sequence.
    unpadded = mg.Sequential([model[0], model[1], model[2]])
    short = unpadded(mg.tensor(ids[:1, 2:])).numpy()
    np.testing.assert_allclose(padded[0], short[0], rtol=1e-5, atol=1e-6)
