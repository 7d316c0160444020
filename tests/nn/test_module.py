"""Module: registration, traversal, state dicts, modes and devices."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Dense(4, activation="relu")
        self.out = nn.Dense(2)
        self.scale = nn.Parameter(mg.ones(1))
        self.register_buffer("calls", mg.zeros(1))

    def forward(self, x):
        return self.out(self.hidden(x)) * self.scale


def built(model, features=3):
    model(mg.ones(1, features))
    return model


def test_parameters_and_submodules_are_registered_in_order():
    model = built(TwoLayer())
    names = [name for name, _ in model.named_parameters()]
    assert names == ["scale", "hidden.kernel", "hidden.bias", "out.kernel", "out.bias"]
    assert [name for name, _ in model.named_children()] == ["hidden", "out"]
    assert model.count_params() == 1 + 3 * 4 + 4 + 4 * 2 + 2


def test_shared_parameters_are_listed_once():
    model = nn.Module()
    shared = nn.Dense(2)
    model.a, model.b = shared, shared
    built(shared)
    assert len(list(model.parameters())) == 2


def test_assigning_before_super_init_is_explained():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(mg.ones(2))

    with pytest.raises(AttributeError, match="before Broken.__init__ called super"):
        Broken()


def test_state_dict_round_trip_includes_buffers():
    source, target = built(TwoLayer()), built(TwoLayer())
    source.calls.data += 3
    state = source.state_dict()
    assert list(state) == ["scale", "hidden.kernel", "hidden.bias", "out.kernel", "out.bias",
                           "calls"]
    target.load_state_dict(state)
    x = mg.randn(5, 3)
    np.testing.assert_array_equal(target(x).numpy(), source(x).numpy())
    assert target.calls.item() == 3
    state["scale"].data[0] = 7  # the state dict shares memory with source, not with target
    assert target.scale.item() == 1


def test_load_state_dict_names_missing_unexpected_and_misshaped_keys():
    model = built(TwoLayer())
    state = model.state_dict()
    del state["out.bias"]
    state["extra"] = mg.ones(1)
    with pytest.raises(KeyError, match="missing keys: out.bias; unexpected keys: extra"):
        model.load_state_dict(state)
    model.load_state_dict(state, strict=False)
    wrong = model.state_dict()
    wrong["hidden.kernel"] = mg.ones(5, 4)
    with pytest.raises(ValueError, match=r"hidden.kernel: saved \(5, 4\), module \(3, 4\)"):
        model.load_state_dict(wrong)


def test_load_state_dict_accepts_numpy_and_keeps_the_dtype():
    model = built(TwoLayer())
    state = {k: v.numpy().astype(np.float64) * 0 for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    assert model.hidden.kernel.dtype == mg.float32
    assert model.hidden.kernel.numpy().sum() == 0


def test_train_and_eval_reach_every_submodule():
    model = TwoLayer()
    model.eval()
    assert not model.training and not model.hidden.training
    model.train()
    assert model.out.training


def test_to_dtype_converts_parameters_in_place():
    model = built(TwoLayer())
    kernel = model.hidden.kernel
    model.to("float64")
    assert kernel.dtype == mg.float64 and model.hidden.kernel is kernel
    assert model(mg.ones(1, 3, dtype="float64")).dtype == mg.float64


def test_to_device_moves_parameters_and_future_weights(device):
    model = TwoLayer().to(device)
    assert model.device == device
    y = model(mg.ones(2, 3, device=device))
    assert y.device == device and model.hidden.kernel.device == device


def test_zero_grad_and_repr():
    model = built(TwoLayer())
    model(mg.ones(2, 3)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    assert "(hidden): Dense(3 -> 4, activation=relu)" in repr(model)


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="Module does not define forward"):
        nn.Module()(mg.ones(1))


def test_regularization_loss_sums_the_penalties():
    layer = nn.Dense(2, kernel_regularizer=nn.regularizers.L2(0.5))
    layer(mg.ones(1, 3))
    expected = 0.5 * (layer.kernel.numpy() ** 2).sum()
    assert layer.regularization_loss().item() == pytest.approx(expected, rel=1e-6)
    assert nn.Dense(2).regularization_loss() == 0.0


def test_eval_mode_turns_off_dropout_and_gradients_and_restores_the_mode():
    from minigrad.nn.module import eval_mode

    layer = mg.nn.Dropout(0.5)
    x = mg.ones(1000, requires_grad=True)
    with eval_mode(layer):
        assert not layer.training and not mg.is_grad_enabled()
        out = layer(x) * 2
    assert out.numpy().tolist() == [2.0] * 1000 and not out.requires_grad
    assert layer.training and mg.is_grad_enabled()
    layer.eval()
    with eval_mode(layer):
        pass
    assert not layer.training  # a module already in eval mode stays there


def test_eval_mode_restores_the_mode_when_the_block_raises():
    from minigrad.nn.module import eval_mode

    layer = mg.nn.Dropout(0.5)
    try:
        with eval_mode(layer):
            raise KeyError("boom")
    except KeyError:
        pass
    assert layer.training and mg.is_grad_enabled()
