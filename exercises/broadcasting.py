"""Exercise 2: broadcasting in backward: ``sum_to``, then the gradients of ``+`` and ``*``.

NumPy broadcasting lines two shapes up from the right; a missing leading axis counts as size 1,
and an axis of size 1 is stretched to the other operand's size::

    a: (3, 1)      b: (1, 4)      ->  a + b: (3, 4)
    a: (5,)        b: (2, 3, 5)   ->  a * b: (2, 3, 5)
    a: ()          b: (2, 3)      ->  a + b: (2, 3)

In backward, ``grad`` (d loss / d out) has the *output's* shape, but an operand's gradient must
have the *operand's* shape. An element of ``a`` that broadcasting copied to several places of
``out`` was used once per copy, so its gradient is the **sum** over those copies. That is
``sum_to(grad, shape)``:

1. sum over the leading axes that broadcasting added (``grad.ndim - len(shape)`` of them);
2. then sum, keeping the axis (``keepdims=True``), over every axis where ``shape`` has size 1
   and ``grad`` has more;
3. the result has exactly ``shape``, and ``grad``'s dtype. If ``grad`` already has ``shape``,
   return it as it is.

Example: ``sum_to(np.ones((2, 3, 4)), (3, 1))`` sums axis 0 (added), then axis 2 (stretched from
1) keeping it: every element is ``2 * 4 = 8``, shape ``(3, 1)``.

Then write ``Add`` and ``Mul`` as ``mg.autograd.Function`` subclasses (the protocol is in
``minigrad/autograd/function.py``; ``forward`` and ``backward`` see NumPy arrays):

- ``d(a + b)/da = 1``, so ``a``'s gradient is ``sum_to(grad, a.shape)``, and likewise ``b``'s;
- ``d(a * b)/da = b``, so ``a``'s gradient is ``sum_to(grad * b, a.shape)``, and ``b``'s is
  ``sum_to(grad * a, b.shape)``. Save what backward needs with ``ctx.save_for_backward``.

``backward`` returns a tuple ``(grad_a, grad_b)``, each of its operand's shape and dtype.
Use *your* ``sum_to`` (minigrad has one, ``minigrad.autograd.sum_to``: compare afterwards).

The grader compares ``sum_to`` with minigrad's on many random broadcast-compatible shape pairs,
runs ``mg.testing.gradcheck`` in float64 on ``add`` and ``mul`` with broadcast shapes, and checks
that float32 stays float32. Grade it with::

    python -m exercises check 2
    pytest exercises/test_broadcasting.py
"""

import numpy as np  # noqa: F401  (you will need it)

import minigrad as mg


def sum_to(grad, shape):
    """Sum the array ``grad`` down to ``shape``, undoing NumPy broadcasting.

    ``shape`` is a tuple that broadcasts to ``grad.shape``. Returns an array of shape ``shape``
    and ``grad``'s dtype.
    """
    raise NotImplementedError("exercise: sum the leading axes broadcasting added, then the "
                              "size-1 axes with keepdims=True")


class Add(mg.autograd.Function):
    """``a + b`` with broadcasting."""

    @staticmethod
    def forward(ctx, a, b):
        raise NotImplementedError("exercise: remember the operands' shapes, return a + b")

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError("exercise: return (sum_to(grad, a's shape), "
                                  "sum_to(grad, b's shape))")


class Mul(mg.autograd.Function):
    """``a * b`` with broadcasting."""

    @staticmethod
    def forward(ctx, a, b):
        raise NotImplementedError("exercise: save a and b for backward, return a * b")

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError("exercise: return (sum_to(grad * b, a's shape), "
                                  "sum_to(grad * a, b's shape))")


def add(a, b):
    """``a + b`` of two tensors, as one ``Add`` op."""
    return Add.apply(a, b)


def mul(a, b):
    """``a * b`` of two tensors, as one ``Mul`` op."""
    return Mul.apply(a, b)
