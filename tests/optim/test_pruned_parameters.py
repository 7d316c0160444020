"""Optimizers and pruned parameters (``parameter.pruning_mask``): the gradient is masked before
clipping and the update, and the pruned entries are zero again after every step, whatever
the optimizer's state (momentum, Adam's moments) says."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import pruning_masks

OPTIMIZERS = {
    "sgd": lambda p: mg.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "adam": lambda p: mg.optim.Adam(p, lr=0.1, amsgrad=True),
    "adamw-keras": lambda p: mg.optim.AdamW(p, lr=0.1, weight_decay=0.1, formulas="keras"),
    "rmsprop": lambda p: mg.optim.RMSprop(p, lr=0.1, momentum=0.5),
    "adagrad": lambda p: mg.optim.Adagrad(p, lr=0.1),
}


def pruned_layer(device):
    layer = mg.nn.Dense(4).to(device)
    layer.build((None, 5))
    return layer


def train(layer, optimizer, steps, device):
    x = mg.tensor(np.random.default_rng(1).standard_normal((8, 5)).astype(np.float32),
                  device=device)
    for _ in range(steps):
        loss = (layer(x) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_built_before_pruning_never_regrows_a_pruned_entry(name, device):
    layer = pruned_layer(device)
    optimizer = OPTIMIZERS[name](layer.parameters())
    train(layer, optimizer, 3, device)  # momentum / moments now nonzero everywhere
    keep = np.random.default_rng(0).random((5, 4)) < 0.4
    pruning_masks.set_mask(layer, "kernel", keep)
    before = layer.kernel.numpy().copy()
    train(layer, optimizer, 4, device)
    kernel = layer.kernel.numpy()
    assert (kernel[~keep] == 0).all()
    assert (kernel[keep] != before[keep]).all()


def test_the_gradient_is_masked_before_global_clipping(device):
    # Two copies of the weights; the first pruned, the second zeroed by hand with its
    # gradient zeroed by hand: global_clipnorm must see the same norm in both.
    keep = np.random.default_rng(0).random((5, 4)) < 0.5
    pruned, by_hand = pruned_layer(device), pruned_layer(device)
    by_hand.set_weights(pruned.get_weights())
    pruning_masks.set_mask(pruned, "kernel", keep)
    by_hand.kernel.data *= by_hand.kernel._backend.asarray(keep)
    clip = dict(lr=0.1, global_clipnorm=1e-3)
    first = mg.optim.SGD(pruned.parameters(), **clip)
    second = mg.optim.SGD(by_hand.parameters(), **clip)
    x = mg.tensor(np.random.default_rng(1).standard_normal((8, 5)).astype(np.float32),
                  device=device)
    for layer, optimizer in ((pruned, first), (by_hand, second)):
        optimizer.zero_grad()
        (layer(x) ** 2).sum().backward()
        if layer is by_hand:
            layer.kernel.grad.data *= layer.kernel._backend.asarray(keep)
        optimizer.step()
    np.testing.assert_allclose(pruned.kernel.numpy(), by_hand.kernel.numpy(), rtol=1e-6)
    np.testing.assert_allclose(pruned.bias.numpy(), by_hand.bias.numpy(), rtol=1e-6)
    assert pruned.kernel.grad is not None and (pruned.kernel.grad.numpy()[~keep] != 0).any()
