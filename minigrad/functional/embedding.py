"""Embedding lookup: rows of a table picked by integer ids; the backward adds each gradient row
back into the row it came from (a row scatter-add, repeated ids added every time)."""


from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ._operands import array_beside, value_range


class Embedding(Function):
    @staticmethod
    def forward(ctx, weights, ids):
        ctx.ids, ctx.table_shape = ids, weights.shape
        return ctx.xp.take(weights, ids, axis=0)        # (..., D): row ids[...] of the table

    @staticmethod
    def backward(ctx, grad):
        rows, width = ctx.table_shape
        grad_weights = ctx.xp.zeros((rows, width), dtype=grad.dtype)
        # Numba (CPU) or CUDA kernel: grad_weights[ids[k]] += grad[k] for every k.
        ctx.backend.scatter_add(grad_weights, ctx.ids.reshape(-1), grad.reshape(-1, width))
        return grad_weights


def embedding(ids, weights):
    """Look up rows of ``weights``: ``output[..., :] = weights[ids[...], :]``.

    Args:
        ids: integer tensor (or array, or list) of any shape, e.g. (N, T) token ids; every id
            must be in ``[0, V)``.
        weights: (V, D) tensor, the table.

    Returns:
        (\\*ids.shape, D) tensor of ``weights``' dtype. The gradient flows to ``weights`` only:
        row ``v`` receives the sum of the output gradients at every position where ``ids == v``.

    Raises:
        TypeError: if ``ids`` is not an integer array (floats are not rounded silently).
        IndexError: if an id is outside ``[0, V)``, naming the range and the ids found.

    >>> table = mg.randn(10, 4)
    >>> mg.functional.embedding(mg.tensor([[1, 2, 1]]), table).shape
    (1, 3, 4)
    """
    if not isinstance(weights, Tensor) or weights.ndim != 2:
        shape = weights.shape if hasattr(weights, "shape") else type(weights).__name__
        raise ValueError(f"embedding: weights must be a (V, D) tensor, got {shape}")
    ids = array_beside(ids, weights, "embedding", "the ids")
    if ids.dtype.kind not in "iu":
        raise TypeError(f"embedding expects integer token ids, got dtype {ids.dtype}; convert "
                        "them with .astype('int64')")
    rows = weights.shape[0]
    if ids.size:
        low, high = value_range(ids, weights._backend)
        if low < 0 or high >= rows:
            raise IndexError(f"embedding: token ids must be in [0, {rows}) for a table of "
                             f"{rows} rows, got ids from {low} to {high}")
    return Embedding.apply(weights, ids=ids)
