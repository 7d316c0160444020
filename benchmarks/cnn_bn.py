"""(c) The CIFAR-10 CNN of :mod:`benchmarks.cnn` with BatchNormalization after each convolution
-- Conv2D(32, 3), BatchNorm, ReLU, MaxPooling2D, Conv2D(64, 3), BatchNorm, ReLU, MaxPooling2D,
Conv2D(64, 3), BatchNorm, ReLU, Flatten, Dense(64) relu, Dense(10) -- the usual next model:
one training step at batch 128 (forward in training mode, softmax cross-entropy, backward,
plain SGD), minigrad against PyTorch (NCHW, the same weights; ``F.batch_norm`` with Keras's
epsilon 1e-3 and momentum 0.99, PyTorch's 0.01).
"""

import numpy as np

from . import cnn
from .harness import Results, compare_training, on

BATCH = cnn.BATCH
TARGET_TRAIN_RATIO = 1.1
CHANNELS = (32, 64, 64)
EPSILON = 1e-3


def initial_weights(rng):
    """The CNN's weights with each convolution followed by its BatchNormalization's gamma (ones)
    and beta (zeros): [k1, b1, g1, beta1, ..., k3, b3, g3, beta3, w4, b4, w5, b5]."""
    weights = cnn.initial_weights(rng)
    convs, dense = weights[:6], weights[6:]
    out = []
    for i, channels in enumerate(CHANNELS):
        out += convs[2 * i:2 * i + 2]
        out += [np.ones(channels, np.float32), np.zeros(channels, np.float32)]
    return out + dense


def minigrad_model(weights, device="cpu"):
    import minigrad as mg
    from minigrad.nn import BatchNormalization, Conv2D, Dense, Flatten, MaxPooling2D, ReLU

    model = mg.Sequential([
        Conv2D(32, 3, input_shape=(32, 32, 3)), BatchNormalization(), ReLU(), MaxPooling2D(),
        Conv2D(64, 3), BatchNormalization(), ReLU(), MaxPooling2D(),
        Conv2D(64, 3), BatchNormalization(), ReLU(), Flatten(),
        Dense(64, activation="relu"), Dense(10)])
    params = list(model.parameters())
    for p, w in zip(params, weights):
        p.data = w.copy()
    model.to(device)
    model.train()
    return model, params


def minigrad_step(weights, x, y, device="cpu"):
    """A closure running one SGD step of the CNN with batch normalization in minigrad (the
    same step as :func:`benchmarks.cnn.minigrad_step`, on this model)."""
    return cnn.minigrad_step(weights, x, y, device, build=minigrad_model)


def torch_step(weights, x, y, device="cpu", channels_last=False):
    """The same step in PyTorch (NCHW images, or stored channels-last), written the same
    way."""
    import torch
    import torch.nn.functional as F

    convs = [w for i, w in enumerate(weights[:12]) if i % 4 < 2]
    params = cnn.torch_params(convs + weights[12:], device, channels_last)
    norms = [torch.tensor(w, requires_grad=True, device=device)
             for i, w in enumerate(weights[:12]) if i % 4 >= 2]
    running = [(torch.zeros(c, device=device), torch.ones(c, device=device)) for c in CHANNELS]
    inputs = cnn.torch_images(x, device, channels_last)
    labels, rows = torch.from_numpy(y).to(device), torch.arange(len(y), device=device)

    def forward():
        k1, b1, k2, b2, k3, b3, w4, b4, w5, b5 = params
        h = inputs
        for i, (k, b) in enumerate(((k1, b1), (k2, b2), (k3, b3))):
            h = F.batch_norm(F.conv2d(h, k, b), *running[i], norms[2 * i], norms[2 * i + 1],
                             training=True, momentum=0.01, eps=EPSILON)
            h = torch.relu(h)
            h = F.max_pool2d(h, 2) if i < 2 else h.flatten(1)
        h = torch.relu(h @ w4 + b4)
        return h @ w5 + b5

    def step():
        loss = -torch.log_softmax(forward(), dim=1)[rows, labels].mean()
        loss.backward()
        with torch.no_grad():
            for p in params + norms:
                p -= cnn.LEARNING_RATE * p.grad
                p.grad = None
        return loss

    return step


def problem(rng):
    """The initial weights, a training batch and its labels (the CNN's batch)."""
    return cnn.problem(rng, initial_weights)


def run(repeats=20, device="cpu"):
    weights, x, y = problem(np.random.default_rng(0))
    ours, theirs = minigrad_step(weights, x, y, device), torch_step(weights, x, y, device)
    return Results([compare_training(
        f"(c) CIFAR CNN + BatchNorm train step, batch 128{on(device)}", ours, theirs,
        TARGET_TRAIN_RATIO, repeats=repeats, device=device)])
