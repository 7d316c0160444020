"""The affine map of a dense layer, ``x @ kernel + bias``, as one op (PyTorch's ``addmm``):
the bias is added into the product's fresh output instead of making a second array."""

from ..autograd.function import Function
from ._operands import binary_operands
from .matmul import matmul


class Linear(Function):
    @staticmethod
    def forward(ctx, x, kernel, bias):
        ctx.save_for_backward(x, kernel)
        out = x @ kernel
        out += bias  # in place: out is ours, just made by the product
        return out

    @staticmethod
    def backward(ctx, grad):
        x, kernel = ctx.saved
        need_x, need_kernel, need_bias = ctx.needs_input_grad
        # Leading (batch) axes of x are flattened, as for a matrix product of (N, in) @ (in, out).
        grad_2d = grad.reshape(-1, grad.shape[-1])
        grad_x = (grad @ kernel.T) if need_x else None
        grad_kernel = (x.reshape(-1, x.shape[-1]).T @ grad_2d) if need_kernel else None
        grad_bias = grad_2d.sum(axis=0) if need_bias else None
        return grad_x, grad_kernel, grad_bias


def linear(x, kernel, bias=None):
    """``x @ kernel + bias`` in one op. Shapes: x (..., in), kernel (in, out), bias (out,);
    output (..., out). Without a bias it is :func:`matmul`.

    >>> mg.linear(mg.ones(2, 3), mg.ones(3, 4), mg.zeros(4)).shape
    (2, 4)
    """
    if bias is None:
        return matmul(x, kernel)
    x, kernel = binary_operands(x, kernel)
    if x.ndim < 1 or kernel.ndim != 2 or x.shape[-1] != kernel.shape[0]:
        raise ValueError(f"linear: x of shape {x.shape} does not fit a kernel of shape "
                         f"{kernel.shape}: x's last axis must equal the kernel's first")
    if bias.shape != (kernel.shape[1],):
        raise ValueError(f"linear: bias of shape {bias.shape} does not fit a kernel of shape "
                         f"{kernel.shape}; expected ({kernel.shape[1]},)")
    if bias.dtype != x.dtype or kernel.dtype != x.dtype:
        return matmul(x, kernel) + bias  # mixed dtypes: let the ops promote
    return Linear.apply(x, kernel, bias)
