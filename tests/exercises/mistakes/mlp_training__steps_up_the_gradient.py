"""Planted mistake: the update adds the velocity instead of subtracting it."""

# expect: one sgd_step \(lr 0\.05\) raised the loss

import numpy as np

import minigrad as mg


def load_data(seed=0):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=seed,
                                                        stratify=y)
    return (x_train, y_train), (x_test, y_test)


def init_params(sizes, seed=0):
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        w = rng.normal(size=(fan_in, fan_out)) * np.sqrt(2.0 / fan_in)  # He initialization
        params.append(mg.tensor(w, dtype="float32", requires_grad=True))
        params.append(mg.zeros(fan_out, requires_grad=True))
    return params


def forward(params, x):
    h = x if isinstance(x, mg.Tensor) else mg.tensor(x)
    n_layers = len(params) // 2
    for k in range(n_layers):
        h = h @ params[2 * k] + params[2 * k + 1]
        if k < n_layers - 1:
            h = mg.relu(h)
    return h


def loss_fn(logits, labels):
    return mg.sparse_categorical_crossentropy(labels, logits, from_logits=True)


def sgd_step(params, velocities, lr=0.1, momentum=0.9):
    for p, v in zip(params, velocities):
        v *= momentum
        v += p.grad.numpy()
        p.data += lr * v
        p.grad = None


def minibatches(n, batch_size, rng):
    order = rng.permutation(n)
    return [order[start:start + batch_size] for start in range(0, n, batch_size)]


def accuracy(params, x, y):
    with mg.no_grad():
        predictions = forward(params, x).numpy().argmax(axis=1)
    return float((predictions == np.asarray(y)).mean())


def train(x, y, hidden=(128,), epochs=20, batch_size=32, lr=0.1, momentum=0.9, seed=0):
    rng = np.random.default_rng(seed)
    params = init_params((x.shape[1], *hidden, int(y.max()) + 1), seed=seed)
    velocities = [np.zeros(p.shape, dtype=np.float32) for p in params]
    for _ in range(epochs):
        for batch in minibatches(len(x), batch_size, rng):
            loss = loss_fn(forward(params, x[batch]), y[batch])
            loss.backward()
            sgd_step(params, velocities, lr=lr, momentum=momentum)
    return params
