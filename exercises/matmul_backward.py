"""Exercise 3: the backward of a batched matrix product.

``C = A @ B`` with ``A`` of shape ``(..., n, k)`` and ``B`` of shape ``(..., k, m)`` gives ``C``
of shape ``(..., n, m)``: one matrix product per batch index, and the batch axes (everything
before the last two) broadcast as in exercise 2, e.g.
``(2, 1, 3, 4) @ (5, 4, 2) -> (2, 5, 3, 2)``.

Backward, for one pair of matrices, with ``G = d loss / d C`` of ``C``'s shape ``(n, m)``::

    d loss / d A = G @ B^T        (n, m) @ (m, k) -> (n, k), A's shape
    d loss / d B = A^T @ G        (k, n) @ (n, m) -> (k, m), B's shape

(Check it elementwise: ``C[i, j] = sum_p A[i, p] B[p, j]``, so ``A[i, p]`` meets ``G[i, j]``
through ``B[p, j]`` for every ``j``.) Checking the shapes is the quickest way to get the order
and the transposes right.

For batched arrays:

- "transpose" means swapping the *last two* axes only: ``x.swapaxes(-1, -2)``. ``x.T`` reverses
  *every* axis, which is wrong as soon as there is a batch axis;
- ``G @ B^T`` has the broadcast batch shape, ``(2, 5, 3, 4)`` in the example, but ``A`` has
  ``(2, 1, 3, 4)``: sum it down with ``sum_to`` (yours from exercise 2, or
  ``minigrad.autograd.sum_to``, imported below), which sums the leading batch axes that
  broadcasting added and the batch axes of size 1 that it stretched;
- the gradients keep the inputs' dtype: float32 in, float32 out.

Only operands with at least 2 dimensions are asked for (the grader uses no 1-D operand).
minigrad's own ``MatMul`` also takes vectors: a 1-D ``a`` is a ``(1, k)`` row, a 1-D ``b`` a
``(k, 1)`` column, and the added axis is removed again; add it afterwards if you like.

The grader compares the forward with ``np.matmul``, the gradients with those of minigrad's
``mg.matmul`` (and their shapes with the inputs'), and runs ``mg.testing.gradcheck`` in float64.
Grade it with::

    python -m exercises check 3
    pytest exercises/test_matmul_backward.py
"""

import numpy as np  # noqa: F401  (you may need it)

import minigrad as mg
from minigrad.autograd import sum_to  # noqa: F401  (you will need it)


class MatMul(mg.autograd.Function):
    """``a @ b`` for ``a`` of shape ``(..., n, k)`` and ``b`` of shape ``(..., k, m)``, the
    batch axes broadcast. Operands of at least 2 dimensions (no 1-D vectors)."""

    @staticmethod
    def forward(ctx, a, b):
        raise NotImplementedError("exercise: save a and b for backward, return a @ b")

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError("exercise: grad_a = G @ B^T, grad_b = A^T @ G (transpose = "
                                  "swap the last two axes), each summed to its input's shape")


def matmul(a, b):
    """``a @ b`` of two tensors, as one ``MatMul`` op."""
    return MatMul.apply(a, b)
