"""im2col flattens each patch channel first, (c, i, j), rather than in the (i, j, c) order of
the kernel's rows."""
# expect: row 0 must be the patch .* in \(i, j, c\) order

import numpy as np


def im2col(x, kh, kw, stride=1):
    n, h, w, c = x.shape
    oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
    cols = np.empty((n, oh, ow, kh, kw, c), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, :, i, j, :] = x[:, i:i + stride * oh:stride,
                                       j:j + stride * ow:stride, :]
    return cols.transpose(0, 1, 2, 5, 3, 4).reshape(n * oh * ow, kh * kw * c)


def conv2d(x, kernel, bias=None, stride=1):
    kh, kw, c, f = kernel.shape
    n, h, w, _ = x.shape
    oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
    out = im2col(x, kh, kw, stride) @ kernel.reshape(kh * kw * c, f)
    if bias is not None:
        out = out + bias
    return out.reshape(n, oh, ow, f)
