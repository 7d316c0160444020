"""col2im ignores the stride: patch (oh, ow) is added at pixel (oh, ow) as if the stride
were 1, so stride 2 puts the gradients in the wrong pixels."""
# expect: col2im with stride 2: patch \(oh, ow\) starts at pixel

import numpy as np

import minigrad as mg


def im2col(x, kh, kw, stride=1):
    n, h, w, c = x.shape
    out_hw = ((h - kh) // stride + 1, (w - kw) // stride + 1)
    backend = mg.backends.get_backend("cpu")
    return backend.im2col(np.asarray(x), (kh, kw), (stride, stride), (1, 1), ((0, 0), (0, 0)),
                          out_hw)


def col2im(cols, x_shape, kh, kw, stride=1):
    n, h, w, c = x_shape
    oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
    patches = cols.reshape(n, oh, ow, kh, kw, c)
    x = np.zeros(x_shape, dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            x[:, i:i + oh, j:j + ow, :] += patches[:, :, :, i, j, :]
    return x


def conv2d_backward(x, kernel, grad_out, stride=1):
    kh, kw, c, f = kernel.shape
    w = kernel.reshape(kh * kw * c, f)
    g = grad_out.reshape(-1, f)
    grad_kernel = (im2col(x, kh, kw, stride).T @ g).reshape(kernel.shape)
    grad_bias = g.sum(axis=0)
    grad_x = col2im(g @ w.T, x.shape, kh, kw, stride)
    return grad_x, grad_kernel, grad_bias
