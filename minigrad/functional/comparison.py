"""Comparisons (==, !=, <, <=, >, >=): boolean tensors, outside the graph."""

from ..autograd.tensor import Tensor
from ._operands import binary_operands, check_broadcastable


def _compare(a, b, op_name, compare):
    a, b = binary_operands(a, b)
    if a._backend is not b._backend:
        raise RuntimeError(f"{op_name}: tensors on {a.device!r} and {b.device!r}; move one with "
                           ".to(device)")
    check_broadcastable(op_name, a.data.shape, b.data.shape)
    return Tensor._make(compare(a.data, b.data), a._backend)


def eq(a, b):
    """``a == b`` elementwise (bool tensor)."""
    return _compare(a, b, "eq", lambda x, y: x == y)


def ne(a, b):
    """``a != b`` elementwise (bool tensor)."""
    return _compare(a, b, "ne", lambda x, y: x != y)


def lt(a, b):
    """``a < b`` elementwise (bool tensor)."""
    return _compare(a, b, "lt", lambda x, y: x < y)


def le(a, b):
    """``a <= b`` elementwise (bool tensor)."""
    return _compare(a, b, "le", lambda x, y: x <= y)


def gt(a, b):
    """``a > b`` elementwise (bool tensor)."""
    return _compare(a, b, "gt", lambda x, y: x > y)


def ge(a, b):
    """``a >= b`` elementwise (bool tensor)."""
    return _compare(a, b, "ge", lambda x, y: x >= y)
