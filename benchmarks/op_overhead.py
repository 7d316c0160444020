"""(b) Per-op overhead: a chain of 100 small elementwise ops on 16x16 tensors, forward and
backward. The arrays are tiny, so this measures the framework's own cost per op (on a GPU: that
and a kernel launch per op)."""

import numpy as np

from .harness import Result, median_time, on, synchronizers

CHAIN_LENGTH = 100
SHAPE = (16, 16)
TARGET_RATIO = 3.0


def _chain(x, w, ops):
    h = x
    for i in range(CHAIN_LENGTH):
        h = ops[i % len(ops)](h, w)
    return h.sum()


def minigrad_step(x_array, w_array, device="cpu"):
    import minigrad as mg

    x = mg.tensor(x_array, requires_grad=True, device=device)
    w = mg.tensor(w_array, requires_grad=True, device=device)
    ops = [lambda h, w: h * w, lambda h, w: h + w, lambda h, w: mg.tanh(h),
           lambda h, w: h - w]

    def step():
        x.grad = w.grad = None
        _chain(x, w, ops).backward()

    return step


def torch_step(x_array, w_array, device="cpu"):
    import torch

    x = torch.tensor(x_array, requires_grad=True, device=device)
    w = torch.tensor(w_array, requires_grad=True, device=device)
    ops = [lambda h, w: h * w, lambda h, w: h + w, lambda h, w: torch.tanh(h),
           lambda h, w: h - w]

    def step():
        x.grad = w.grad = None
        _chain(x, w, ops).backward()

    return step


def run(repeats=200, device="cpu"):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(SHAPE).astype(np.float32)
    w = (rng.standard_normal(SHAPE) * 0.1).astype(np.float32)
    ours_sync, torch_sync = synchronizers(device)
    return Result(f"(b) {CHAIN_LENGTH} elementwise ops on 16x16, fwd+bwd{on(device)}",
                  median_time(minigrad_step(x, w, device), 20, repeats, ours_sync),
                  median_time(torch_step(x, w, device), 20, repeats, torch_sync), TARGET_RATIO)
