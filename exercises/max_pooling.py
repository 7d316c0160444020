"""Exercise 8: max pooling with argmax, forward and backward, in NumPy.

Max pooling keeps the largest value of each ``size x size`` window of channels-last images
``x`` of shape ``(N, H, W, C)``; the window moves by ``stride`` cells (``stride=None`` means
``stride = size``: windows that tile the image). There is no padding here: windows that do not
fit in the image are dropped (Keras's ``padding="valid"``), so the output is ``(N, OH, OW, C)``
with::

    OH = (H - size) // stride + 1          OW = (W - size) // stride + 1
    out[n, oh, ow, c] = max over i, j in [0, size) of x[n, oh*stride + i, ow*stride + j, c]

Each channel is pooled on its own.

1. ``max_pool2d(x, size, stride=None) -> (out, argmax)``: ``out`` has ``x``'s dtype;
   ``argmax`` is an integer array of ``out``'s shape that says which cell of its window won:
   ``argmax[n, oh, ow, c] = i * size + j`` for the winner at ``(oh*stride + i, ow*stride + j)``.
   **Ties**: when several cells of a window hold the maximum, the *first* in row-major window
   order (smallest ``i * size + j``) wins, as in minigrad and PyTorch. Compare with ``>``, not
   ``>=``, when a later cell challenges the current best.
2. ``max_pool2d_backward(grad_out, argmax, x_shape, size, stride=None) -> grad_x``: the max is
   its winner, so d out / d winner = 1 and every other cell of the window gets 0. Send each
   ``grad_out[n, oh, ow, c]`` to the winning cell of its window. When windows overlap
   (``stride < size``) one cell can win several windows: its gradient is the **sum** of theirs
   (use ``+=``, and beware that ``a[index_array] += v`` with a repeated index adds only once;
   ``np.add.at`` or a loop over ``(i, j)`` with slices do add). ``grad_x`` has shape
   ``x_shape`` and ``grad_out``'s dtype; cells that win nothing (or that no window covers) are 0.

Hint: loop over the ``size * size`` cells ``(i, j)`` of a window, not over pixels. Cell
``(i, j)`` of every window at once is the strided slice
``x[:, i : i + stride*(OH-1) + 1 : stride, j : j + stride*(OW-1) + 1 : stride, :]``, of shape
``(N, OH, OW, C)``.

minigrad's own version is ``mg.max_pool2d(x, pool_size, strides)`` (``MaxPool2D`` in
``minigrad/functional/pooling.py``; its kernels in ``minigrad/backends/cpu_kernels/pooling.py``
and ``minigrad/backends/xp_kernels.py``). Grade it with::

    python -m exercises check 8
    pytest exercises/test_max_pooling.py
"""

import numpy as np  # noqa: F401  (you will need it)


def max_pool2d(x, size, stride=None):
    """Max pooling of ``x`` (N, H, W, C): ``(out, argmax)``, both (N, OH, OW, C)."""
    raise NotImplementedError("exercise: for each cell (i, j) of the window, keep the values "
                              "that beat the best so far and remember i * size + j")


def max_pool2d_backward(grad_out, argmax, x_shape, size, stride=None):
    """d(loss)/d(x) of shape ``x_shape`` from ``grad_out`` (N, OH, OW, C) and ``argmax``."""
    raise NotImplementedError("exercise: add each grad_out value to the cell that won its "
                              "window (argmax), overlapping windows adding up")
