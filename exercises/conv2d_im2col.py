"""Exercise 7, part 1: a convolution layer's forward pass with im2col, in NumPy.

A 2-D convolution slides a ``(kh, kw, C, F)`` kernel over ``(N, H, W, C)`` channels-last images
(Keras's layout). Looping over every output pixel is slow in Python; *im2col* instead copies
every ``kh x kw x C`` patch into one row of a matrix, so that the whole convolution becomes one
matrix product with the kernel reshaped to ``(kh * kw * C, F)``.

1. ``im2col(x, kh, kw, stride)``: return the patches as a 2-D array of shape
   ``(N * OH * OW, kh * kw * C)``, rows in the order (n, oh, ow) and each row in the order
   (i, j, c) of ``x[n, oh*stride + i, ow*stride + j, c]``, where
   ``OH = (H - kh) // stride + 1`` (and ``OW`` likewise; no padding).
2. ``conv2d(x, kernel, bias=None, stride=1)``: the convolution (cross-correlation, as in every
   deep learning library) of shape ``(N, OH, OW, F)``, using ``im2col`` and one matrix product;
   add ``bias`` (shape ``(F,)``) when given.

Use only NumPy (loops over ``kh`` and ``kw`` are fine; loops over pixels are not needed).
Grade it with::

    python -m exercises check 7        # or: pytest exercises/test_conv2d_im2col.py
"""

import numpy as np  # noqa: F401  (you will need it)


def im2col(x, kh, kw, stride=1):
    raise NotImplementedError("exercise: copy every kh x kw x C patch of x into a row")


def conv2d(x, kernel, bias=None, stride=1):
    raise NotImplementedError("exercise: im2col, then one matrix product with the kernel")
