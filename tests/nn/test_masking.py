"""Masks as Keras has them: ``Embedding(mask_zero=True)`` makes one, the layers that act on each
step alone hand it on, the recurrent layers use it, and the losses and metrics of a sequence
output average over the real steps only. Compared with Keras 3 (torch backend) on the same
weights and data where Keras is installed; the rest checks the rule itself."""

import os
import threading
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn.container import call_with_mask, mask_of

# Three sequences padded with 0 at the end, of lengths 3, 2 and 5.
IDS = np.array([[3, 5, 2, 0, 0], [1, 4, 0, 0, 0], [7, 8, 9, 6, 2]])
LENGTHS = [3, 2, 5]


def keras_or_skip():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras", reason="Keras 3 not installed (pip install keras; it "
                                               "runs on the torch backend)")


def labels(seed=0):
    return np.random.default_rng(seed).integers(0, 3, size=IDS.shape)


# --- which layers hand a mask on --------------------------------------------------------------

PASSING = {
    "Dense": lambda: nn.Dense(4),
    "Dropout": lambda: nn.Dropout(0.5),
    "Activation": lambda: nn.Activation("tanh"),
    "ReLU": lambda: nn.ReLU(),
    "Softmax": lambda: nn.Softmax(),
    "LeakyReLU": lambda: nn.LeakyReLU(),
    "BatchNormalization": lambda: nn.BatchNormalization(),
}


@pytest.mark.parametrize("name", sorted(PASSING))
def test_layers_that_act_on_each_step_hand_the_mask_on(name):
    mask = mg.tensor(IDS != 0)
    output, output_mask = call_with_mask(PASSING[name](), mg.randn(3, 5, 4), mask)
    assert output.shape[:2] == (3, 5)
    assert output_mask is mask


def test_flatten_ends_the_mask_with_a_warning_as_keras():
    mask = mg.tensor(IDS != 0)
    with pytest.warns(UserWarning, match="does not support masking, so the mask ends here"):
        output, output_mask = call_with_mask(nn.Flatten(), mg.randn(3, 5, 4), mask)
    assert output.shape == (3, 20) and output_mask is None


def test_no_warning_without_a_mask():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert call_with_mask(nn.Flatten(), mg.randn(3, 5, 4), None)[1] is None


def test_recurrent_layers_keep_the_mask_only_when_returning_sequences():
    mask = mg.tensor(IDS != 0)
    assert call_with_mask(nn.LSTM(2, return_sequences=True), mg.randn(3, 5, 4), mask)[1] is mask
    assert call_with_mask(nn.LSTM(2), mg.randn(3, 5, 4), mask)[1] is None


# --- the mask reaches the LSTM through Dense ----------------------------------------------------

def unpadded_outputs(model):
    """The model's output on each sequence alone, without its padding."""
    return np.concatenate([model(mg.tensor(IDS[i:i + 1, :n])).numpy()
                           for i, n in enumerate(LENGTHS)])


def test_lstm_after_dense_skips_the_padding():
    model = mg.Sequential([nn.Embedding(10, 4, mask_zero=True), nn.Dense(5, activation="relu"),
                           nn.Dropout(0.2), nn.LSTM(3)])
    model.eval()
    padded = model(mg.tensor(IDS)).numpy()
    np.testing.assert_allclose(padded, unpadded_outputs(model), rtol=1e-5, atol=1e-6)
    # Without the mask the padded rows come out different (so the check above can fail).
    lstm = model[3]
    unmasked = lstm(model[1](model[0](mg.tensor(IDS)))).numpy()
    assert np.abs(unmasked[:2] - padded[:2]).max() > 1e-3


def test_embedding_dense_lstm_matches_keras():
    keras = keras_or_skip()
    k = keras.layers
    model = mg.Sequential([nn.Embedding(10, 4, mask_zero=True), nn.Dense(5, activation="relu"),
                           nn.LSTM(3)])
    reference = keras.Sequential([keras.Input((5,), dtype="int32"),
                                  k.Embedding(10, 4, mask_zero=True),
                                  k.Dense(5, activation="relu"), k.LSTM(3)])
    model(mg.tensor(IDS))
    reference.set_weights(model.get_weights())
    np.testing.assert_allclose(model(mg.tensor(IDS)).numpy(),
                               keras.ops.convert_to_numpy(reference(IDS)), rtol=1e-5, atol=1e-6)


def test_nested_sequential_hands_its_mask_on():
    inner = nn.Sequential([nn.Embedding(10, 4, mask_zero=True), nn.Dense(5)])
    model = mg.Sequential([inner, nn.LSTM(3)])
    model.eval()
    np.testing.assert_allclose(model(mg.tensor(IDS)).numpy(), unpadded_outputs(model),
                               rtol=1e-5, atol=1e-6)


# --- the output carries its mask; losses and metrics read it -------------------------------------

def sequence_model(lib, batch_norm=False):
    """Embedding(mask_zero) -> [BatchNormalization] -> LSTM(return_sequences) -> Dense softmax,
    in minigrad or Keras."""
    if lib == "minigrad":
        layers = [nn.Embedding(10, 4, mask_zero=True)] + \
            ([nn.BatchNormalization()] if batch_norm else []) + \
            [nn.LSTM(6, return_sequences=True), nn.Dense(3, activation="softmax")]
        model = mg.Sequential(layers)
        model(mg.tensor(IDS))
        return model
    k = lib.layers
    layers = [lib.Input((5,), dtype="int32"), k.Embedding(10, 4, mask_zero=True)] + \
        ([k.BatchNormalization()] if batch_norm else []) + \
        [k.LSTM(6, return_sequences=True), k.Dense(3, activation="softmax")]
    return lib.Sequential(layers)


def test_the_output_of_a_sequence_model_carries_its_mask():
    model = sequence_model("minigrad")
    output = model(mg.tensor(IDS))
    np.testing.assert_array_equal(mask_of(output).numpy(), IDS != 0)
    assert mask_of(output.detach()) is mask_of(output)
    assert mask_of(mg.Sequential([nn.Dense(2)])(mg.ones(3, 4))) is None


def test_the_mask_lives_on_each_output_not_on_the_model():
    """Two threads calling one model each get their own input's mask."""
    model = sequence_model("minigrad")
    model.eval()
    other = IDS.copy()
    other[:, 1:] = 0
    masks = {}

    def run(name, ids):
        for _ in range(20):
            masks[name] = mask_of(model(mg.tensor(ids))).numpy()
            assert (masks[name] == (ids != 0)).all()

    threads = [threading.Thread(target=run, args=(name, ids))
               for name, ids in (("a", IDS), ("b", other))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    np.testing.assert_array_equal(masks["a"], IDS != 0)
    np.testing.assert_array_equal(masks["b"], other != 0)


def test_the_loss_averages_over_the_real_steps():
    model = sequence_model("minigrad")
    y = labels()
    y_pred = model(mg.tensor(IDS))
    per_step = -np.log(np.take_along_axis(y_pred.numpy(), y[..., None], axis=-1))[..., 0]
    expected = per_step[IDS != 0].mean()
    def per_step_loss(y_true, y_pred):  # a user's loss function: the base class's path
        return mg.sparse_categorical_crossentropy(y_true, y_pred, reduction="none")

    for loss in (nn.losses.SparseCategoricalCrossentropy(),  # the fused op's path
                 nn.losses.LossFunctionWrapper(per_step_loss)):
        np.testing.assert_allclose(loss(mg.tensor(y), y_pred).item(), expected, rtol=1e-6)
    per_step_values = nn.losses.LossFunctionWrapper(per_step_loss, reduction="none")(
        mg.tensor(y), y_pred).numpy()
    np.testing.assert_allclose(per_step_values, np.where(IDS != 0, per_step, 0), rtol=1e-6)
    total = nn.losses.SparseCategoricalCrossentropy(reduction="sum")(mg.tensor(y), y_pred)
    np.testing.assert_allclose(total.item(), per_step[IDS != 0].sum(), rtol=1e-6)
    assert abs(expected - per_step.mean()) > 1e-4  # the padding would change the value


def test_an_all_padding_batch_has_loss_zero():
    model = sequence_model("minigrad")
    ids = np.zeros_like(IDS)
    loss = nn.losses.SparseCategoricalCrossentropy()(mg.tensor(labels()), model(mg.tensor(ids)))
    assert loss.item() == 0.0


def test_the_gradient_skips_the_padded_steps():
    model = sequence_model("minigrad")
    y_pred = model(mg.tensor(IDS))
    loss = nn.losses.SparseCategoricalCrossentropy()(mg.tensor(labels()), y_pred)
    loss.backward()
    # The embedding row of id 0 (padding) gets no gradient: its steps weigh 0 everywhere.
    embedding = model[0].embeddings.grad.numpy()
    assert np.all(embedding[0] == 0) and np.abs(embedding[1:]).max() > 0


@pytest.mark.parametrize("batch_norm", [False, True], ids=["lstm", "batch_norm_lstm"])
def test_sequence_model_loss_metrics_and_fit_match_keras(batch_norm):
    keras = keras_or_skip()
    model, reference = sequence_model("minigrad", batch_norm), sequence_model(keras, batch_norm)
    reference.set_weights(model.get_weights())
    y = labels()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    reference.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    np.testing.assert_allclose(model.evaluate(IDS, y, verbose=0),
                               reference.evaluate(IDS, y, verbose=0), rtol=1e-6)
    ours = model.fit(IDS, y, epochs=3, batch_size=2, shuffle=False, verbose=0).history
    theirs = reference.fit(IDS, y, epochs=3, batch_size=2, shuffle=False, verbose=0).history
    for name in ("loss", "accuracy"):
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-5)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_temporal_sample_weights_and_the_mask_match_keras():
    keras = keras_or_skip()
    model, reference = sequence_model("minigrad"), sequence_model(keras)
    reference.set_weights(model.get_weights())
    weights = np.random.default_rng(1).random(IDS.shape)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    reference.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    np.testing.assert_allclose(model.evaluate(IDS, labels(), sample_weight=weights, verbose=0),
                               reference.evaluate(IDS, labels(), sample_weight=weights,
                                                  verbose=0), rtol=1e-6)


def test_accuracy_counts_the_real_steps_only():
    model = sequence_model("minigrad")
    y_pred = model(mg.tensor(IDS))
    y = labels()
    hits = y_pred.numpy().argmax(-1) == y
    metric = mg.train.metrics.SparseCategoricalAccuracy()
    metric.update_state(y, y_pred)
    np.testing.assert_allclose(metric.result(), hits[IDS != 0].mean())
    weights = np.array([1.0, 2.0, 0.5])
    metric = mg.train.metrics.SparseCategoricalAccuracy()
    metric.update_state(y, y_pred, sample_weight=weights)
    w = np.broadcast_to(weights[:, None], IDS.shape) * (IDS != 0)
    np.testing.assert_allclose(metric.result(), (hits * w).sum() / w.sum())


def test_a_functional_model_hands_its_output_mask_to_the_loss():
    """The same layers as a graph (keras.Model(inputs, outputs)) and as a Sequential: the
    same masked loss, and the mask on the graph's output."""
    from minigrad import keras

    sequential = sequence_model("minigrad")
    ids = keras.Input(shape=(None,), dtype="int64")
    x = ids
    for layer in sequential.layers:
        x = layer(x)
    graph = keras.Model(ids, x)
    output = graph(mg.tensor(IDS))
    np.testing.assert_array_equal(mask_of(output).numpy(), IDS != 0)
    for model in (graph, sequential):
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    np.testing.assert_allclose(graph.evaluate(IDS, labels(), verbose=0),
                               sequential.evaluate(IDS, labels(), verbose=0), rtol=1e-6)
    y_pred = sequential(mg.tensor(IDS)).numpy()
    per_step = -np.log(np.take_along_axis(y_pred, labels()[..., None], axis=-1))[..., 0]
    np.testing.assert_allclose(graph.evaluate(IDS, labels(), verbose=0)[0],
                               per_step[IDS != 0].mean(), rtol=1e-6)


def test_a_layer_called_with_arguments_in_a_graph_keeps_the_mask():
    """Dense(...)(x) with a keyword argument goes through the graph's other path."""
    from minigrad import keras

    class Scaled(nn.Dense):
        def forward(self, x, scale=1.0):
            return super().forward(x) * scale

    ids = keras.Input(shape=(None,), dtype="int64")
    x = nn.Embedding(10, 4, mask_zero=True)(ids)
    x = Scaled(5)(x, scale=2.0)
    graph = keras.Model(ids, nn.LSTM(3, return_sequences=True)(x))
    np.testing.assert_array_equal(mask_of(graph(mg.tensor(IDS))).numpy(), IDS != 0)


# --- GlobalAveragePooling1D: the mean over the real steps -----------------------------------------

def test_global_average_pooling_1d_averages_the_real_steps():
    x = np.random.default_rng(0).standard_normal((3, 5, 4)).astype(np.float32)
    mask = IDS != 0
    layer = nn.GlobalAveragePooling1D()
    out = layer(mg.tensor(x), mask=mg.tensor(mask)).numpy()
    expected = np.stack([x[i, :n].mean(axis=0) for i, n in enumerate(LENGTHS)])
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    np.testing.assert_allclose(layer(mg.tensor(x)).numpy(), x.mean(axis=1), rtol=1e-6)
    kept = nn.GlobalAveragePooling1D(keepdims=True)(mg.tensor(x), mask=mg.tensor(mask))
    np.testing.assert_allclose(kept.numpy(), expected[:, None, :], rtol=1e-6)
    assert layer.compute_mask(x, mg.tensor(mask)) is None


def test_global_average_pooling_1d_in_a_model_ignores_the_padding():
    model = mg.Sequential([nn.Embedding(10, 4, mask_zero=True), nn.GlobalAveragePooling1D(),
                           nn.Dense(2)])
    np.testing.assert_allclose(model(mg.tensor(IDS)).numpy(), unpadded_outputs(model),
                               rtol=1e-5, atol=1e-6)


def test_global_average_pooling_1d_of_all_padding_is_zero():
    """Keras divides 0 by 0 there (NaN); minigrad gives 0 so one empty sequence cannot spoil a
    batch's gradient."""
    x = mg.randn(2, 3, 4)
    out = nn.GlobalAveragePooling1D()(x, mask=mg.tensor(np.array([[0, 0, 0], [1, 0, 1]], bool)))
    assert np.all(out.numpy()[0] == 0) and np.all(np.isfinite(out.numpy()))


def test_global_average_pooling_1d_gradients_float64():
    x = mg.tensor(np.random.default_rng(3).standard_normal((3, 5, 4)), requires_grad=True)
    layer = nn.GlobalAveragePooling1D()
    assert mg.testing.gradcheck(lambda t: layer(t, mask=mg.tensor(IDS != 0)), x)


def test_global_average_pooling_1d_refuses_a_mask_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"the mask must have shape \(N, steps\) = \(3, 5\), "
                                         r"got \(3, 4\)"):
        nn.GlobalAveragePooling1D()(mg.randn(3, 5, 4), mask=np.ones((3, 4), bool))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, steps, features\)"):
        nn.GlobalAveragePooling1D()(mg.randn(3, 5))


def test_embedding_global_average_pooling_model_matches_keras():
    keras = keras_or_skip()
    k = keras.layers
    model = mg.Sequential([nn.Embedding(10, 4, mask_zero=True), nn.GlobalAveragePooling1D(),
                           nn.Dense(1, activation="sigmoid")])
    reference = keras.Sequential([keras.Input((5,), dtype="int32"),
                                  k.Embedding(10, 4, mask_zero=True),
                                  k.GlobalAveragePooling1D(), k.Dense(1, activation="sigmoid")])
    model(mg.tensor(IDS))
    reference.set_weights(model.get_weights())
    y = np.array([1.0, 0.0, 1.0])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    reference.compile(optimizer="sgd", loss="binary_crossentropy")
    ours = model.fit(IDS, y, epochs=3, batch_size=2, shuffle=False, verbose=0).history["loss"]
    theirs = reference.fit(IDS, y, epochs=3, batch_size=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(ours, theirs.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(model.predict(IDS, verbose=0),
                               keras.ops.convert_to_numpy(reference(IDS)), rtol=1e-5)


# --- Masking: padding marked by a value ---------------------------------------------------------

def padded_numbers():
    x = np.random.default_rng(5).standard_normal((3, 5, 2)).astype(np.float32)
    x[IDS == 0] = 0.0
    return x


def test_masking_marks_the_steps_that_are_all_mask_value():
    x = padded_numbers()
    x[0, 1, 0] = 0.0  # one feature 0 is not padding: the step stays real
    layer = nn.Masking()
    np.testing.assert_array_equal(layer.compute_mask(mg.tensor(x)).numpy(), IDS != 0)
    np.testing.assert_array_equal(layer(mg.tensor(x)).numpy(), x)
    y = nn.Masking(mask_value=-1.0)(mg.tensor(np.where(IDS[..., None] == 0, -1.0, x)))
    np.testing.assert_array_equal(y.numpy(), x)  # the masked steps come out as 0
    assert nn.Masking.from_config(nn.Masking(2.0).get_config()).mask_value == 2.0


def test_masking_then_lstm_matches_keras():
    keras = keras_or_skip()
    k = keras.layers
    x, y = padded_numbers(), np.array([[1.0], [0.0], [1.0]], np.float32)
    model = mg.Sequential([nn.Masking(), nn.LSTM(4), nn.Dense(1)])
    reference = keras.Sequential([keras.Input((5, 2)), k.Masking(), k.LSTM(4), k.Dense(1)])
    model(mg.tensor(x))
    reference.set_weights(model.get_weights())
    model.compile(optimizer="sgd", loss="mse")
    reference.compile(optimizer="sgd", loss="mse")
    ours = model.fit(x, y, epochs=3, batch_size=2, shuffle=False, verbose=0).history["loss"]
    theirs = reference.fit(x, y, epochs=3, batch_size=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(ours, theirs.history["loss"], rtol=1e-5)
