"""Exercise 7, part 2: the backward of a convolution, with col2im, in NumPy.

In part 1 (``exercises/conv2d_im2col.py``) the convolution of ``(N, H, W, C)`` channels-last
images ``x`` with a ``(kh, kw, C, F)`` kernel became one matrix product::

    cols = im2col(x, kh, kw, stride)              # (N*OH*OW, kh*kw*C)
    W    = kernel.reshape(kh * kw * C, F)         # (kh*kw*C, F)
    out  = (cols @ W + bias).reshape(N, OH, OW, F)

with ``OH = (H - kh) // stride + 1`` (and ``OW`` likewise; no padding). Its backward is the
backward of a matrix product, plus one new piece. With ``G = grad_out.reshape(-1, F)`` (the
gradient of the loss with respect to ``out``, one row per output pixel):

- ``grad_kernel = (cols.T @ G).reshape(kh, kw, C, F)``;
- ``grad_bias = G.sum(axis=0)`` -- each bias value was added to every output pixel;
- ``grad_cols = G @ W.T`` is the gradient with respect to ``cols``, shape (N*OH*OW, kh*kw*C).
  But ``cols`` is not an input: it is made of copies of pixels of ``x``, and a pixel that was
  copied into several patches receives the sum of the gradients of all its copies.
  ``grad_x = col2im(grad_cols, x.shape, kh, kw, stride)``.

1. ``col2im(cols, x_shape, kh, kw, stride=1)``: the adjoint of ``im2col``. Start from zeros of
   shape ``x_shape`` = (N, H, W, C) and ``cols``'s dtype, and add every value of ``cols`` back
   to the pixel ``im2col`` read it from: row ``(n, oh, ow)``, column ``(i, j, c)`` goes to
   ``x[n, oh*stride + i, ow*stride + j, c]``. Overlapping patches ADD UP (``+=``, never ``=``);
   pixels that no patch covers (the last rows when ``(H - kh) % stride != 0``) stay 0.
   "Adjoint" means that for every ``x`` and ``y`` of the right shapes::

       np.sum(im2col(x, kh, kw, stride) * y) == np.sum(x * col2im(y, x.shape, kh, kw, stride))

2. ``conv2d_backward(x, kernel, grad_out, stride=1)``: return ``(grad_x, grad_kernel,
   grad_bias)`` of shapes ``x.shape``, ``kernel.shape`` and ``(F,)``, in the inputs' dtype.

Hints: reshape ``cols`` to ``(N, OH, OW, kh, kw, C)`` first; then a loop over ``i`` and ``j``
(the kh * kw offsets in the kernel) adding a strided slice of ``x`` at a time does it, exactly
as im2col reads one slice at a time. A working ``im2col`` is given below (it calls minigrad's
own, so that this part does not depend on your part 1).

Grade it with::

    python -m exercises check 7
    pytest exercises/test_col2im.py
"""

import numpy as np

import minigrad as mg


def im2col(x, kh, kw, stride=1):
    """The patches of ``x`` (N, H, W, C) as rows, (N*OH*OW, kh*kw*C) (given: the answer to
    part 1, computed by minigrad's own kernel)."""
    n, h, w, c = x.shape
    out_hw = ((h - kh) // stride + 1, (w - kw) // stride + 1)
    backend = mg.backends.get_backend("cpu")
    return backend.im2col(np.asarray(x), (kh, kw), (stride, stride), (1, 1), ((0, 0), (0, 0)),
                          out_hw)


def col2im(cols, x_shape, kh, kw, stride=1):
    """Add the rows of ``cols`` (N*OH*OW, kh*kw*C) back into an (N, H, W, C) array of zeros
    of ``x_shape``: the adjoint of :func:`im2col`."""
    raise NotImplementedError("exercise: add every patch back to the pixels it was read from "
                              "(overlaps add up)")


def conv2d_backward(x, kernel, grad_out, stride=1):
    """``(grad_x, grad_kernel, grad_bias)`` of ``out = conv2d(x, kernel, bias, stride)`` given
    ``grad_out`` = d(loss)/d(out), of shape (N, OH, OW, F)."""
    raise NotImplementedError("exercise: grad_kernel = cols.T @ G, grad_bias = G summed over "
                              "the pixels, grad_x = col2im(G @ W.T)")
