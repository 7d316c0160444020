"""Importing PyTorch weights: each layer kind gives torch's outputs within float32 rounding on the
same inputs (images NHWC here, NCHW there), the Flatten-before-Linear permutation, multi-layer and
bidirectional RNNs, BatchNorm's settings, and the errors that refuse what would differ."""

import subprocess
import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import torch_weights

FLOAT32 = dict(rtol=1e-5, atol=1e-6)
TORCH_MISSING = 'PyTorch not installed (in your minigrad clone: pip install -e ".[torch]")'


@pytest.fixture
def torch():
    torch = pytest.importorskip("torch", reason=TORCH_MISSING)
    torch.manual_seed(0)
    return torch


def run_torch(module, x):
    import torch  # (only called by tests that have the torch fixture)

    module.eval()
    with torch.no_grad():
        return module(torch.tensor(x))


def run(model, x):
    model.eval()
    return model(mg.tensor(x)).numpy()


def images(n=2, c=3, h=10, w=10, seed=0):
    """(NCHW for torch, NHWC for minigrad) of the same random images."""
    x = np.random.default_rng(seed).standard_normal((n, c, h, w)).astype(np.float32)
    return x, np.ascontiguousarray(x.transpose(0, 2, 3, 1))


def randomize_batch_norm(torch, module):
    with torch.no_grad():
        for name in ("weight", "bias", "running_mean"):
            if getattr(module, name, None) is not None:
                getattr(module, name).uniform_(-1.0, 1.0)
        module.running_var.uniform_(0.5, 2.0)


# --- one layer at a time -------------------------------------------------------------------------
@pytest.mark.parametrize("from_state_dict", [False, True], ids=["module", "state_dict"])
def test_linear_to_dense(torch, from_state_dict):
    linear = torch.nn.Linear(6, 4)
    layer = nn.Dense(4)
    layer.build((None, 6))
    nn.load_torch_weights(layer, linear.state_dict() if from_state_dict else linear)
    x = np.random.default_rng(0).standard_normal((5, 6)).astype(np.float32)
    np.testing.assert_allclose(run(layer, x), run_torch(linear, x).numpy(), **FLOAT32)
    np.testing.assert_array_equal(layer.kernel.numpy(), linear.weight.detach().numpy().T)


def test_linear_without_bias_fills_a_zero_bias(torch):
    linear = torch.nn.Linear(3, 2, bias=False)
    layer = nn.Dense(2)
    layer.build((None, 3))
    nn.load_torch_weights(layer, linear)
    np.testing.assert_array_equal(layer.bias.numpy(), [0.0, 0.0])
    no_bias = nn.Dense(2, use_bias=False)
    no_bias.build((None, 3))
    with pytest.raises(ValueError, match="torch has a bias but the layer was made with "
                                         "use_bias=False"):
        nn.load_torch_weights(no_bias, torch.nn.Linear(3, 2))


@pytest.mark.parametrize("torch_args, minigrad_args", [
    (dict(), dict()),
    (dict(padding=1), dict(padding=1)),
    (dict(padding=1), dict(padding="same")),
    (dict(padding="same"), dict(padding="same")),
    (dict(stride=2, padding=1), dict(strides=2, padding=1)),
    (dict(dilation=2, padding=2), dict(dilation_rate=2, padding="same")),
    (dict(kernel_size=(3, 5), padding=(0, 2)), dict(kernel_size=(3, 5), padding=(0, 2))),
], ids=["valid", "pad1", "same", "torch_same", "stride2", "dilated", "rectangular"])
def test_conv2d(torch, torch_args, minigrad_args):
    torch_args = {"kernel_size": 3, **torch_args}
    conv = torch.nn.Conv2d(3, 5, **torch_args)
    layer = nn.Conv2D(5, minigrad_args.pop("kernel_size", 3), **minigrad_args)
    x, x_nhwc = images()
    layer.build(x_nhwc.shape)
    nn.load_torch_weights(layer, conv)
    expected = run_torch(conv, x).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(run(layer, x_nhwc), expected, **FLOAT32)


@pytest.mark.parametrize("from_state_dict", [False, True], ids=["module", "state_dict"])
@pytest.mark.parametrize("groups, channels, filters", [(2, 4, 6), (3, 6, 3), (6, 6, 12)],
                         ids=["2_groups", "3_groups", "depthwise"])
def test_grouped_conv2d(torch, groups, channels, filters, from_state_dict):
    conv = torch.nn.Conv2d(channels, filters, 3, padding=1, groups=groups)
    layer = nn.Conv2D(filters, 3, padding=1, groups=groups)
    x, x_nhwc = images(c=channels)
    layer.build(x_nhwc.shape)
    nn.load_torch_weights(layer, conv.state_dict() if from_state_dict else conv)
    expected = run_torch(conv, x).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(run(layer, x_nhwc), expected, **FLOAT32)


def test_embedding(torch):
    embedding = torch.nn.Embedding(30, 6, padding_idx=0)
    layer = nn.Embedding(30, 6)
    layer.build((None, 4))
    nn.load_torch_weights(layer, embedding)
    ids = np.random.default_rng(0).integers(0, 30, size=(3, 4))
    np.testing.assert_array_equal(layer(mg.tensor(ids)).numpy(),
                                  embedding(torch.tensor(ids)).detach().numpy())
    # From a state dict, a 2-D weight without a bias is a Linear or an Embedding: the
    # minigrad layer decides.
    other = nn.Embedding(30, 6)
    other.build((None, 4))
    nn.load_torch_weights(other, embedding.state_dict())
    np.testing.assert_array_equal(other.embeddings.numpy(), layer.embeddings.numpy())


@pytest.mark.parametrize("kind", ["1d", "2d"])
def test_batch_norm_in_eval_mode(torch, kind):
    if kind == "1d":
        bn, x = torch.nn.BatchNorm1d(5), np.random.default_rng(0).standard_normal(
            (4, 5)).astype(np.float32)
        x_ours = x
    else:
        bn = torch.nn.BatchNorm2d(3)
        x, x_ours = images()
    randomize_batch_norm(torch, bn)
    layer = nn.BatchNormalization()
    layer.build(x_ours.shape)
    nn.load_torch_weights(layer, bn)
    assert (layer.epsilon, layer.momentum) == (1e-5, 0.9)
    expected = run_torch(bn, x).numpy()
    expected = expected.transpose(0, 2, 3, 1) if kind == "2d" else expected
    np.testing.assert_allclose(run(layer, x_ours), expected, **FLOAT32)


def test_batch_norm_settings_come_from_the_module(torch):
    bn = torch.nn.BatchNorm1d(4, eps=1e-3, momentum=0.01)
    randomize_batch_norm(torch, bn)
    layer = nn.BatchNormalization(epsilon=0.5)
    layer.build((None, 4))
    nn.load_torch_weights(layer, bn)
    assert layer.epsilon == 1e-3 and layer.momentum == pytest.approx(0.99)
    # A state dict does not record them: PyTorch's defaults are assumed.
    nn.load_torch_weights(layer, bn.state_dict())
    assert (layer.epsilon, layer.momentum) == (1e-5, 0.9)
    # momentum=None (a cumulative average) leaves the layer's momentum alone.
    layer.momentum = 0.5
    nn.load_torch_weights(layer, torch.nn.BatchNorm1d(4, momentum=None))
    assert layer.momentum == 0.5


def test_batch_norm_without_affine_is_gamma_one_beta_zero(torch):
    bn = torch.nn.BatchNorm1d(3, affine=False)
    randomize_batch_norm(torch, bn)
    layer = nn.BatchNormalization()
    layer.build((None, 3))
    nn.load_torch_weights(layer, bn)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(run(layer, x), run_torch(bn, x).numpy(), **FLOAT32)
    with pytest.raises(ValueError, match=r"track_running_stats=False normalizes with the "
                                         r"batch's statistics"):
        nn.load_torch_weights(layer, torch.nn.BatchNorm1d(3, track_running_stats=False))


RNNS = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN": nn.SimpleRNN}


def final_state(kind, state):
    return state[0] if kind == "LSTM" else state


@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
@pytest.mark.parametrize("kind", RNNS)
def test_recurrent(torch, kind, return_sequences):
    module = getattr(torch.nn, kind)(4, 6, batch_first=True)
    layer = RNNS[kind](6, return_sequences=return_sequences)
    layer.build((None, 7, 4))
    nn.load_torch_weights(layer, module)
    x = np.random.default_rng(0).standard_normal((3, 7, 4)).astype(np.float32)
    output, state = run_torch(module, x)
    expected = output if return_sequences else final_state(kind, state)[0]
    np.testing.assert_allclose(run(layer, x), expected.numpy(), **FLOAT32)


@pytest.mark.parametrize("kind", RNNS)
def test_recurrent_from_state_dict_without_biases(torch, kind):
    module = getattr(torch.nn, kind)(4, 3, batch_first=True, bias=False)
    layer = RNNS[kind](3)
    layer.build((None, 5, 4))
    nn.load_torch_weights(layer, module.state_dict())
    assert not layer.bias.numpy().any()
    x = np.random.default_rng(1).standard_normal((2, 5, 4)).astype(np.float32)
    _, state = run_torch(module, x)
    np.testing.assert_allclose(run(layer, x), final_state(kind, state)[0].numpy(), **FLOAT32)


@pytest.mark.parametrize("kind", RNNS)
def test_bidirectional(torch, kind):
    module = getattr(torch.nn, kind)(4, 5, batch_first=True, bidirectional=True)
    layer = nn.Bidirectional(RNNS[kind](5, return_sequences=True))
    layer.build((None, 6, 4))
    nn.load_torch_weights(layer, module)
    x = np.random.default_rng(2).standard_normal((3, 6, 4)).astype(np.float32)
    output, _ = run_torch(module, x)
    np.testing.assert_allclose(run(layer, x), output.numpy(), **FLOAT32)


def test_multi_layer_lstm_is_stacked_layers(torch):
    lstm = torch.nn.LSTM(4, 5, num_layers=3, batch_first=True)
    model = mg.Sequential([nn.LSTM(5, return_sequences=True), nn.LSTM(5, return_sequences=True),
                           nn.LSTM(5)])
    model.build((None, 6, 4))
    nn.load_torch_weights(model, lstm)
    x = np.random.default_rng(3).standard_normal((2, 6, 4)).astype(np.float32)
    _, (h, _) = run_torch(lstm, x)
    np.testing.assert_allclose(run(model, x), h[-1].numpy(), **FLOAT32)


def test_text_model_with_a_two_layer_bidirectional_gru(torch):
    class TorchText(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(50, 8)
            self.gru = torch.nn.GRU(8, 4, num_layers=2, batch_first=True, bidirectional=True)
            self.head = torch.nn.Linear(8, 3)

        def forward(self, ids):
            output, _ = self.gru(self.embed(ids))
            return self.head(output)

    source = TorchText().eval()
    model = mg.Sequential([nn.Embedding(50, 8),
                           nn.Bidirectional(nn.GRU(4, return_sequences=True)),
                           nn.Bidirectional(nn.GRU(4, return_sequences=True)), nn.Dense(3)])
    model.build((None, 9))
    nn.load_torch_weights(model, source)
    ids = np.random.default_rng(4).integers(0, 50, size=(2, 9))
    with torch.no_grad():
        expected = source(torch.tensor(ids)).numpy()
    np.testing.assert_allclose(model(mg.tensor(ids)).numpy(), expected, **FLOAT32)


# --- a small CNN: Flatten's order ----------------------------------------------------------------
def small_cnns(torch, batch_norm=False):
    torch_layers = [torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                    torch.nn.Flatten(), torch.nn.Dropout(0.3), torch.nn.Linear(8 * 4 * 4, 5)]
    ours = [nn.Conv2D(8, 3, activation="relu"), nn.MaxPooling2D(2), nn.Flatten(),
            nn.Dropout(0.3), nn.Dense(5)]
    if batch_norm:
        torch_layers.insert(4, torch.nn.BatchNorm1d(8 * 4 * 4))
        ours.insert(3, nn.BatchNormalization())
    source = torch.nn.Sequential(*torch_layers).eval()
    if batch_norm:
        randomize_batch_norm(torch, source[4])
    model = mg.Sequential(ours)
    model.build((None, 10, 10, 3))
    return source, model


@pytest.mark.parametrize("from_state_dict", [False, True], ids=["module", "state_dict"])
@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batchnorm_after_flatten"])
def test_small_cnn_matches_torch(torch, from_state_dict, batch_norm):
    source, model = small_cnns(torch, batch_norm)
    assert nn.load_torch_weights(model, source.state_dict() if from_state_dict else source) \
        is model
    x, x_nhwc = images(n=4)
    np.testing.assert_allclose(run(model, x_nhwc), run_torch(source, x).numpy(), **FLOAT32)


def test_without_the_flatten_permutation_the_outputs_differ(torch):
    source, model = small_cnns(torch)
    nn.load_torch_weights(model, source, permute_flatten=False)
    x, x_nhwc = images(n=4)
    assert not np.allclose(run(model, x_nhwc), run_torch(source, x).numpy(), atol=1e-3)
    # from_linear with flattened_shape does what the importer does.
    kernel, _ = torch_weights.from_linear(source[5].weight, source[5].bias,
                                          flattened_shape=(4, 4, 8))
    nn.load_torch_weights(model, source)
    np.testing.assert_array_equal(model[4].kernel.numpy(), kernel)


def test_the_flatten_must_have_run(torch):
    source, _ = small_cnns(torch)
    model = mg.Sequential([nn.Conv2D(8, 3, activation="relu"), nn.MaxPooling2D(2),
                           nn.Flatten(), nn.Dropout(0.3), nn.Dense(5)])
    model[0].build((None, 10, 10, 3))
    model[4].build((None, 128))
    with pytest.raises(ValueError, match=r"the Flatten before it has not run yet, so its "
                                         r"\(h, w, c\) feature order is unknown"):
        nn.load_torch_weights(model, source)


def test_a_subclassed_model_pairs_in_registration_order(torch):
    class Net(mg.Model):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2D(4, 3, padding=1)
            self.bn = nn.BatchNormalization()
            self.flatten = nn.Flatten()
            self.out = nn.Dense(2)

        def forward(self, x):
            return self.out(self.flatten(mg.functional.relu(self.bn(self.conv(x)))))

    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
            self.bn = torch.nn.BatchNorm2d(4)
            self.out = torch.nn.Linear(4 * 6 * 6, 2)

        def forward(self, x):
            return self.out(torch.flatten(torch.relu(self.bn(self.conv(x))), 1))

    source, model = TorchNet().eval(), Net()
    randomize_batch_norm(torch, source.bn)
    model.build((None, 6, 6, 3))
    nn.load_torch_weights(model, source)
    x, x_nhwc = images(h=6, w=6)
    np.testing.assert_allclose(run(model, x_nhwc), run_torch(source, x).numpy(), **FLOAT32)


def test_loads_into_a_model_on_each_device(torch, device):
    source, model = small_cnns(torch, batch_norm=True)
    model.to(device)
    nn.load_torch_weights(model, source)
    assert {tensor.device for _, tensor in model.named_weights()} == {device}
    x, x_nhwc = images(n=4)
    model.eval()
    got = model(mg.tensor(x_nhwc, device=device)).numpy()
    np.testing.assert_allclose(got, run_torch(source, x).numpy(), rtol=1e-4, atol=1e-5)


# --- refusals ------------------------------------------------------------------------------------
def built(layer, shape):
    layer.build(shape)
    return layer


@pytest.mark.parametrize("layer, shape, source, message", [
    (nn.Conv2D(4, 3), (None, 8, 8, 3), lambda t: t.nn.Conv2d(3, 4, 3, padding=1),
     r"the padding differs: minigrad 'valid' pads \(top, bottom, left, right\) = "
     r"\(0, 0, 0, 0\), torch padding=\(1, 1\) pads \(1, 1, 1, 1\)"),
    (nn.Conv2D(4, 3, strides=2, padding="same"), (None, 8, 8, 3),
     lambda t: t.nn.Conv2d(3, 4, 3, stride=2, padding=1),
     r"Conv2D padding='same' with strides \(2, 2\) pads as Keras, depending on the input size"),
    (nn.Conv2D(4, 3), (None, 8, 8, 3), lambda t: t.nn.Conv2d(3, 4, 3, stride=2),
     r"torch strides \(2, 2\), minigrad \(1, 1\)"),
    (nn.Conv2D(4, 3, groups=4), (None, 8, 8, 4), lambda t: t.nn.Conv2d(4, 4, 3, groups=2),
     r"torch groups=2, minigrad groups=4: make the Conv2D with groups=2"),
    (nn.GRU(3, reset_after=False), (None, 5, 2), lambda t: t.nn.GRU(2, 3),
     r"GRU\(reset_after=False\) applies the reset gate before the recurrent product, torch's "
     r"GRU after it: make the GRU with reset_after=True"),
    (nn.Conv2D(4, 3, padding=1), (None, 8, 8, 3),
     lambda t: t.nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"),
     r"padding_mode='reflect': Conv2D pads with zeros"),
    (nn.Embedding(10, 3), (None, 4), lambda t: t.nn.Embedding(10, 3, max_norm=1.0),
     r"max_norm=1.0 renormalizes rows"),
    (nn.LSTM(3), (None, 5, 2), lambda t: t.nn.LSTM(2, 3, proj_size=2),
     r"torch LSTM '\(top level\)' has proj_size > 0"),
    (nn.LSTM(3), (None, 5, 2), lambda t: t.nn.LSTM(2, 3, bidirectional=True),
     r"a torch RNN with bidirectional=True pairs with a minigrad Bidirectional layer"),
    (nn.LSTM(3, go_backwards=True), (None, 5, 2), lambda t: t.nn.LSTM(2, 3),
     r"go_backwards=True reads the sequence from the end"),
    (nn.Bidirectional(nn.GRU(3), merge_mode="sum"), (None, 5, 2),
     lambda t: t.nn.GRU(2, 3, bidirectional=True),
     r"merge_mode='sum': torch concatenates the two directions"),
    (nn.SimpleRNN(3), (None, 5, 2), lambda t: t.nn.RNN(2, 3, nonlinearity="relu"),
     r"torch nonlinearity='relu', SimpleRNN activation 'tanh'"),
    (nn.GRU(3), (None, 5, 2), lambda t: t.nn.LSTM(2, 3), r"a GRU takes a torch GRU"),
    (nn.Dense(3), (None, 2), lambda t: t.nn.Conv2d(2, 3, 1), r"a Dense takes a torch Linear"),
    (nn.BatchNormalization(), (None, 2), lambda t: t.nn.LayerNorm(2),
     r"a BatchNormalization takes a torch BatchNorm"),
], ids=["padding", "keras_same_strided", "strides", "groups", "gru_reset_before",
        "padding_mode", "max_norm", "proj_size", "bidirectional", "go_backwards", "merge_mode",
        "nonlinearity", "kind", "dense_kind", "layer_norm"])
def test_settings_that_would_differ_are_refused(torch, layer, shape, source, message):
    layer = built(layer, shape)
    with pytest.raises(ValueError, match=message):
        nn.load_torch_weights(layer, source(torch))


def test_errors_name_both_sides_and_change_nothing(torch):
    source = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 5))
    model = mg.Sequential([nn.Dense(4, input_shape=(3,), name="hidden"),
                           nn.Dense(6, name="out")])
    before = model.get_weights()
    with pytest.raises(ValueError) as error:
        nn.load_torch_weights(model, source)
    message = str(error.value)
    assert message.startswith("load_torch_weights: out (Dense) is paired with torch module '1' "
                              "(Linear: weight (5, 4), bias (5,)): the shapes differ (kernel: "
                              "minigrad (4, 6), from torch (4, 5); bias: minigrad (6,), from "
                              "torch (5,))")
    assert "minigrad layers with weights: hidden (Dense), out (Dense)\n" \
           "torch modules with weights: '0' (Linear), '1' (Linear)" in message
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))


def test_the_counts_must_match(torch):
    model = mg.Sequential([nn.Dense(4, input_shape=(3,), name="only")])
    with pytest.raises(ValueError, match=r"the torch source has 2 modules with weights, the "
                                         r"minigrad model 1: no minigrad layer for '1' \(Linear"):
        nn.load_torch_weights(model, torch.nn.Sequential(torch.nn.Linear(3, 4),
                                                         torch.nn.Linear(4, 2)))
    two = mg.Sequential([nn.Dense(4, input_shape=(3,)), nn.Dense(2, name="extra")])
    with pytest.raises(ValueError, match=r"the minigrad model has 2 layers with weights, the "
                                         r"torch source 1; extra \(Dense\) and those after it "
                                         r"have no torch counterpart"):
        nn.load_torch_weights(two, torch.nn.Linear(3, 4))


def test_an_unbuilt_model_says_to_build_it(torch):
    model = mg.Sequential([nn.Dense(4, name="lazy")])
    with pytest.raises(ValueError, match=r"lazy \(Dense\) has no weights yet \(layers create "
                                         r"them on their first call\); call "
                                         r"model.build\(input_shape\)"):
        nn.load_torch_weights(model, torch.nn.Linear(3, 4))


def test_bad_sources():
    model = mg.Sequential([nn.Dense(2, input_shape=(3,))])
    with pytest.raises(TypeError, match=r"the source is a minigrad module; to copy weights "
                                        r"between minigrad models use "
                                        r"target.set_weights\(source.get_weights\(\)\)"):
        nn.load_torch_weights(model, model)
    with pytest.raises(TypeError, match="expected a torch.nn.Module or a state dict"):
        nn.load_torch_weights(model, [np.ones((2, 3))])


# --- without torch -------------------------------------------------------------------------------
def test_a_state_dict_of_numpy_arrays_needs_no_torch():
    rng = np.random.default_rng(0)
    state = {"fc.weight": rng.standard_normal((2, 3)), "fc.bias": np.array([1.0, -1.0]),
             "bn.weight": np.ones(2), "bn.bias": np.zeros(2), "bn.running_mean": np.zeros(2),
             "bn.running_var": np.full(2, 4.0), "bn.num_batches_tracked": np.array(7)}
    model = mg.Sequential([nn.Dense(2, input_shape=(3,)), nn.BatchNormalization()])
    nn.load_torch_weights(model, state)
    np.testing.assert_allclose(model[0].kernel.numpy(), state["fc.weight"].T, rtol=1e-6)
    np.testing.assert_array_equal(model[1].moving_variance.numpy(), [4.0, 4.0])


def test_importing_minigrad_does_not_import_torch():
    code = ("import sys, minigrad, minigrad.nn.torch_weights; "
            "sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_conversion_functions():
    kernel, bias = torch_weights.from_conv2d(np.arange(24.0).reshape(2, 3, 2, 2), [1.0, 2.0])
    assert kernel.shape == (2, 2, 3, 2) and kernel[1, 0, 2, 1] == 12 + 8 + 2
    kernel, recurrent, bias = torch_weights.from_lstm(np.ones((8, 3)), np.ones((8, 2)),
                                                      np.ones(8), np.full(8, 2.0))
    assert (kernel.shape, recurrent.shape, bias.tolist()) == ((3, 8), (2, 8), [3.0] * 8)
    assert len(torch_weights.from_rnn(np.ones((2, 3)), np.ones((2, 2)))) == 2
    assert torch_weights.flatten_order((2, 2, 1)).tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match=r"expected GRU weights with 3 gates: weight_ih "
                                         r"\(3 \* U, F\) and weight_hh \(3 \* U, U\), got "
                                         r"\(8, 3\) and \(8, 2\)"):
        torch_weights.from_gru(np.ones((8, 3)), np.ones((8, 2)))
    with pytest.raises(ValueError, match=r"expected Conv2d weight \(out_channels, in_channels, "
                                         r"kh, kw\), 4-D, got shape \(2, 3\)"):
        torch_weights.from_conv2d(np.ones((2, 3)))
