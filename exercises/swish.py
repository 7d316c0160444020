"""Exercise 6: the backward pass of an activation function.

Swish (also called SiLU) is ``swish(x) = x * sigmoid(x)``. Write it as one op, a subclass of
``mg.autograd.Function`` with a ``forward`` and a ``backward`` on NumPy arrays (see
``minigrad/autograd/function.py`` for the protocol, and ``Sigmoid`` in
``minigrad/functional/`` for an example).

- ``forward(ctx, x)`` returns ``x * sigmoid(x)``, of ``x``'s shape and dtype; save what
  ``backward`` needs with ``ctx.save_for_backward(...)``.
- ``backward(ctx, grad)`` returns ``d(loss)/d(x) = grad * d(swish)/dx``. Work out the derivative
  on paper first: it can be written with ``sigmoid(x)`` and ``swish(x)`` only.

Grade it with::

    python -m exercises check 6        # or: pytest exercises/test_swish.py
"""

import minigrad as mg


class Swish(mg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        raise NotImplementedError("exercise: compute x * sigmoid(x) and save what backward needs")

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError("exercise: return grad * d(swish)/dx")


def swish(x):
    """``x * sigmoid(x)`` of a tensor, as one op."""
    return Swish.apply(x)
