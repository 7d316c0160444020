"""(d) The IMDB BiLSTM of the Keras/TensorFlow text-classification tutorial --
Embedding(10000, 16), Bidirectional(LSTM(64)), Dense(64) relu, Dense(1) sigmoid -- on sequences
of 256 token ids, in minigrad (its layers) and in PyTorch (nn.Embedding, nn.LSTM(16, 64,
bidirectional=True, batch_first=True), nn.Linear), from the same weights:

- one training step at batch 128: forward, binary cross-entropy written with core ops,
  backward, plain SGD update;
- inference: one forward pass of 1000 sequences under no_grad;

on the CPU, or on a GPU (``device="cuda"``: PyTorch then runs cuDNN's fused LSTM).

The ids are drawn from 1..9999 (no padding), so that neither side needs a mask.
"""

import numpy as np

from .harness import Result, Results, compare_training, median_time, on, synchronizers

VOCABULARY, EMBEDDING, UNITS, HIDDEN = 10000, 16, 64, 64
BATCH, LENGTH, INFERENCE_BATCH = 128, 256, 1000
LEARNING_RATE = 0.01
TARGET_TRAIN_RATIO = 2.0
TARGET_INFERENCE_RATIO = 2.0


def initial_weights(rng):
    """Keras's initial weights, as minigrad stores them: embeddings U(-0.05, 0.05); per
    direction kernel (16, 256) Glorot-uniform, recurrent kernel (64, 256) orthogonal, bias with
    the forget gate at 1; the dense kernels (in, out) Glorot-uniform, biases zero."""
    def glorot(fan_in, fan_out):
        limit = np.sqrt(6 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)

    def orthogonal(rows, cols):
        q, r = np.linalg.qr(rng.standard_normal((cols, rows)))
        return (q * np.sign(np.diag(r))).T.astype(np.float32)

    weights = [rng.uniform(-0.05, 0.05, (VOCABULARY, EMBEDDING)).astype(np.float32)]
    for _ in ("forward", "backward"):
        bias = np.zeros(4 * UNITS, dtype=np.float32)
        bias[UNITS:2 * UNITS] = 1
        weights += [glorot(EMBEDDING, 4 * UNITS), orthogonal(UNITS, 4 * UNITS), bias]
    weights += [glorot(2 * UNITS, HIDDEN), np.zeros(HIDDEN, np.float32),
                glorot(HIDDEN, 1), np.zeros(1, np.float32)]
    return weights


def minigrad_model(weights, device="cpu"):
    import minigrad as mg
    from minigrad.nn import LSTM, Bidirectional, Dense, Embedding

    layers = [Embedding(VOCABULARY, EMBEDDING), Bidirectional(LSTM(UNITS)),
              Dense(HIDDEN, activation="relu"), Dense(1, activation="sigmoid")]

    def model(ids):
        x = ids
        for layer in layers:
            x = layer(x)
        return x

    with mg.no_grad():
        model(mg.tensor(np.ones((1, LENGTH), dtype=np.int64)))  # build the weights
    params = [p for layer in layers for p in layer.parameters()]
    for p, w in zip(params, weights):
        p.data = w.copy()
    for layer in layers:
        layer.to(device)
    return model, params


def binary_crossentropy(p, y, lib):
    return -(y * lib.log(p) + (1 - y) * lib.log(1 - p)).mean()


def minigrad_step(weights, ids, y, device="cpu"):
    """A closure running one SGD step of the BiLSTM in minigrad."""
    import minigrad as mg

    model, params = minigrad_model(weights, device)
    inputs, labels = mg.tensor(ids, device=device), mg.tensor(y, device=device)

    def step():
        loss = binary_crossentropy(model(inputs), labels, mg)
        loss.backward()
        with mg.no_grad():
            for p in params:
                p.data -= LEARNING_RATE * p.grad.data
                p.grad = None
        return loss

    return step


def minigrad_inference(weights, ids, device="cpu"):
    import minigrad as mg

    model, _ = minigrad_model(weights, device)
    inputs = mg.tensor(ids, device=device)

    def infer():
        with mg.no_grad():
            return model(inputs)

    return infer


def torch_model(weights, device="cpu"):
    """The same model in PyTorch: the LSTM weights transposed (PyTorch's (4U, in) layout, the
    same gate order i, f, g, o), bias_hh zero; the reverse direction gets the backward layer's."""
    import torch

    embedding = torch.nn.Embedding(VOCABULARY, EMBEDDING)
    lstm = torch.nn.LSTM(EMBEDDING, UNITS, batch_first=True, bidirectional=True)
    hidden, out = torch.nn.Linear(2 * UNITS, HIDDEN), torch.nn.Linear(HIDDEN, 1)
    (table, k_f, r_f, b_f, k_b, r_b, b_b, w1, b1, w2, b2) = weights
    with torch.no_grad():
        embedding.weight.copy_(torch.from_numpy(table))
        for suffix, (kernel, recurrent, bias) in (("", (k_f, r_f, b_f)),
                                                  ("_reverse", (k_b, r_b, b_b))):
            getattr(lstm, f"weight_ih_l0{suffix}").copy_(torch.from_numpy(kernel.T))
            getattr(lstm, f"weight_hh_l0{suffix}").copy_(torch.from_numpy(recurrent.T))
            getattr(lstm, f"bias_ih_l0{suffix}").copy_(torch.from_numpy(bias))
            getattr(lstm, f"bias_hh_l0{suffix}").zero_()
        hidden.weight.copy_(torch.from_numpy(w1.T))
        hidden.bias.copy_(torch.from_numpy(b1))
        out.weight.copy_(torch.from_numpy(w2.T))
        out.bias.copy_(torch.from_numpy(b2))

    def model(ids):
        _, (h, _) = lstm(embedding(ids))
        features = torch.cat([h[0], h[1]], dim=1)
        return torch.sigmoid(out(torch.relu(hidden(features))))

    for module in (embedding, lstm, hidden, out):
        module.to(device)
    params = [p for m in (embedding, lstm, hidden, out) for p in m.parameters()]
    return model, params


def torch_step(weights, ids, y, device="cpu"):
    """The same step in PyTorch, written the same way."""
    import torch

    model, params = torch_model(weights, device)
    inputs, labels = torch.from_numpy(ids).to(device), torch.from_numpy(y).to(device)

    def step():
        loss = binary_crossentropy(model(inputs), labels, torch)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LEARNING_RATE * p.grad
                p.grad = None
        return loss

    return step


def torch_inference(weights, ids, device="cpu"):
    import torch

    model, _ = torch_model(weights, device)
    inputs = torch.from_numpy(ids).to(device)

    def infer():
        with torch.no_grad():
            return model(inputs)

    return infer


def run(repeats=10, device="cpu"):
    rng = np.random.default_rng(0)
    weights = initial_weights(rng)
    ids = rng.integers(1, VOCABULARY, (BATCH, LENGTH))
    y = rng.integers(0, 2, (BATCH, 1)).astype(np.float32)
    ours, theirs = minigrad_step(weights, ids, y, device), torch_step(weights, ids, y, device)
    train = compare_training(f"(d) IMDB BiLSTM train step, batch 128 x 256{on(device)}", ours,
                             theirs, TARGET_TRAIN_RATIO, warmup=2, repeats=repeats,
                             device=device)

    ids = rng.integers(1, VOCABULARY, (INFERENCE_BATCH, LENGTH))
    ours = minigrad_inference(weights, ids, device)
    theirs = torch_inference(weights, ids, device)
    if not np.allclose(ours().numpy(), theirs().cpu().numpy(), rtol=1e-3, atol=1e-5):
        raise RuntimeError("BiLSTM inference outputs differ between minigrad and torch")
    ours_sync, torch_sync = synchronizers(device)
    repeats = max(repeats // 2, 3)
    inference = Result(f"(d) IMDB BiLSTM inference, batch 1000 x 256{on(device)}",
                       median_time(ours, warmup=1, repeats=repeats, synchronize=ours_sync),
                       median_time(theirs, warmup=1, repeats=repeats, synchronize=torch_sync),
                       TARGET_INFERENCE_RATIO)
    return Results([train, inference])
