"""(c) The CIFAR-10 CNN of the Keras/TensorFlow tutorial -- Conv2D(32, 3) relu, MaxPooling2D,
Conv2D(64, 3) relu, MaxPooling2D, Conv2D(64, 3) relu, Flatten, Dense(64) relu, Dense(10) -- in
minigrad (its layers, channels-last) and in PyTorch (NCHW, the same weights permuted):

- one training step at batch 128: forward, softmax cross-entropy, backward, plain SGD update;
- inference throughput: one forward pass of 1000 images under no_grad.
"""

import numpy as np

from .harness import Result, Results, compare_training, median_time

BATCH = 128
INFERENCE_BATCH = 1000
LEARNING_RATE = 0.01
TARGET_TRAIN_RATIO = 2.0
TARGET_INFERENCE_RATIO = 2.0


def initial_weights(rng):
    """Glorot-uniform kernels (Keras's fans) and zero biases: [k1, b1, k2, b2, ..., w5, b5],
    kernels (kh, kw, in, out) and dense weights (in, out), as minigrad stores them."""
    shapes = [(3, 3, 3, 32), (3, 3, 32, 64), (3, 3, 64, 64), (1024, 64), (64, 10)]
    weights = []
    for shape in shapes:
        receptive = int(np.prod(shape[:-2]))
        fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
        limit = np.sqrt(6 / (fan_in + fan_out))
        weights.append(rng.uniform(-limit, limit, shape).astype(np.float32))
        weights.append(np.zeros(shape[-1], dtype=np.float32))
    return weights


def minigrad_model(weights):
    import minigrad as mg
    from minigrad.nn import Conv2D, Dense, Flatten, MaxPooling2D

    model = mg.Sequential([
        Conv2D(32, 3, activation="relu", input_shape=(32, 32, 3)), MaxPooling2D(),
        Conv2D(64, 3, activation="relu"), MaxPooling2D(),
        Conv2D(64, 3, activation="relu"), Flatten(),
        Dense(64, activation="relu"), Dense(10)])
    params = list(model.parameters())
    for p, w in zip(params, weights):
        p.data = w.copy()
    return model, params


def minigrad_step(weights, x, y):
    """A closure running one SGD step of the CNN in minigrad."""
    import minigrad as mg

    model, params = minigrad_model(weights)
    inputs, labels = mg.tensor(x), mg.tensor(y)
    rows = mg.arange(len(y))

    def step():
        loss = -mg.log_softmax(model(inputs), axis=1)[rows, labels].mean()
        loss.backward()
        with mg.no_grad():
            for p in params:
                p.data -= LEARNING_RATE * p.grad.data
                p.grad = None
        return loss

    return step


def minigrad_inference(weights, x):
    import minigrad as mg

    model, _ = minigrad_model(weights)
    model.eval()
    inputs = mg.tensor(x)

    def infer():
        with mg.no_grad():
            return model(inputs)

    return infer


def torch_params(weights):
    """The same weights in PyTorch's layouts: conv (out, in, kh, kw); the first dense layer's
    rows reordered from minigrad's (h, w, c) flattening to PyTorch's (c, h, w)."""
    import torch

    converted = []
    for i, w in enumerate(weights):
        if w.ndim == 4:
            w = w.transpose(3, 2, 0, 1)
        elif w.shape == (1024, 64):
            w = w.reshape(4, 4, 64, 64).transpose(2, 0, 1, 3).reshape(1024, 64)
        converted.append(torch.tensor(np.ascontiguousarray(w), requires_grad=True))
    return converted


def torch_forward(params, x):
    import torch
    import torch.nn.functional as F

    k1, b1, k2, b2, k3, b3, w4, b4, w5, b5 = params
    h = F.max_pool2d(torch.relu(F.conv2d(x, k1, b1)), 2)
    h = F.max_pool2d(torch.relu(F.conv2d(h, k2, b2)), 2)
    h = torch.relu(F.conv2d(h, k3, b3)).flatten(1)
    h = torch.relu(h @ w4 + b4)
    return h @ w5 + b5


def torch_step(weights, x, y):
    """The same step in PyTorch, written the same way (NCHW images)."""
    import torch

    params = torch_params(weights)
    inputs = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    labels, rows = torch.from_numpy(y), torch.arange(len(y))

    def step():
        loss = -torch.log_softmax(torch_forward(params, inputs), dim=1)[rows, labels].mean()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LEARNING_RATE * p.grad
                p.grad = None
        return loss

    return step


def torch_inference(weights, x):
    import torch

    params = torch_params(weights)
    inputs = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))

    def infer():
        with torch.no_grad():
            return torch_forward(params, inputs)

    return infer


def run(repeats=20):
    rng = np.random.default_rng(0)
    weights = initial_weights(rng)
    x = rng.uniform(0, 1, (BATCH, 32, 32, 3)).astype(np.float32)
    y = rng.integers(0, 10, BATCH)
    ours, theirs = minigrad_step(weights, x, y), torch_step(weights, x, y)
    train = compare_training("(c) CIFAR CNN train step, batch 128", ours, theirs,
                             TARGET_TRAIN_RATIO, repeats=repeats)

    images = rng.uniform(0, 1, (INFERENCE_BATCH, 32, 32, 3)).astype(np.float32)
    ours, theirs = minigrad_inference(weights, images), torch_inference(weights, images)
    if not np.allclose(ours().numpy(), theirs().numpy(), rtol=1e-3, atol=1e-4):
        raise RuntimeError("CNN inference outputs differ between minigrad and torch")
    inference = Result("(c) CIFAR CNN inference, batch 1000",
                       median_time(ours, warmup=2, repeats=max(repeats // 2, 3)),
                       median_time(theirs, warmup=2, repeats=max(repeats // 2, 3)),
                       TARGET_INFERENCE_RATIO)
    return Results([train, inference])
