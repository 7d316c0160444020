"""Train a small classifier on the CPU with nothing but minigrad tensors and autograd.

The data are two interleaved spirals (made here, no download); the model is a 2-64-64-2 MLP
written with core ops, trained by gradient descent with momentum on softmax cross-entropy. It prints
the loss and accuracy as it goes and fails loudly if it did not learn.

    python examples/train_demo.py --epochs 300
"""

import argparse
import time

import numpy as np

import minigrad as mg


def make_spirals(n_per_class, rng, noise=0.2):
    """Two spirals in the plane: points (N, 2) float32 and labels (N,) int64."""
    t = np.sqrt(rng.uniform(0.05, 1, n_per_class)) * 2 * np.pi
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (2 * np.pi)
    points = np.concatenate([arm, -arm]) + rng.normal(0, noise / 10, (2 * n_per_class, 2))
    labels = np.repeat(np.array([0, 1]), n_per_class)
    return points.astype(np.float32), labels


def init_mlp(sizes):
    """Weights (Glorot uniform) and zero biases for an MLP with the given layer sizes."""
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        limit = np.sqrt(6 / (fan_in + fan_out))
        params.append(mg.rand(fan_in, fan_out) * (2 * limit) - limit)
        params.append(mg.zeros(fan_out))
    for p in params:
        p.requires_grad = True
    return params


def forward(params, x):
    """Logits (N, classes) of the MLP: tanh hidden layers, linear output."""
    h = x
    for i in range(0, len(params) - 2, 2):
        h = mg.tanh(h @ params[i] + params[i + 1])
    return h @ params[-2] + params[-1]


def cross_entropy(logits, labels):
    """Mean softmax cross-entropy of logits (N, C) against integer labels (N,)."""
    return -mg.log_softmax(logits, axis=1)[mg.arange(len(labels)), labels].mean()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    mg.manual_seed(args.seed)
    points, labels = make_spirals(500, rng)
    x, y = mg.tensor(points), mg.tensor(labels)
    params = init_mlp([2, 64, 64, 2])
    velocities = [mg.zeros_like(p) for p in params]

    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        loss = cross_entropy(forward(params, x), y)
        loss.backward()
        with mg.no_grad():  # gradient descent with momentum: v = m v - lr g; p = p + v
            for p, v in zip(params, velocities):
                v.data = args.momentum * v.data - args.lr * p.grad.data
                p.data += v.data
                p.grad = None
        if epoch == 1 or epoch % 50 == 0 or epoch == args.epochs:
            with mg.no_grad():
                accuracy = (forward(params, x).argmax(axis=1) == y).numpy().mean()
            print(f"epoch {epoch:4d}   loss {loss.item():.4f}   accuracy {accuracy:.3f}")
    print(f"trained in {time.perf_counter() - start:.1f} s on the CPU")
    if args.epochs >= 300 and accuracy < 0.9:
        raise SystemExit(f"training did not converge: accuracy {accuracy:.3f} < 0.9")
    return accuracy


if __name__ == "__main__":
    main()
