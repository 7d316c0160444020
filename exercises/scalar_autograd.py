"""Exercise 1: a scalar autograd engine, in the spirit of micrograd.

A ``Value`` holds one Python float, ``data``, and after ``backward()`` its ``grad``: the
derivative of the final output with respect to it. Every operation returns a new ``Value`` that
remembers its inputs (``_prev``) and a closure ``_backward`` that, given ``out.grad``, adds each
input's share to that input's ``grad`` (the chain rule, one node at a time)::

    out = a + b        a.grad += out.grad;  b.grad += out.grad
    out = a * b        a.grad += b.data * out.grad;  b.grad += a.data * out.grad
    out = a ** n       a.grad += n * a.data ** (n - 1) * out.grad   (n a plain number)
    out = a.tanh()     a.grad += (1 - out.data ** 2) * out.grad
    out = a.exp()      a.grad += out.data * out.grad

Why ``+=`` and not ``=``: a value used twice (``a * a``, or ``x`` in ``x * y + x``) receives a
contribution from each use, and its gradient is their sum.

``backward()`` on the output:

1. orders the graph topologically: every node after all of the nodes that feed it;
2. sets the output's ``grad`` to ``1.0`` (d out / d out);
3. calls each node's ``_backward`` in *reverse* topological order, so a node's ``grad`` is
   complete (every use has contributed) before it is passed on to its inputs.

Build the order **without recursion** (an explicit stack, a loop): a chain of 5000 additions is
5000 nested calls deep for a recursive depth-first search, past Python's default recursion limit
(1000), and the grader builds one. Each node must be visited once, even when it is reachable by
several paths.

Plain numbers work on either side: ``a + 1``, ``1 + a`` (``__radd__``), ``2 * a``
(``__rmul__``), ``1 - a`` (``__rsub__``). Wrap the number in a ``Value`` first. ``a - b`` can be
written as ``a + (-b)`` and ``-a`` as ``a * -1``; division is given to you, as ``a * b ** -1``.

The grader builds random expressions from these operations twice, once with your ``Value`` and
once with minigrad's float64 scalar tensors, and compares the result and every leaf's gradient.
Grade it with::

    python -m exercises check 1
    pytest exercises/test_scalar_autograd.py
"""

import math  # noqa: F401  (you will need it: math.tanh, math.exp)


class Value:
    """A scalar in a computation graph: ``data`` (float), ``grad`` (float, 0.0 until
    ``backward()`` fills it), the inputs that made it (``_prev``) and its ``_backward``."""

    def __init__(self, data, _children=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._backward = lambda: None  # adds this node's share to its inputs' grads
        self._prev = tuple(_children)
        self._op = _op                 # for printing: "+", "*", "tanh", ...

    def __repr__(self):
        return f"Value(data={self.data!r}, grad={self.grad!r})"

    # -- the operations -----------------------------------------------------------------------

    def __add__(self, other):
        """``self + other``; ``other`` is a Value or a plain number."""
        raise NotImplementedError("exercise: out = Value(self.data + other.data, (self, other), "
                                  "'+'), with an out._backward that adds out.grad to both")

    def __radd__(self, other):
        """``other + self`` where ``other`` is a plain number."""
        raise NotImplementedError("exercise: addition commutes; reuse __add__")

    def __mul__(self, other):
        """``self * other``; ``other`` is a Value or a plain number."""
        raise NotImplementedError("exercise: d(a*b)/da = b and d(a*b)/db = a")

    def __rmul__(self, other):
        """``other * self`` where ``other`` is a plain number."""
        raise NotImplementedError("exercise: multiplication commutes; reuse __mul__")

    def __neg__(self):
        """``-self``."""
        raise NotImplementedError("exercise: -a is a * -1")

    def __sub__(self, other):
        """``self - other``."""
        raise NotImplementedError("exercise: a - b is a + (-b)")

    def __rsub__(self, other):
        """``other - self`` where ``other`` is a plain number."""
        raise NotImplementedError("exercise: other - self is other + (-self)")

    def __pow__(self, n):
        """``self ** n`` for a plain number ``n`` (int or float), not a Value."""
        raise NotImplementedError("exercise: d(a**n)/da = n * a**(n - 1)")

    def __truediv__(self, other):
        """``self / other`` (given: it is built from ``*`` and ``**``)."""
        return self * (other if isinstance(other, Value) else Value(other)) ** -1

    def __rtruediv__(self, other):
        """``other / self`` (given)."""
        return Value(other) * self ** -1

    def tanh(self):
        """``tanh(self)``."""
        raise NotImplementedError("exercise: t = math.tanh(x); d tanh(x)/dx = 1 - t**2")

    def exp(self):
        """``exp(self)``."""
        raise NotImplementedError("exercise: d exp(x)/dx = exp(x), which is out.data")

    # -- backpropagation ----------------------------------------------------------------------

    def backward(self):
        """Fill ``grad`` of every Value this one depends on with d(self)/d(that value)."""
        raise NotImplementedError("exercise: order the graph topologically with an explicit "
                                  "stack (no recursion), set self.grad = 1.0, then call each "
                                  "node's _backward in reverse order")
