"""Reference solution of exercises/lstm_cell.py (kept out of the students' folder)."""

import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def lstm_step(x_t, h, c, kernel, recurrent_kernel, bias):
    units = h.shape[1]
    z = x_t @ kernel + h @ recurrent_kernel + bias
    i = sigmoid(z[:, :units])
    f = sigmoid(z[:, units:2 * units])
    g = np.tanh(z[:, 2 * units:3 * units])
    o = sigmoid(z[:, 3 * units:])
    c_new = f * c + i * g
    return o * np.tanh(c_new), c_new


def lstm_forward(x, h0, c0, kernel, recurrent_kernel, bias):
    n, t, _ = x.shape
    units = h0.shape[1]
    outputs = np.empty((n, t, units), dtype=np.result_type(x, h0, c0, kernel))
    h, c = h0, c0
    steps = []
    for s in range(t):
        z = x[:, s] @ kernel + h @ recurrent_kernel + bias
        i = sigmoid(z[:, :units])
        f = sigmoid(z[:, units:2 * units])
        g = np.tanh(z[:, 2 * units:3 * units])
        o = sigmoid(z[:, 3 * units:])
        c_new = f * c + i * g
        tanh_c = np.tanh(c_new)
        steps.append((h, c, i, f, g, o, tanh_c))
        h, c = o * tanh_c, c_new
        outputs[:, s] = h
    return outputs, (x, kernel, recurrent_kernel, steps)


def lstm_backward(d_outputs, cache):
    x, kernel, recurrent_kernel, steps = cache
    d_x = np.zeros_like(x)
    d_kernel = np.zeros_like(kernel)
    d_recurrent = np.zeros_like(recurrent_kernel)
    d_bias = np.zeros(kernel.shape[1], dtype=kernel.dtype)
    dh_next = np.zeros_like(steps[0][0])
    dc_next = np.zeros_like(steps[0][1])
    for s in reversed(range(x.shape[1])):
        h_prev, c_prev, i, f, g, o, tanh_c = steps[s]
        dh = d_outputs[:, s] + dh_next
        dc = dc_next + dh * o * (1 - tanh_c ** 2)
        dz = np.concatenate([dc * g * i * (1 - i),            # i = sigmoid
                             dc * c_prev * f * (1 - f),       # f = sigmoid
                             dc * i * (1 - g ** 2),           # g = tanh
                             dh * tanh_c * o * (1 - o)],      # o = sigmoid
                            axis=1)
        d_x[:, s] = dz @ kernel.T
        d_kernel += x[:, s].T @ dz
        d_recurrent += h_prev.T @ dz
        d_bias += dz.sum(axis=0)
        dh_next = dz @ recurrent_kernel.T
        dc_next = dc * f
    return d_x, dh_next, dc_next, d_kernel, d_recurrent, d_bias
