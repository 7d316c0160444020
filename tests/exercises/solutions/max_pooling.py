"""Reference solution of exercises/max_pooling.py (kept out of the students' folder)."""

import numpy as np


def max_pool2d(x, size, stride=None):
    stride = size if stride is None else stride
    n, height, width, channels = x.shape
    out_h, out_w = (height - size) // stride + 1, (width - size) // stride + 1
    out = np.empty((n, out_h, out_w, channels), dtype=x.dtype)
    argmax = np.zeros((n, out_h, out_w, channels), dtype=np.int64)
    for i in range(size):
        for j in range(size):
            # cell (i, j) of every window at once: rows i, i + stride, ...
            cells = x[:, i:i + stride * (out_h - 1) + 1:stride,
                      j:j + stride * (out_w - 1) + 1:stride, :]
            if i == 0 and j == 0:
                out[...] = cells
                continue
            better = cells > out  # strictly greater: the first maximum keeps the tie
            out[better] = cells[better]
            argmax[better] = i * size + j
    return out, argmax


def max_pool2d_backward(grad_out, argmax, x_shape, size, stride=None):
    stride = size if stride is None else stride
    _, out_h, out_w, _ = grad_out.shape
    grad_x = np.zeros(x_shape, dtype=grad_out.dtype)
    for i in range(size):
        for j in range(size):
            won = np.where(argmax == i * size + j, grad_out, 0)
            # += adds the windows that overlap: each cell gets the sum of what it won
            grad_x[:, i:i + stride * (out_h - 1) + 1:stride,
                   j:j + stride * (out_w - 1) + 1:stride, :] += won
    return grad_x
