"""The recurrent layers' ONNX converters (LSTM, GRU both ways, SimpleRNN, Bidirectional): for
every option, onnxruntime gives what ``model.predict`` gives, at two batch sizes and two
sequence lengths, on token ids padded before, after and in between (masks from
``Embedding(mask_zero=True)``), and with no mask at all.

All weights are random (biases included), so a wrong gate order or bias half shows."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import assert_exports, randomize, vectors

import minigrad as mg  # noqa: E402  (after helpers: skipped without the onnx extra)
from minigrad import nn  # noqa: E402

VOCABULARY, WIDTH, UNITS = 30, 4, 5

KINDS = {
    "lstm": lambda **kw: nn.LSTM(UNITS, **kw),
    "gru": lambda **kw: nn.GRU(UNITS, **kw),
    "gru_reset_before": lambda **kw: nn.GRU(UNITS, reset_after=False, **kw),
    "simple_rnn": lambda **kw: nn.SimpleRNN(UNITS, **kw),
    "simple_rnn_relu": lambda **kw: nn.SimpleRNN(UNITS, activation="relu", **kw),
}


def token_ids(batch, steps, padding, seed=0):
    """(batch, steps) ids in [1, VOCABULARY) with 0 as padding: ``"pre"`` or ``"post"``
    (Keras's pad_sequences; row 0 is full, row 1 all padding, the others of random length),
    ``"holes"`` (zeros anywhere), or ``None``."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, VOCABULARY, (batch, steps))
    lengths = rng.integers(1, steps + 1, batch)
    lengths[0], lengths[1:2] = steps, 0
    for row, length in enumerate(lengths):
        if padding == "pre":
            ids[row, :steps - length] = 0
        elif padding == "post":
            ids[row, length:] = 0
        elif padding == "holes":
            ids[row] *= rng.random(steps) < 0.6
    return ids


def batches(padding):
    """Two batch sizes and two sequence lengths."""
    return [token_ids(4, 7, padding, seed=1), token_ids(2, 3, padding, seed=2),
            token_ids(5, 11, padding, seed=3)]


def embedded(layer, mask_zero=True):
    """Embedding(mask_zero) -> ``layer``, built with random weights: a Sequential model, or a
    functional one where ``layer`` has several outputs (return_state, merge_mode=None)."""
    embedding = nn.Embedding(VOCABULARY, WIDTH, mask_zero=mask_zero)
    if layer.return_state or getattr(layer, "merge_mode", "") is None:
        ids = nn.Input(shape=(None,), dtype="int64")
        model = mg.Model(ids, list(layer(embedding(ids))))
    else:
        model = mg.Sequential([embedding, layer])
        model.predict(token_ids(2, 3, None), verbose=0)
    return randomize(model)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("padding", ["pre", "post"])
def test_each_layer_with_a_mask(kind, return_sequences, go_backwards, padding):
    layer = KINDS[kind](return_sequences=return_sequences, go_backwards=go_backwards)
    assert_exports(embedded(layer), *batches(padding))


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("go_backwards", [False, True])
def test_each_layer_without_a_mask(kind, go_backwards):
    layer = KINDS[kind](return_sequences=True, go_backwards=go_backwards)
    assert_exports(embedded(layer, mask_zero=False), *batches("post"))


@pytest.mark.parametrize("kind", ["lstm", "gru", "gru_reset_before"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_masks_with_holes_anywhere(kind, go_backwards):
    # any pattern is exact: the real steps are packed to the front before the ONNX op
    layer = KINDS[kind](return_sequences=True, go_backwards=go_backwards)
    assert_exports(embedded(layer), *batches("holes"))


@pytest.mark.parametrize("kind", ["lstm", "gru", "simple_rnn"])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("mask_zero", [False, True])
def test_return_state(kind, return_sequences, mask_zero):
    layer = KINDS[kind](return_sequences=return_sequences, return_state=True, go_backwards=True)
    proto, _ = assert_exports(embedded(layer, mask_zero), *batches("pre"))
    assert len(proto.graph.output) == (3 if kind == "lstm" else 2)  # the output, h (and c)


@pytest.mark.parametrize("return_sequences", [False, True])
def test_zero_output_for_mask(return_sequences):
    layer = nn.LSTM(UNITS, return_sequences=return_sequences, zero_output_for_mask=True)
    assert_exports(embedded(layer), *batches("holes"))


def test_without_bias():
    assert_exports(embedded(nn.GRU(UNITS, use_bias=False, return_sequences=True)),
                   *batches("pre"))


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("padding", ["pre", "post", None])
def test_bidirectional_lstm_each_merge_mode(merge_mode, return_sequences, padding):
    layer = nn.Bidirectional(nn.LSTM(UNITS, return_sequences=return_sequences),
                             merge_mode=merge_mode)
    proto, _ = assert_exports(embedded(layer, mask_zero=padding is not None), *batches(padding))
    assert len(proto.graph.output) == (2 if merge_mode is None else 1)


@pytest.mark.parametrize("kind", ["gru", "gru_reset_before", "simple_rnn"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_of_other_layers(kind, return_sequences):
    layer = nn.Bidirectional(KINDS[kind](return_sequences=return_sequences))
    assert_exports(embedded(layer), *batches("pre"))


@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_reading_backwards_first_with_states(return_sequences):
    layer = nn.Bidirectional(nn.LSTM(UNITS, go_backwards=True, return_state=True,
                                     return_sequences=return_sequences), merge_mode="sum")
    proto, _ = assert_exports(embedded(layer), *batches("holes"))
    assert len(proto.graph.output) == 5  # the merged output, h and c of each direction


def test_stacked_layers_pass_the_mask_on():
    model = mg.Sequential([nn.Embedding(VOCABULARY, WIDTH, mask_zero=True),
                           nn.Bidirectional(nn.GRU(UNITS, return_sequences=True)),
                           nn.LSTM(UNITS, return_sequences=True, go_backwards=True),
                           nn.SimpleRNN(UNITS)])
    model.predict(token_ids(2, 3, None), verbose=0)
    assert_exports(randomize(model), *batches("pre"))


def test_float_sequences_with_a_dynamic_time_axis():
    model = mg.Sequential([nn.LSTM(UNITS, return_sequences=True)])
    model.predict(vectors(1, 4, 3), verbose=0)
    randomize(model)
    proto, _ = assert_exports(model, vectors(2, 6, 3), vectors(3, 9, 3, seed=2))
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [0, 0, 3]  # batch and time are symbolic


def test_a_float64_model_exports_valid_double_ops():
    # onnxruntime has no double kernels for LSTM, GRU and RNN (it says so when run), so the
    # graph is checked, not run; other runtimes may run it
    model = mg.Sequential([nn.GRU(UNITS, reset_after=False, dtype="float64")])
    model.predict(vectors(1, 4, 3, dtype=np.float64), verbose=0)
    proto = mg.onnx.export(randomize(model), None)
    onnx = pytest.importorskip("onnx")
    onnx.checker.check_model(proto, full_check=True)
    weights = {i.name: i.data_type for i in proto.graph.initializer}
    gru = next(n for n in proto.graph.node if n.op_type == "GRU")
    assert {weights[name] for name in gru.input[1:4]} == {onnx.TensorProto.DOUBLE}


@pytest.mark.parametrize("opset", [13, 21])
def test_other_opsets(opset):
    layer = nn.Bidirectional(nn.GRU(UNITS, return_sequences=True))
    assert_exports(embedded(layer), *batches("pre"), opset=opset)


def test_the_imdb_tutorial_model():
    # examples/imdb_bilstm.py's architecture, with random weights, pre-padded as it pads (built
    # by a call rather than input_shape=(LENGTH,), so that any length can be fed)
    model = mg.Sequential([nn.Embedding(10000, 16, mask_zero=True),
                           nn.Bidirectional(nn.LSTM(64)),
                           nn.Dense(64, activation="relu"),
                           nn.Dense(1, activation="sigmoid")])
    model.predict(np.ones((1, 4), np.int64), verbose=0)
    randomize(model)
    rng = np.random.default_rng(7)
    feeds = []
    for batch, steps in ((3, 20), (8, 33)):
        ids = rng.integers(1, 10000, (batch, steps))
        for row in range(1, batch):
            ids[row, :rng.integers(0, steps + 1)] = 0
        feeds.append(ids)
    assert_exports(model, *feeds)


def test_an_activation_the_fused_kernels_do_not_compute_is_refused():
    layer = nn.LSTM(UNITS, name="odd_lstm")
    model = embedded(layer)
    layer.recurrent_activation = mg.nn.activations.get("hard_sigmoid")
    with pytest.raises(mg.onnx.UnsupportedLayerError, match="odd_lstm.*recurrent_activation"):
        mg.onnx.export(model, None)


@pytest.fixture(scope="module")
def exported_bidirectional():
    """Embedding(mask_zero) -> Bidirectional(LSTM, sequences) -> GRU read backwards, exported
    once, with its onnxruntime session."""
    from .helpers import ort
    model = mg.Sequential([nn.Embedding(VOCABULARY, WIDTH, mask_zero=True),
                           nn.Bidirectional(nn.LSTM(UNITS, return_sequences=True)),
                           nn.GRU(UNITS, go_backwards=True, return_sequences=True)])
    model.predict(token_ids(2, 3, None), verbose=0)
    randomize(model)
    proto = mg.onnx.export(model, None)
    return model, ort.InferenceSession(proto.SerializeToString(),
                                       providers=["CPUExecutionProvider"])


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_mask_pattern(exported_bidirectional, data):
    model, session = exported_bidirectional
    batch, steps = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 10))
    real = np.array(data.draw(st.lists(st.booleans(), min_size=batch * steps,
                                       max_size=batch * steps))).reshape(batch, steps)
    ids = np.random.default_rng(batch * 100 + steps).integers(1, VOCABULARY, (batch, steps))
    ids = ids * real
    (got,) = session.run(None, {"input": ids})
    np.testing.assert_allclose(got, model.predict(ids, verbose=0), rtol=0, atol=1e-5)
