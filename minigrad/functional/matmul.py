"""Matrix products (batched, with NumPy's broadcasting of the batch dimensions)."""

from ..autograd.broadcast import sum_to
from ..autograd.function import Function
from ._operands import binary_operands


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        # Treat a vector as a 1-row (a) or 1-column (b) matrix, and the gradient likewise.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        # The column first: for vector @ vector the gradient is 0-d, and only after b's axis
        # is back does it have the axis that a's row slices.
        if b.ndim == 1:
            grad = grad[..., None]
        if a.ndim == 1:
            grad = grad[..., None, :]
        grad_a = grad_b = None
        if need_a:  # dL/dA = dL/dC @ B^T, summed over broadcast batch dims
            grad_a = sum_to(grad @ b2.swapaxes(-1, -2), a2.shape).reshape(a.shape)
        if need_b:  # dL/dB = A^T @ dL/dC
            grad_b = sum_to(a2.swapaxes(-1, -2) @ grad, b2.shape).reshape(b.shape)
        return grad_a, grad_b


def matmul(a, b):
    """The matrix product ``a @ b``, as :func:`numpy.matmul`.

    Shapes: (n, k) @ (k, m) -> (n, m); batched (..., n, k) @ (..., k, m) -> (..., n, m) with
    the batch dimensions broadcast; a 1-D operand is a vector ((k,) @ (k, m) -> (m,)).

    >>> mg.ones(2, 3) @ mg.ones(3, 4)
    tensor([[3., 3., 3., 3.],
            [3., 3., 3., 3.]])
    """
    a, b = binary_operands(a, b)
    a_shape, b_shape = a.data.shape, b.data.shape
    if len(a_shape) == 0 or len(b_shape) == 0:
        raise ValueError(f"matmul needs tensors of at least 1 dimension, got shapes {a_shape} "
                         f"and {b_shape}; use * to multiply by a scalar")
    k_a = a_shape[-1]
    k_b = b_shape[0] if len(b_shape) == 1 else b_shape[-2]
    if k_a != k_b:
        raise ValueError(f"matmul: shapes {a_shape} and {b_shape} do not match: the last "
                         f"dimension of the first ({k_a}) must equal the "
                         f"{'first' if len(b_shape) == 1 else 'second-to-last'} dimension of "
                         f"the second ({k_b})")
    batch_a, batch_b = a_shape[:-2], b_shape[:-2]
    for x, y in zip(reversed(batch_a), reversed(batch_b)):
        if x != y and x != 1 and y != 1:
            raise ValueError(f"matmul: the batch dimensions of shapes {a_shape} and {b_shape} "
                             f"({batch_a} and {batch_b}) cannot be broadcast together")
    return MatMul.apply(a, b)
