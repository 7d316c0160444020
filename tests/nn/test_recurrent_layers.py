"""LSTM, GRU, SimpleRNN and Bidirectional as layers: Keras's arguments and initial weights,
PyTorch's nn.LSTM/GRU/RNN with the same weights (bidirectional and pre-padded sequences
included), masks, configs, errors, and the IMDB tutorial model learning a toy task."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import GRU, LSTM, Bidirectional, Dense, Embedding, SimpleRNN

TOLERANCES = {"float32": dict(rtol=2e-4, atol=2e-5), "float64": dict(rtol=1e-9, atol=1e-11)}
LAYERS = {"lstm": LSTM, "gru": GRU, "rnn": SimpleRNN}
TORCH_MISSING = 'PyTorch not installed (in your minigrad clone: pip install -e ".[torch]")'


def torch_or_skip():
    return pytest.importorskip("torch", reason=TORCH_MISSING)


def gru_order(units):
    """Keras's GRU gates z, r, h <-> PyTorch's r, z, n (the permutation is its own inverse)."""
    return np.r_[units:2 * units, 0:units, 2 * units:3 * units]


def copy_to_torch(torch, layer, module, suffix=""):
    """Copy a built minigrad recurrent layer's weights into a PyTorch module's direction."""
    kernel, recurrent = layer.kernel.numpy(), layer.recurrent_kernel.numpy()
    bias = layer.bias.numpy()
    if isinstance(layer, GRU):
        order = gru_order(layer.units)
        kernel, recurrent = kernel[:, order], recurrent[:, order]
        bias_ih, bias_hh = bias[:, order]
    else:
        bias_ih, bias_hh = bias, np.zeros_like(bias)
    with torch.no_grad():
        for name, value in [("weight_ih", kernel.T), ("weight_hh", recurrent.T),
                            ("bias_ih", bias_ih), ("bias_hh", bias_hh)]:
            getattr(module, f"{name}_l0{suffix}").copy_(torch.tensor(value))


def weight_grads_from_torch(layer, module, suffix=""):
    """PyTorch's gradients of one direction in the layer's layout: kernel, recurrent, bias."""
    grads = [getattr(module, f"weight_ih_l0{suffix}").grad.numpy().T,
             getattr(module, f"weight_hh_l0{suffix}").grad.numpy().T]
    bias_ih = getattr(module, f"bias_ih_l0{suffix}").grad.numpy()
    bias_hh = getattr(module, f"bias_hh_l0{suffix}").grad.numpy()
    if isinstance(layer, GRU):
        order = gru_order(layer.units)
        return [g[:, order] for g in grads] + [np.stack([bias_ih[order], bias_hh[order]])]
    return grads + [bias_ih]


def torch_module(torch, kind, features, units, dtype, bidirectional=False):
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[kind]
    return cls(features, units, batch_first=True, bidirectional=bidirectional).to(
        getattr(torch, dtype))


# --- one direction against PyTorch ---------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("options", [dict(), dict(return_sequences=True),
                                     dict(return_state=True), dict(go_backwards=True),
                                     dict(return_sequences=True, go_backwards=True,
                                          return_state=True)],
                         ids=["last", "sequences", "state", "backwards", "all"])
@pytest.mark.parametrize("kind", LAYERS)
def test_layer_matches_torch(kind, options, dtype):
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 7, 4))
    layer = LAYERS[kind](5, dtype=dtype, **options)
    n_states = 2 if kind == "lstm" else 1
    states = [rng.standard_normal((3, 5)) * 0.5 for _ in range(n_states)]
    xt = mg.tensor(x, dtype=dtype, requires_grad=True)
    states_t = [mg.tensor(s, dtype=dtype, requires_grad=True) for s in states]
    result = layer(xt, initial_state=states_t)
    outputs = list(result) if isinstance(result, tuple) else [result]
    upstream = [rng.standard_normal(o.shape) for o in outputs]
    sum((o * mg.tensor(g, dtype=dtype)).sum() for o, g in zip(outputs, upstream)).backward()

    module = torch_module(torch, kind, 4, 5, dtype)
    copy_to_torch(torch, layer, module)
    x_torch = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    states_torch = [torch.tensor(s[None], dtype=getattr(torch, dtype), requires_grad=True)
                    for s in states]
    sequence = x_torch.flip(1) if layer.go_backwards else x_torch
    out, final = module(sequence, tuple(states_torch) if kind == "lstm" else states_torch[0])
    final = [f[0] for f in (final if kind == "lstm" else (final,))]
    expected = [out if layer.return_sequences else final[0]]  # Keras: processing order
    if layer.return_state:
        expected += final
    sum((e * torch.tensor(g, dtype=e.dtype)).sum() for e, g in zip(expected, upstream)).backward()

    assert len(outputs) == len(expected)
    for got, want in zip(outputs, expected):
        assert got.dtype.name == dtype
        np.testing.assert_allclose(got.numpy(), want.detach().numpy(), **TOLERANCES[dtype])
    grads = [layer.kernel.grad, layer.recurrent_kernel.grad, layer.bias.grad]
    for got, want in zip(grads, weight_grads_from_torch(layer, module)):
        np.testing.assert_allclose(got.numpy(), want, **TOLERANCES[dtype])
    np.testing.assert_allclose(xt.grad.numpy(), x_torch.grad.numpy(), **TOLERANCES[dtype])
    for got, want in zip(states_t, states_torch):
        np.testing.assert_allclose(got.grad.numpy(), want.grad.numpy()[0], **TOLERANCES[dtype])


# --- Bidirectional against PyTorch, with pre-padded sequences ------------------------------------

LENGTHS = [7, 3, 5, 1]   # real steps of each row; the rest is padding at the start


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("kind", LAYERS)
def test_bidirectional_matches_torch_bidirectional(kind, masked, return_sequences, dtype):
    """Pre-padded rows with a mask give what PyTorch gives on each row without its padding;
    padded steps of the returned sequences are 0 (Keras's Bidirectional)."""
    torch = torch_or_skip()
    rng = np.random.default_rng(1)
    n, t, features, units = len(LENGTHS), 7, 4, 3
    x = rng.standard_normal((n, t, features))
    mask = np.arange(t)[None, :] >= t - np.array(LENGTHS)[:, None] if masked else None
    layer = Bidirectional(LAYERS[kind](units, return_sequences=return_sequences, dtype=dtype))
    xt = mg.tensor(x, dtype=dtype, requires_grad=True)
    out = layer(xt, mask=mask)
    assert out.shape == ((n, t, 2 * units) if return_sequences else (n, 2 * units))
    upstream = rng.standard_normal(out.shape)
    (out * mg.tensor(upstream, dtype=dtype)).sum().backward()

    module = torch_module(torch, kind, features, units, dtype, bidirectional=True)
    copy_to_torch(torch, layer.forward_layer, module)
    copy_to_torch(torch, layer.backward_layer, module, "_reverse")
    x_torch = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    expected = []
    for i in range(n):
        start = t - LENGTHS[i] if masked else 0
        seq_out, final = module(x_torch[i:i + 1, start:])
        h = final[0] if kind == "lstm" else final
        if return_sequences:
            padding = seq_out.new_zeros((1, start, 2 * units))
            expected.append(torch.cat([padding, seq_out], dim=1)[0])
        else:
            expected.append(torch.cat([h[0, 0], h[1, 0]]))
    expected = torch.stack(expected)
    (expected * torch.tensor(upstream, dtype=expected.dtype)).sum().backward()

    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), **TOLERANCES[dtype])
    np.testing.assert_allclose(xt.grad.numpy(), x_torch.grad.numpy(), **TOLERANCES[dtype])
    for sub, suffix in ((layer.forward_layer, ""), (layer.backward_layer, "_reverse")):
        grads = [sub.kernel.grad, sub.recurrent_kernel.grad, sub.bias.grad]
        for got, want in zip(grads, weight_grads_from_torch(sub, module, suffix)):
            np.testing.assert_allclose(got.numpy(), want, **TOLERANCES[dtype])


@pytest.mark.parametrize("merge_mode, combine", [
    ("sum", lambda f, b: f + b), ("mul", lambda f, b: f * b), ("ave", lambda f, b: (f + b) / 2)])
def test_merge_modes_combine_the_two_directions(merge_mode, combine):
    x = mg.randn(2, 5, 3)
    concat = Bidirectional(LSTM(4, return_sequences=True))
    y = concat(x).numpy()
    other = Bidirectional(LSTM(4, return_sequences=True), merge_mode=merge_mode)
    other(x)
    other.load_state_dict(concat.state_dict())
    np.testing.assert_allclose(other(x).numpy(), combine(y[..., :4], y[..., 4:]), rtol=1e-6)
    pair = Bidirectional(LSTM(4, return_sequences=True), merge_mode=None)
    pair(x)
    pair.load_state_dict(concat.state_dict())
    forward, backward = pair(x)
    np.testing.assert_allclose(np.concatenate([forward.numpy(), backward.numpy()], -1), y)


def test_bidirectional_returns_both_directions_states():
    layer = Bidirectional(LSTM(4, return_state=True))
    output, h_f, c_f, h_b, c_b = layer(mg.randn(2, 5, 3))
    np.testing.assert_array_equal(output.numpy(), np.concatenate([h_f.numpy(), h_b.numpy()], 1))
    assert c_f.shape == c_b.shape == (2, 4)


def test_bidirectional_takes_initial_states_for_both_directions():
    x = mg.randn(2, 5, 3)
    layer = Bidirectional(GRU(4))
    zeros = layer(x).numpy()
    h_f, h_b = mg.randn(2, 4), mg.randn(2, 4)
    moved = layer(x, initial_state=[h_f, h_b]).numpy()
    _, forward_h = mg.gru(x, layer.forward_layer.kernel, layer.forward_layer.recurrent_kernel,
                          layer.forward_layer.bias, h_f)
    np.testing.assert_allclose(moved[:, :4], forward_h.numpy(), rtol=1e-6)
    assert not np.allclose(moved, zeros)


def test_bidirectional_backward_copy_has_weights_of_its_own():
    layer = Bidirectional(LSTM(4))
    layer(mg.randn(2, 5, 3))
    names = [name for name, _ in layer.named_parameters()]
    assert names == [f"{d}_layer.{w}" for d in ("forward", "backward")
                     for w in ("kernel", "recurrent_kernel", "bias")]
    assert not np.allclose(layer.forward_layer.kernel.numpy(), layer.backward_layer.kernel.numpy())
    assert layer.backward_layer.go_backwards and not layer.forward_layer.go_backwards
    assert layer.forward_layer.name.startswith("forward_lstm")
    assert layer.backward_layer.name.startswith("backward_lstm")


# --- masks ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", LAYERS)
def test_masked_padding_is_ignored(kind):
    """Pre-padding plus its mask gives the same last output as the unpadded sequence."""
    layer = LAYERS[kind](4, dtype="float64")
    x = mg.randn(1, 3, 2, dtype="float64")
    short = layer(x).numpy()
    padded = mg.concat([mg.randn(1, 4, 2, dtype="float64"), x], axis=1)
    mask = np.array([[0, 0, 0, 0, 1, 1, 1]], dtype=bool)
    np.testing.assert_allclose(layer(padded, mask=mask).numpy(), short, rtol=1e-12)
    assert not np.allclose(layer(padded).numpy(), short)  # without the mask it differs


def test_masked_sequences_carry_the_last_output_as_keras():
    """A plain LSTM returning sequences repeats the last real output at post-padded steps."""
    layer = LSTM(3, return_sequences=True)
    out = layer(mg.randn(1, 5, 2), mask=np.array([[1, 1, 1, 0, 0]], dtype=bool)).numpy()
    np.testing.assert_array_equal(out[0, 3], out[0, 2])
    np.testing.assert_array_equal(out[0, 4], out[0, 2])


def test_compute_mask_passes_the_mask_on_only_with_sequences():
    mask = mg.tensor([[True, False]])
    assert LSTM(2, return_sequences=True).compute_mask(None, mask) is mask
    assert LSTM(2).compute_mask(None, mask) is None
    assert Bidirectional(GRU(2, return_sequences=True)).compute_mask(None, mask) is mask
    assert Bidirectional(GRU(2)).compute_mask(None, mask) is None
    assert LSTM.supports_masking and Bidirectional.supports_masking


# --- weights, arguments, configs -----------------------------------------------------------------

def test_keras_initial_weights():
    layer = LSTM(8)
    layer(mg.zeros(2, 3, 5))
    assert layer.kernel.shape == (5, 32) and layer.recurrent_kernel.shape == (8, 32)
    limit = np.sqrt(6 / (5 + 32))
    assert np.abs(layer.kernel.numpy()).max() <= limit
    rec = layer.recurrent_kernel.numpy()
    np.testing.assert_allclose(rec @ rec.T, np.eye(8), atol=1e-5)  # orthogonal rows
    expected_bias = np.zeros(32)
    expected_bias[8:16] = 1  # unit_forget_bias
    np.testing.assert_array_equal(layer.bias.numpy(), expected_bias)
    gru = GRU(3)
    gru(mg.zeros(1, 2, 4))
    assert gru.bias.shape == (2, 9) and not gru.bias.numpy().any()
    assert LSTM(8, unit_forget_bias=False, use_bias=True).unit_forget_bias is False


def test_use_bias_false_has_no_bias():
    layer = SimpleRNN(3, use_bias=False)
    layer(mg.zeros(1, 2, 4))
    assert [name for name, _ in layer.named_parameters()] == ["kernel", "recurrent_kernel"]


def test_relu_simple_rnn_and_input_dropout():
    layer = SimpleRNN(3, activation="relu", return_sequences=True)
    assert (layer(mg.randn(2, 4, 3)).numpy() >= 0).all()
    dropped = LSTM(3, dropout=0.5)
    x = mg.randn(8, 4, 3)
    first = dropped(x).numpy()
    assert not np.allclose(first, dropped(x).numpy())        # a new mask per call
    dropped.eval()
    np.testing.assert_array_equal(dropped(x).numpy(), dropped(x).numpy())


@pytest.mark.parametrize("layer", [
    LSTM(4, return_sequences=True, go_backwards=True), GRU(3, dropout=0.25, use_bias=False),
    GRU(3, reset_after=False, return_sequences=True),
    Bidirectional(GRU(2, reset_after=False), name="bi_reset_before"),
    SimpleRNN(2, activation="relu", return_state=True), Bidirectional(LSTM(4), merge_mode="sum"),
    Bidirectional(GRU(2, return_sequences=True), name="bi")], ids=lambda layer: layer.name)
def test_config_rebuilds_the_same_layer(layer):
    config = layer.get_config()
    rebuilt = type(layer).from_config(config)
    assert rebuilt.get_config() == config
    x = mg.randn(2, 3, 5)
    layer(x)
    rebuilt(x)
    rebuilt.load_state_dict(layer.state_dict())
    layer.eval(), rebuilt.eval()
    first, second = layer(x), rebuilt(x)
    first = first[0] if isinstance(first, tuple) else first
    second = second[0] if isinstance(second, tuple) else second
    np.testing.assert_array_equal(first.numpy(), second.numpy())


def test_gru_reset_before_saves_and_loads(tmp_path):
    """A model with GRU(reset_after=False) layers comes back from its file with the variant,
    the (3U,) biases and the same predictions."""
    model = mg.Sequential([GRU(4, reset_after=False, return_sequences=True, input_shape=(5, 3)),
                           Bidirectional(GRU(3, reset_after=False)), Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).standard_normal((6, 5, 3)).astype(np.float32)
    model.fit(x, np.zeros((6, 2), np.float32), epochs=1, verbose=0)
    model.save(tmp_path / "gru.safetensors")
    restored = mg.load_model(tmp_path / "gru.safetensors")
    first, bidirectional = restored.layers[0], restored.layers[1]
    assert first.reset_after is False and first.bias.shape == (12,)
    assert bidirectional.backward_layer.reset_after is False
    np.testing.assert_array_equal(restored.predict(x), model.predict(x))


# --- errors --------------------------------------------------------------------------------------

def test_input_without_the_time_axis_is_named():
    with pytest.raises(ValueError, match=r"lstm\w* expected input of shape \(N, T, features\), "
                                         r"got \(4, 16\)"):
        LSTM(8)(mg.zeros(4, 16))


def test_feature_size_mismatch_after_build_is_named():
    layer = GRU(8)
    layer(mg.zeros(2, 5, 3))
    with pytest.raises(ValueError, match=r"gru\w* expected input of shape \(N, T, 3\), got "
                                         r"\(2, 5, 4\)"):
        layer(mg.zeros(2, 5, 4))


def test_unsupported_arguments_say_why():
    with pytest.raises(ValueError, match="activation must be 'tanh'.*fused.*got 'relu'"):
        LSTM(4, activation="relu")
    with pytest.raises(ValueError, match="recurrent_activation must be 'sigmoid'"):
        GRU(4, recurrent_activation="hard_sigmoid")
    with pytest.raises(NotImplementedError, match="recurrent_dropout"):
        LSTM(4, recurrent_dropout=0.2)
    with pytest.raises(ValueError, match="reset_after must be True or False, got 'no'"):
        GRU(4, reset_after="no")
    with pytest.raises(TypeError, match="wraps an LSTM, GRU or SimpleRNN, got Dense"):
        Bidirectional(Dense(4))
    with pytest.raises(ValueError, match="merge_mode must be one of"):
        Bidirectional(LSTM(4), merge_mode="max")


def test_initial_state_count_is_checked():
    with pytest.raises(ValueError, match=r"initial_state must be \[h, c\].*got 1"):
        LSTM(4)(mg.zeros(2, 3, 5), initial_state=[mg.zeros(2, 4)])


# --- the IMDB tutorial model learns a toy task ---------------------------------------------------

def test_imdb_bilstm_learns_whether_a_token_appears():
    """Embedding(mask_zero)-Bidirectional(LSTM)-Dense-Dense on pre-padded sequences whose label
    says whether token 1 occurs, trained with plain SGD: the loss falls far."""
    rng = np.random.default_rng(0)
    vocab, n, t = 20, 256, 12
    ids = np.zeros((n, t), dtype=np.int64)
    labels = rng.integers(0, 2, n)
    for i in range(n):
        length = rng.integers(3, t + 1)
        row = rng.integers(2, vocab, length)
        if labels[i]:
            row[rng.integers(0, length)] = 1
        ids[i, t - length:] = row
    embed = Embedding(vocab, 16, mask_zero=True)
    layers = [Bidirectional(LSTM(8)), Dense(8, activation="relu"),
              Dense(1, activation="sigmoid")]

    def model(batch):
        x = embed(batch)
        x = layers[0](x, mask=embed.compute_mask(batch))
        for layer in layers[1:]:
            x = layer(x)
        return x

    def bce(p, y):
        return -(y * mg.log(p) + (1 - y) * mg.log(1 - p)).mean()

    y_all = labels.astype(np.float32)[:, None]
    losses = []
    model(mg.tensor(ids[:2]))
    params = list(embed.parameters()) + [p for layer in layers for p in layer.parameters()]
    for epoch in range(25):
        for start in range(0, n, 32):
            batch, y = mg.tensor(ids[start:start + 32]), mg.tensor(y_all[start:start + 32])
            loss = bce(model(batch), y)
            loss.backward()
            with mg.no_grad():
                for p in params:
                    p.data -= 0.5 * p.grad.data
                    p.grad = None
        with mg.no_grad():
            losses.append(float(bce(model(mg.tensor(ids)), mg.tensor(y_all)).item()))
    assert losses[-1] < 0.3 * losses[0], losses
    with mg.no_grad():
        accuracy = ((model(mg.tensor(ids)).numpy()[:, 0] > 0.5) == labels).mean()
    assert accuracy > 0.9


@pytest.mark.parametrize("first", [
    lambda: mg.nn.LSTM(4, input_shape=(None, 3)),
    lambda: mg.nn.GRU(4, input_shape=(None, 3)),
])
def test_an_input_shape_with_None_takes_sequences_of_any_length(first):
    # Keras's input_shape=(None, features): a None axis is any length, at build and afterwards
    model = mg.Sequential([first(), mg.nn.Dense(2)])
    for steps in (5, 9):
        assert model.predict(np.ones((2, steps, 3), np.float32), verbose=0).shape == (2, 2)
    assert model.build_input_shape == (None, 3)
    with pytest.raises(ValueError, match=r"expected input of shape \(N, .*3\), got \(2, 5, 4\)"):
        model.predict(np.ones((2, 5, 4), np.float32), verbose=0)


def test_a_model_of_any_sequence_length_saves_and_loads_as_such(tmp_path):
    model = mg.Sequential([mg.nn.Embedding(50, 4, input_shape=(None,), mask_zero=True),
                           mg.nn.LSTM(3)])
    model.predict(np.ones((2, 6), np.int64), verbose=0)
    model.save(tmp_path / "m.safetensors")
    loaded = mg.load_model(tmp_path / "m.safetensors")
    assert loaded.build_input_shape == (None,)
    ids = np.random.default_rng(0).integers(1, 50, (3, 11))
    np.testing.assert_allclose(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0),
                               rtol=1e-6)
