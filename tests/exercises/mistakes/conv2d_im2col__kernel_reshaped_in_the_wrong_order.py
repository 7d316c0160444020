"""The kernel reshaped as if it were PyTorch's (F, C, kh, kw) weight: kernel.reshape(F, -1).T
has the right shape but mixes up which number belongs to which tap and filter."""
# expect: the values differ from minigrad.s. Is the kernel reshaped

import numpy as np


def im2col(x, kh, kw, stride=1):
    n, h, w, c = x.shape
    oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
    cols = np.empty((n, oh, ow, kh, kw, c), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, :, i, j, :] = x[:, i:i + stride * oh:stride,
                                       j:j + stride * ow:stride, :]
    return cols.reshape(n * oh * ow, kh * kw * c)


def conv2d(x, kernel, bias=None, stride=1):
    kh, kw, c, f = kernel.shape
    n, h, w, _ = x.shape
    oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
    out = im2col(x, kh, kw, stride) @ kernel.reshape(f, kh * kw * c).T
    if bias is not None:
        out = out + bias
    return out.reshape(n, oh, ow, f)
