"""A small deterministic problem that both minigrad and PyTorch can run: a two-layer tanh
network (weights of four different shapes) fitted to fixed data by mean squared error. Its
gradients depend on the current weights, so an optimizer's whole history shows in the
trajectory."""

import numpy as np

import minigrad as mg

SHAPES = [(5, 4), (4,), (4, 2), (2,)]
STEPS = 50


def problem_arrays(seed=0):
    """(x, y, initial weights) as float64 NumPy arrays."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(8, 5))
    y = rng.normal(size=(8, 2))
    weights = [rng.normal(size=shape) * 0.5 for shape in SHAPES]
    return x, y, weights


def loss_fn(lib, x, w1, b1, w2, b2, y):
    """The loss, written once for both libraries (``lib`` is mg or torch)."""
    hidden = lib.tanh(x @ w1 + b1)
    return ((hidden @ w2 + b2 - y) ** 2).mean()


def make_params(dtype="float64", device="cpu", seed=0):
    _, _, weights = problem_arrays(seed)
    return [mg.nn.Parameter(mg.tensor(w, dtype=dtype, device=device)) for w in weights]


def compute_grads(params, dtype="float64", device="cpu", seed=0):
    """Fill ``p.grad`` of the minigrad parameters from the problem's loss."""
    x, y, _ = problem_arrays(seed)
    x, y = (mg.tensor(a, dtype=dtype, device=device) for a in (x, y))
    for p in params:
        p.grad = None
    loss = loss_fn(mg, x, *params, y)
    loss.backward()
    return loss.item()


def run_minigrad(make_optimizer, steps=STEPS, dtype="float64", device="cpu", after_step=None,
                 params=None, optimizer=None):
    """Run ``steps`` steps; returns (trajectory: list of per-step lists of NumPy weights,
    params, optimizer). ``after_step(optimizer, step, loss)`` runs after each step (schedules)."""
    params = make_params(dtype, device) if params is None else params
    optimizer = make_optimizer(params) if optimizer is None else optimizer
    trajectory = []
    for step in range(steps):
        loss = compute_grads(params, dtype, device)
        optimizer.step()
        if after_step is not None:
            after_step(optimizer, step, loss)
        trajectory.append([p.numpy().copy() for p in params])
    return trajectory, params, optimizer


def run_torch(torch, make_optimizer, steps=STEPS, after_step=None, before_step=None, seed=0):
    """The same run with PyTorch (float64). ``before_step(params)`` runs between backward and
    the optimizer's step (gradient clipping)."""
    x, y, weights = problem_arrays(seed)
    x, y = (torch.tensor(a) for a in (x, y))
    params = [torch.tensor(w, requires_grad=True) for w in weights]
    optimizer = make_optimizer(params)
    trajectory = []
    for step in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(torch, x, *params, y)
        loss.backward()
        if before_step is not None:
            before_step(params)
        optimizer.step()
        if after_step is not None:
            after_step(optimizer, step, loss.item())
        trajectory.append([p.detach().numpy().copy() for p in params])
    return trajectory, params, optimizer


def max_difference(trajectory, expected):
    """The largest absolute difference between two trajectories, over every step and weight."""
    assert len(trajectory) == len(expected)
    return max(float(np.max(np.abs(a - b))) for step, other in zip(trajectory, expected)
               for a, b in zip(step, other))
