"""model.build(input_shape): Keras's way to create the weights before training, so that an
optimizer can be made from model.parameters(), summary() shows every shape, and the weights can
be saved or set."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


def lazy_mlp():
    return mg.Sequential([nn.Dense(16, activation="relu"), nn.Dense(3, activation="softmax")])


def test_build_then_summary_shows_every_shape():
    model = lazy_mlp()
    assert "(not built)" in model.summary(print_fn=None)
    model.build((None, 4))
    text = model.summary(print_fn=None)
    assert "(None, 16)" in text and "(None, 3)" in text and "Total params: 131" in text


def test_an_optimizer_made_after_build_is_the_one_fit_uses():
    model = lazy_mlp()
    model.build((None, 4))
    optimizer = mg.optim.Adam(model.parameters(), lr=0.05)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert model.optimizer is optimizer
    assert history.history["loss"][-1] < history.history["loss"][0] / 2


def test_a_subclassed_model_builds_and_saves_weights(tmp_path):
    class Net(mg.Model):
        def __init__(self):
            super().__init__()
            self.hidden, self.out = nn.Dense(8, activation="relu"), nn.Dense(2)

        def forward(self, x):
            return self.out(self.hidden(x))

    model = Net()
    with pytest.raises(ValueError, match="the model has no weights yet"):
        mg.optim.SGD(model.parameters(), lr=0.1)
    model.build((32, 5))
    model.save_weights(tmp_path / "net.safetensors")
    other = Net()
    other.build((None, 5))
    other.load_weights(tmp_path / "net.safetensors")
    x = mg.ones(2, 5)
    np.testing.assert_array_equal(model(x).numpy(), other(x).numpy())
