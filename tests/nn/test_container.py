"""The plain Sequential container of minigrad.nn (torch.nn.Sequential's role)."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


def test_layers_run_in_order_and_build_from_input_shape():
    block = nn.Sequential([nn.Dense(5, activation="relu", input_shape=(3,)), nn.Dense(2)])
    assert block.built and block.output_shape == (None, 2) and len(block) == 2
    x = mg.randn(4, 3)
    expected = block[1](block[0](x))
    np.testing.assert_array_equal(block(x).numpy(), expected.numpy())
    assert [type(layer) for layer in block] == [nn.Dense, nn.Dense]


def test_a_container_inside_a_module_registers_its_parameters_and_trains():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential([nn.Dense(8, activation="tanh"), nn.Dense(1)])

        def forward(self, x):
            return self.body(x)

    mg.manual_seed(0)
    net = Net()
    x = mg.randn(32, 4)
    y = x.sum(axis=1, keepdims=True)
    net(x)
    assert [name for name, _ in net.named_parameters()] == [
        "body.0.kernel", "body.0.bias", "body.1.kernel", "body.1.bias"]
    optimizer = mg.optim.SGD(net.parameters(), lr=0.05)
    first = None
    for _ in range(50):
        loss = ((net(x) - y) ** 2).mean()
        first = first if first is not None else loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < first / 4


def test_the_plain_container_points_to_the_training_api():
    block = nn.Sequential([nn.Dense(2)])
    for method in ("compile", "fit", "predict", "save"):
        with pytest.raises(AttributeError, match=f"no {method}.*mg.Sequential"):
            getattr(block, method)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        block.nothing  # noqa: B018 -- other names get the usual error


def test_the_model_is_the_container_with_the_training_api():
    model = mg.Sequential([nn.Dense(2, input_shape=(3,))])
    assert isinstance(model, nn.Sequential) and isinstance(model, mg.Model)
    model.compile(optimizer="sgd", loss="mse")
    assert model.predict(np.ones((2, 3), np.float32)).shape == (2, 2)


def test_masks_flow_through_the_plain_container():
    mg.manual_seed(0)
    ids = np.array([[0, 0, 3, 4]])
    block = nn.Sequential([nn.Embedding(10, 4, mask_zero=True), nn.LSTM(3)])
    padded = block(mg.tensor(ids)).numpy()
    short = block(mg.tensor(ids[:, 2:])).numpy()
    np.testing.assert_allclose(padded, short, rtol=1e-5, atol=1e-6)


def test_add_refuses_what_is_not_a_module():
    with pytest.raises(TypeError, match="expects a layer"):
        nn.Sequential().add("dense")
