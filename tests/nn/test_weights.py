"""Keras's get_weights / set_weights (by position, in Keras's order) and build(input_shape)."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


def weight_names(module):
    return [name for name, _ in module.named_weights()]


# --- Keras's order, layer by layer ---------------------------------------------------------------
@pytest.mark.parametrize("layer, input_shape, expected", [
    (nn.Dense(4), (None, 3), [("kernel", (3, 4)), ("bias", (4,))]),
    (nn.Dense(4, use_bias=False), (None, 3), [("kernel", (3, 4))]),
    (nn.Conv2D(8, 3), (None, 9, 9, 2), [("kernel", (3, 3, 2, 8)), ("bias", (8,))]),
    (nn.Embedding(10, 4), (None, 5), [("embeddings", (10, 4))]),
    (nn.BatchNormalization(), (None, 6, 6, 3),
     [("gamma", (3,)), ("beta", (3,)), ("moving_mean", (3,)), ("moving_variance", (3,))]),
    (nn.BatchNormalization(center=False), (None, 3),
     [("gamma", (3,)), ("moving_mean", (3,)), ("moving_variance", (3,))]),
    (nn.LSTM(5), (None, 7, 3),
     [("kernel", (3, 20)), ("recurrent_kernel", (5, 20)), ("bias", (20,))]),
    (nn.GRU(5), (None, 7, 3),
     [("kernel", (3, 15)), ("recurrent_kernel", (5, 15)), ("bias", (2, 15))]),
    (nn.SimpleRNN(5), (None, 7, 3),
     [("kernel", (3, 5)), ("recurrent_kernel", (5, 5)), ("bias", (5,))]),
    (nn.Bidirectional(nn.LSTM(2)), (None, 7, 3),
     [("forward_layer.kernel", (3, 8)), ("forward_layer.recurrent_kernel", (2, 8)),
      ("forward_layer.bias", (8,)), ("backward_layer.kernel", (3, 8)),
      ("backward_layer.recurrent_kernel", (2, 8)), ("backward_layer.bias", (8,))]),
], ids=["dense", "dense_no_bias", "conv2d", "embedding", "batchnorm", "batchnorm_no_center",
        "lstm", "gru", "simple_rnn", "bidirectional"])
def test_get_weights_is_keras_order(layer, input_shape, expected):
    layer.build(input_shape)
    assert [(name, tensor.shape) for name, tensor in layer.named_weights()] == expected
    weights = layer.get_weights()
    assert [w.shape for w in weights] == [shape for _, shape in expected]
    assert all(isinstance(w, np.ndarray) for w in weights)


def test_model_weights_are_the_layers_in_order():
    model = mg.Sequential([nn.Conv2D(4, 3, input_shape=(8, 8, 2)), nn.BatchNormalization(),
                           nn.Flatten(), nn.Dense(3)])
    assert weight_names(model) == ["0.kernel", "0.bias", "1.gamma", "1.beta", "1.moving_mean",
                                   "1.moving_variance", "3.kernel", "3.bias"]
    expected = [w for layer in model.layers for w in layer.get_weights()]
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), expected))
    # state_dict keeps PyTorch's order instead: all parameters, then all buffers.
    assert list(model.state_dict())[4:] == ["3.kernel", "3.bias", "1.moving_mean",
                                            "1.moving_variance"]


def test_own_weights_come_before_the_sub_modules():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.dense = nn.Dense(2)
            self.scale = nn.Parameter(mg.ones(1))

        def forward(self, x):
            return self.dense(x) * self.scale

    model = Scaled()
    model.build((None, 3))
    assert weight_names(model) == ["scale", "dense.kernel", "dense.bias"]


def test_shared_layers_count_once():
    shared = nn.Dense(2)
    model = mg.Sequential([nn.Dense(2, input_shape=(2,)), shared, shared])
    assert len(model.get_weights()) == 4


# --- get_weights / set_weights -------------------------------------------------------------------
def test_get_weights_returns_copies():
    layer = nn.Dense(2)
    layer.build((None, 3))
    kernel, _ = layer.get_weights()
    kernel[:] = 7.0
    assert not np.any(layer.kernel.numpy() == 7.0)


def test_set_weights_writes_in_place_in_the_weights_dtype():
    layer = nn.Dense(2)
    layer.build((None, 3))
    kernel = layer.kernel
    optimizer = mg.optim.SGD(layer.parameters(), lr=0.1)
    source = np.arange(6, dtype=np.float64).reshape(3, 2)
    layer.set_weights([source, np.array([1.0, -1.0])])
    assert layer.kernel is kernel and optimizer.param_groups[0]["params"][0] is kernel
    assert layer.kernel.dtype.name == "float32"
    np.testing.assert_array_equal(layer.kernel.numpy(), source)
    source[0, 0] = 100.0  # no memory shared with the caller's array
    assert layer.kernel.numpy()[0, 0] == 0.0
    np.testing.assert_array_equal(layer(mg.ones(1, 3)).numpy(), [[7.0, 8.0]])


def test_set_weights_takes_tensors_and_sets_buffers():
    layer = nn.BatchNormalization()
    layer.build((None, 2))
    layer.set_weights([mg.tensor([2.0, 2.0]), np.zeros(2), np.array([1.0, -1.0]),
                       np.array([4.0, 4.0])])
    np.testing.assert_array_equal(layer.moving_variance.numpy(), [4.0, 4.0])
    layer.eval()
    np.testing.assert_allclose(layer(mg.tensor([[1.0, -1.0]])).numpy(), [[0.0, 0.0]], atol=1e-6)


def test_weights_round_trip_between_models():
    def make():
        return mg.Sequential([nn.Embedding(20, 4, input_length=6), nn.LSTM(5),
                              nn.Dense(3)])

    source, target = make(), make()
    ids = mg.tensor(np.random.default_rng(0).integers(0, 20, size=(2, 6)))
    assert not np.allclose(source(ids).numpy(), target(ids).numpy())
    target.set_weights(source.get_weights())
    np.testing.assert_array_equal(source(ids).numpy(), target(ids).numpy())


def test_set_weights_checks_the_count():
    layer = nn.LSTM(2)
    layer.build((None, 4, 3))
    with pytest.raises(ValueError, match=r"set_weights on lstm(_\d+)? \(LSTM\): expected 3 arrays "
                                         r"\[kernel \(3, 8\), recurrent_kernel \(2, 8\), "
                                         r"bias \(8,\)\], got 2"):
        layer.set_weights(layer.get_weights()[:2])


def test_set_weights_checks_every_shape_before_writing():
    model = mg.Sequential([nn.Dense(4, input_shape=(3,)), nn.Dense(2)])
    before = model.get_weights()
    wrong = [np.ones_like(w) for w in before]
    wrong[2] = np.ones((2, 4))
    with pytest.raises(ValueError, match=r"array 2 \(1.kernel\) has shape \(2, 4\), expected "
                                         r"\(4, 2\)"):
        model.set_weights(wrong)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))


def test_set_weights_on_an_unbuilt_layer_says_to_build_it():
    layer = nn.Dense(2, name="head")
    assert layer.get_weights() == []
    with pytest.raises(ValueError, match=r"set_weights on head \(Dense\): it has no weights yet "
                                         r"\(layers create them on their first call\); call "
                                         r"build\(input_shape\) or run it once first"):
        layer.set_weights([np.ones((3, 2)), np.zeros(2)])


# --- build ---------------------------------------------------------------------------------------
def test_layer_build_by_hand_is_not_redone_by_the_first_call():
    layer = nn.Dense(4)
    layer.build((None, 3))
    assert layer.built
    kernel = layer.kernel
    layer(mg.ones(2, 3))
    assert layer.kernel is kernel


def test_a_failed_build_leaves_the_layer_unbuilt():
    layer = nn.Conv2D(4, 3)
    with pytest.raises(ValueError):
        layer.build((None, 3))
    assert not layer.built


@pytest.mark.parametrize("input_shape", [(None, 784), (32, 784), [None, 784]])
def test_sequential_build_completes_the_parameters(input_shape):
    model = mg.Sequential([nn.Dense(64, activation="relu"), nn.Dropout(0.5), nn.Dense(10)])
    assert list(model.parameters()) == []
    assert model.build(input_shape) is None
    assert [p.shape for p in model.parameters()] == [(784, 64), (64,), (64, 10), (10,)]
    assert model.built and model.training
    assert model.output_shape == (None, 10)


def test_plain_container_and_subclassed_models_build():
    class Net(mg.Model):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2D(4, 3, padding="same")
            self.pool = nn.GlobalAveragePooling2D()
            self.out = nn.Dense(2)

        def forward(self, x):
            return self.out(self.pool(self.conv(x)))

    net = Net()
    net.build((None, 8, 8, 3))
    assert [p.shape for p in net.parameters()] == [(3, 3, 3, 4), (4,), (4, 2), (2,)]
    block = nn.Sequential([nn.Dense(3)])
    block.build((None, 5))
    assert block[0].kernel.shape == (5, 3)


def test_build_with_several_inputs_and_integer_ids():
    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Dense(2), nn.Dense(2)

        def forward(self, x, y):
            return self.a(x) + self.b(y)

    pair = Pair()
    pair.build([(None, 3), (None, 5)])
    assert (pair.a.kernel.shape, pair.b.kernel.shape) == ((3, 2), (5, 2))

    text = mg.Sequential([nn.Embedding(100, 8), nn.LSTM(4)])
    text.build((None, None))  # token ids of any length
    assert [w.shape for w in text.get_weights()] == [(100, 8), (8, 16), (4, 16), (16,)]


def test_build_without_the_batch_axis_says_so():
    model = mg.Sequential([nn.Dense(10)])
    with pytest.raises(ValueError, match=r"build\(\) takes the input shape WITH the batch axis, "
                                         r"e\.g\. build\(\(None, 784\)\)"):
        model.build((784,))


def test_build_then_train():
    model = mg.Sequential([nn.Dense(8, activation="relu"), nn.Dense(1)])
    model.build((None, 2))
    optimizer = mg.optim.Adam(model.parameters(), lr=0.05)
    x = mg.tensor(np.random.default_rng(0).standard_normal((32, 2)))
    y = x.sum(axis=1, keepdims=True)
    first = None
    for _ in range(50):
        loss = ((model(x) - y) ** 2).mean()
        first = first if first is not None else loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < first / 4


def test_weights_stay_on_the_models_device(device):
    model = mg.Sequential([nn.Dense(3), nn.BatchNormalization()]).to(device)
    model.build((None, 2))
    model.set_weights([np.ones((2, 3)), np.zeros(3), np.ones(3), np.zeros(3), np.zeros(3),
                       np.ones(3)])
    assert {tensor.device for _, tensor in model.named_weights()} == {device}
    weights = model.get_weights()
    assert all(type(w) is np.ndarray for w in weights)
    np.testing.assert_array_equal(weights[0], np.ones((2, 3)))
