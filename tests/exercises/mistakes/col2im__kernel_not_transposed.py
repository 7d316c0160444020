"""grad_x multiplies by the kernel matrix without transposing it, the shapes made to fit
with a reshape."""
# expect: grad_x differs from minigrad's conv2d backward

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
            x[:, i:i + stride * oh:stride, j:j + stride * ow:stride, :] += patches[:, :, :, i, j, :]
    return x


def conv2d_backward(x, kernel, grad_out, stride=1):
    kh, kw, c, f = kernel.shape
    w = kernel.reshape(kh * kw * c, f)
    g = grad_out.reshape(-1, f)
    grad_kernel = (im2col(x, kh, kw, stride).T @ g).reshape(kernel.shape)
    grad_bias = g.sum(axis=0)
    grad_x = col2im((w @ g.T).reshape(-1, kh * kw * c), x.shape, kh, kw, stride)
    return grad_x, grad_kernel, grad_bias
