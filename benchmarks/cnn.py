"""(c) The CIFAR-10 CNN of the Keras/TensorFlow tutorial -- Conv2D(32, 3) relu, MaxPooling2D,
Conv2D(64, 3) relu, MaxPooling2D, Conv2D(64, 3) relu, Flatten, Dense(64) relu, Dense(10) -- in
minigrad (its layers, channels-last) and in PyTorch (NCHW, the same weights permuted):

- one training step at batch 128: forward, softmax cross-entropy, backward, plain SGD update;
- inference throughput: one forward pass of 1000 images under no_grad;

on the CPU, or on a GPU (``device="cuda"``), where :func:`run_speedup` also times minigrad's own
training step on the CPU against the GPU.
"""

import numpy as np

from .harness import Result, Results, Speedup, compare_training, median_time, on, synchronizers

BATCH = 128
INFERENCE_BATCH = 1000
LEARNING_RATE = 0.01
TARGET_TRAIN_RATIO = 2.0
TARGET_INFERENCE_RATIO = 2.0
TARGET_GPU_SPEEDUP = 10.0  # minigrad's CNN step on the GPU against its step on the CPU


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


def minigrad_model(weights, device="cpu"):
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
    model.to(device)
    return model, params


def minigrad_step(weights, x, y, device="cpu", build=None):
    """A closure running one SGD step of the CNN in minigrad (of the model that
    ``build(weights, device) -> (model, params)`` makes, by default this CNN)."""
    import minigrad as mg

    model, params = (build or minigrad_model)(weights, device)
    inputs, labels = mg.tensor(x, device=device), mg.tensor(y, device=device)
    rows = mg.arange(len(y), device=device)

    def step():
        loss = -mg.log_softmax(model(inputs), axis=1)[rows, labels].mean()
        loss.backward()
        with mg.no_grad():
            for p in params:
                p.data -= LEARNING_RATE * p.grad.data
                p.grad = None
        return loss

    return step


def minigrad_inference(weights, x, device="cpu"):
    import minigrad as mg

    model, _ = minigrad_model(weights, device)
    model.eval()
    inputs = mg.tensor(x, device=device)

    def infer():
        with mg.no_grad():
            return model(inputs)

    return infer


def torch_params(weights, device="cpu", channels_last=False):
    """The same weights in PyTorch's layouts: conv (out, in, kh, kw) (stored channels-last
    with ``channels_last``); the first dense layer's rows reordered from minigrad's (h, w, c)
    flattening to PyTorch's (c, h, w)."""
    import torch

    converted = []
    for i, w in enumerate(weights):
        if w.ndim == 4:
            w = w.transpose(3, 2, 0, 1)
        elif w.shape == (1024, 64):
            w = w.reshape(4, 4, 64, 64).transpose(2, 0, 1, 3).reshape(1024, 64)
        tensor = torch.tensor(np.ascontiguousarray(w), device=device)
        if channels_last and tensor.ndim == 4:
            tensor = tensor.contiguous(memory_format=torch.channels_last)
        converted.append(tensor.requires_grad_())
    return converted


def torch_images(x, device="cpu", channels_last=False):
    """minigrad's (N, H, W, C) images as PyTorch's (N, C, H, W), stored as such or, with
    ``channels_last``, in PyTorch's channels_last memory format (the same data as ``x``)."""
    import torch

    if channels_last:
        return torch.from_numpy(x).to(device).permute(0, 3, 1, 2)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).to(device)


def torch_forward(params, x):
    import torch
    import torch.nn.functional as F

    k1, b1, k2, b2, k3, b3, w4, b4, w5, b5 = params
    h = F.max_pool2d(torch.relu(F.conv2d(x, k1, b1)), 2)
    h = F.max_pool2d(torch.relu(F.conv2d(h, k2, b2)), 2)
    h = torch.relu(F.conv2d(h, k3, b3)).flatten(1)
    h = torch.relu(h @ w4 + b4)
    return h @ w5 + b5


def torch_step(weights, x, y, device="cpu", channels_last=False):
    """The same step in PyTorch, written the same way (NCHW images; stored channels-last with
    ``channels_last``, PyTorch's faster layout for convolutions on the CPU)."""
    import torch

    params = torch_params(weights, device, channels_last)
    inputs = torch_images(x, device, channels_last)
    labels, rows = torch.from_numpy(y).to(device), torch.arange(len(y), device=device)

    def step():
        loss = -torch.log_softmax(torch_forward(params, inputs), dim=1)[rows, labels].mean()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LEARNING_RATE * p.grad
                p.grad = None
        return loss

    return step


def torch_inference(weights, x, device="cpu"):
    import torch

    params = torch_params(weights, device)
    inputs = torch_images(x, device)

    def infer():
        with torch.no_grad():
            return torch_forward(params, inputs)

    return infer


def problem(rng, make_weights=None):
    """The initial weights (of ``make_weights(rng)``, by default this CNN's), a training batch
    and its labels."""
    weights = (make_weights or initial_weights)(rng)
    x = rng.uniform(0, 1, (BATCH, 32, 32, 3)).astype(np.float32)
    y = rng.integers(0, 10, BATCH)
    return weights, x, y


def run(repeats=20, device="cpu"):
    rng = np.random.default_rng(0)
    weights, x, y = problem(rng)
    ours, theirs = minigrad_step(weights, x, y, device), torch_step(weights, x, y, device)
    train = compare_training(f"(c) CIFAR CNN train step, batch 128{on(device)}", ours, theirs,
                             TARGET_TRAIN_RATIO, repeats=repeats, device=device)

    images = rng.uniform(0, 1, (INFERENCE_BATCH, 32, 32, 3)).astype(np.float32)
    ours = minigrad_inference(weights, images, device)
    theirs = torch_inference(weights, images, device)
    if not np.allclose(ours().numpy(), theirs().cpu().numpy(), rtol=1e-3, atol=1e-4):
        raise RuntimeError("CNN inference outputs differ between minigrad and torch")
    ours_sync, torch_sync = synchronizers(device)
    repeats = max(repeats // 2, 3)
    inference = Result(f"(c) CIFAR CNN inference, batch 1000{on(device)}",
                       median_time(ours, warmup=2, repeats=repeats, synchronize=ours_sync),
                       median_time(theirs, warmup=2, repeats=repeats, synchronize=torch_sync),
                       TARGET_INFERENCE_RATIO)
    return Results([train, inference])


def run_speedup(repeats=20, device="cuda"):
    """minigrad's CNN training step on the CPU and on ``device``: the speedup."""
    weights, x, y = problem(np.random.default_rng(0))
    on_cpu = median_time(minigrad_step(weights, x, y, "cpu"), warmup=2,
                         repeats=max(repeats // 2, 3))
    ours_sync, _ = synchronizers(device)
    on_gpu = median_time(minigrad_step(weights, x, y, device), repeats=repeats,
                         synchronize=ours_sync)
    return Speedup("(c) CIFAR CNN train step b128, minigrad", "cpu", on_cpu, device, on_gpu,
                   TARGET_GPU_SPEEDUP)
