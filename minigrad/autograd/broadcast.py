"""Undoing broadcasting in backward: the one helper every broadcasting op uses."""


def sum_to(grad, shape):
    """Sum ``grad`` down to ``shape``, undoing NumPy broadcasting.

    If ``x`` of shape ``shape`` was broadcast to ``grad.shape`` in forward, each element of
    ``x`` was used once per copy, so its gradient is the sum over the copies: over the leading
    axes broadcasting added, and over the axes where ``x`` had size 1.

    >>> import numpy as np
    >>> sum_to(np.ones((2, 3)), (1, 3))
    array([[2., 2., 2.]])
    """
    if grad.shape == shape:
        return grad
    shape = tuple(shape)
    lead = grad.ndim - len(shape)
    if lead < 0 or any(size not in (1, grad.shape[lead + i]) for i, size in enumerate(shape)):
        raise ValueError(f"cannot sum a gradient of shape {grad.shape} to shape {shape}: "
                         "they are not broadcast-compatible")
    axes = tuple(range(lead)) + tuple(
        lead + i for i, size in enumerate(shape) if size == 1 and grad.shape[lead + i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if lead:
        grad = grad.reshape(shape)
    return grad
