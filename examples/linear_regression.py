"""Linear regression by gradient descent, from scratch: minigrad tensors and autograd only (no
nn, no optimizer). The fitted weights are checked against the least-squares solution of NumPy's
``np.linalg.lstsq``; the script exits non-zero if they disagree.

    python examples/linear_regression.py --steps 500 --lr 0.1
"""

import argparse

import numpy as np

import minigrad as mg


def make_data(n, rng, true_w=(2.0, -3.4, 0.5), true_b=4.2, noise=0.1):
    """Inputs x (n, d) float32 and noisy targets y (n, 1) of y = x @ w + b + noise."""
    x = rng.normal(0, 1, (n, len(true_w))).astype(np.float32)
    y = x @ np.array(true_w, dtype=np.float32) + true_b + rng.normal(0, noise, n)
    return x, y.reshape(n, 1).astype(np.float32)


def fit(x, y, steps, lr, log_every=100):
    """Gradient descent on the mean squared error; returns the weights (d, 1) and bias (1,)."""
    inputs, targets = mg.tensor(x), mg.tensor(y)
    w = mg.zeros(x.shape[1], 1, requires_grad=True)
    b = mg.zeros(1, requires_grad=True)
    for step in range(1, steps + 1):
        loss = ((inputs @ w + b - targets) ** 2).mean()   # forward: the graph is recorded
        loss.backward()                                    # fills w.grad and b.grad
        with mg.no_grad():                                 # the update is not part of the graph
            for p in (w, b):
                p.data -= lr * p.grad.data
                p.grad = None
        if step == 1 or step % log_every == 0 or step == steps:
            print(f"step {step:5d}   mse {loss.item():.6f}")
    return w.numpy(), b.numpy()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--steps", "--epochs", dest="steps", type=int, default=500,
                        help="gradient-descent steps on the whole data (full-batch epochs)")
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tolerance", type=float, default=1e-4,
                        help="largest allowed |gradient descent - least squares| per coefficient")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    mg.manual_seed(args.seed)
    x, y = make_data(args.samples, rng)
    w, b = fit(x, y, args.steps, args.lr)

    # The exact least-squares solution in float64: append a column of ones for the bias.
    design = np.hstack([x, np.ones((len(x), 1))]).astype(np.float64)
    solution, *_ = np.linalg.lstsq(design, y.astype(np.float64), rcond=None)
    ours = np.concatenate([w.ravel(), b.ravel()])
    error = float(np.max(np.abs(ours - solution.ravel())))
    print(f"gradient descent: w = {np.round(w.ravel(), 4)}, b = {b.item():.4f}")
    print(f"least squares:    w = {np.round(solution.ravel()[:-1], 4)}, "
          f"b = {solution.ravel()[-1]:.4f}")
    print(f"largest difference {error:.2e} (tolerance {args.tolerance:g})")
    if not error <= args.tolerance:
        raise SystemExit(f"gradient descent did not reach the least-squares solution: "
                         f"largest difference {error:.2e} > {args.tolerance:g}")
    return error


if __name__ == "__main__":
    main()
