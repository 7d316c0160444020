"""(a) One training step of the MLP 784-512-512-10 (ReLU, softmax cross-entropy written with
core ops, plain SGD) at batch 128, in minigrad and in PyTorch, from the same weights, on the CPU
or on a GPU (``device="cuda"``)."""

import numpy as np

from .harness import compare_training, on


SIZES = (784, 512, 512, 10)
BATCH = 128
LEARNING_RATE = 0.01
TARGET_RATIO = 1.3
TARGET_RATIOS = {"cpu": TARGET_RATIO, "cuda": 1.5}


def _initial_weights(rng):
    weights = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        limit = np.sqrt(6 / (fan_in + fan_out))  # Glorot uniform, as Keras's Dense
        weights.append(rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32))
        weights.append(np.zeros(fan_out, dtype=np.float32))
    return weights


def train_step_flops(batch=BATCH):
    """Floating-point operations of one training step, counting the matrix products only
    (2 per multiply-add): forward x @ W per layer, backward dW = x^T dy per layer and
    dx = dy @ W^T for every layer but the first (the inputs need no gradient)."""
    products = [fan_in * fan_out for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:])]
    return 2 * batch * (2 * sum(products) + sum(products[1:]))


def minigrad_step(weights, x, y, device="cpu"):
    """A closure running one SGD step of the MLP in minigrad."""
    import minigrad as mg

    params = [mg.tensor(w, requires_grad=True, device=device) for w in weights]
    inputs, labels = mg.tensor(x, device=device), mg.tensor(y, device=device)
    rows = mg.arange(BATCH, device=device)

    def step():
        h = inputs
        for i in range(0, len(params) - 2, 2):
            h = mg.relu(h @ params[i] + params[i + 1])
        logits = h @ params[-2] + params[-1]
        loss = -mg.log_softmax(logits, axis=1)[rows, labels].mean()
        loss.backward()
        with mg.no_grad():
            for p in params:
                p.data -= LEARNING_RATE * p.grad.data
                p.grad = None
        return loss

    return step


def torch_step(weights, x, y, device="cpu"):
    """The same step in PyTorch, written the same way."""
    import torch

    params = [torch.tensor(w, requires_grad=True, device=device) for w in weights]
    inputs, labels = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
    rows = torch.arange(BATCH, device=device)

    def step():
        h = inputs
        for i in range(0, len(params) - 2, 2):
            h = torch.relu(h @ params[i] + params[i + 1])
        logits = h @ params[-2] + params[-1]
        loss = -torch.log_softmax(logits, dim=1)[rows, labels].mean()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LEARNING_RATE * p.grad
                p.grad = None
        return loss

    return step


def problem(rng):
    """The initial weights, a batch of inputs and its labels."""
    weights = _initial_weights(rng)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], BATCH)
    return weights, x, y


def run(repeats=30, device="cpu"):
    weights, x, y = problem(np.random.default_rng(0))
    ours, theirs = minigrad_step(weights, x, y, device), torch_step(weights, x, y, device)
    return compare_training(f"(a) MLP 784-512-512-10 train step, batch 128{on(device)}", ours,
                            theirs, TARGET_RATIOS[device], repeats=repeats, device=device)
