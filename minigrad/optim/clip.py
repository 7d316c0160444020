"""Gradient clipping: ``clip_grad_norm_`` and ``clip_grad_value_`` (PyTorch's functions), and the
two helpers that the optimizers' ``clipnorm=`` / ``global_clipnorm=`` options share with them."""

import math

from ..autograd.tensor import Tensor


def total_norm(grads, norm_type=2.0):
    """The ``norm_type``-norm of all the arrays in ``grads`` taken together, as a Python float
    (``inf``: the largest absolute value)."""
    if not grads:
        return 0.0
    if math.isinf(norm_type):
        return max(float(abs(g).max()) if g.size else 0.0 for g in grads)
    # ||(g_1, ..., g_n)||_p = (sum_i sum_j |g_ij|^p)^(1/p)
    total = sum(float((abs(g) ** norm_type).sum()) for g in grads)
    return total ** (1.0 / norm_type)


def norm_scale(norm, max_norm):
    """The factor that brings gradients of norm ``norm`` down to ``max_norm`` (1.0 if they are
    already within it), as PyTorch computes it: ``min(1, max_norm / (norm + 1e-6))``."""
    return min(1.0, max_norm / (norm + 1e-6))


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale the gradients of ``parameters`` in place so that their norm, taken over all of
    them together, is at most ``max_norm`` (as ``torch.nn.utils.clip_grad_norm_``).

    Args:
        parameters: an iterable of parameters (or one); those with ``.grad`` None are skipped.
        max_norm: the largest norm allowed, > 0.
        norm_type: the p of the p-norm (2.0, or ``float("inf")`` for the largest absolute
            value).
        error_if_nonfinite: raise ``RuntimeError`` if the norm is nan or inf.

    Returns:
        The total norm of the gradients before clipping, a Python float.

    >>> w = mg.nn.Parameter(mg.zeros(2))
    >>> w.grad = mg.tensor([3.0, 4.0])
    >>> mg.optim.clip_grad_norm_([w], max_norm=1.0)
    5.0
    >>> w.grad.numpy().round(4)            # 1e-6 is added to the norm, as in PyTorch
    array([0.6, 0.8], dtype=float32)
    """
    max_norm = float(max_norm)
    if not max_norm > 0:
        raise ValueError(f"clip_grad_norm_ expected max_norm > 0, got {max_norm}")
    grads = [p.grad.data for p in _with_grads(parameters, "clip_grad_norm_")]
    norm = total_norm(grads, float(norm_type))
    if error_if_nonfinite and not math.isfinite(norm):
        raise RuntimeError(f"clip_grad_norm_: the total norm of the gradients is {norm}")
    scale = norm_scale(norm, max_norm)
    if scale < 1.0:
        for g in grads:
            g *= scale
    return norm


def clip_grad_value_(parameters, clip_value):
    """Clip every gradient element of ``parameters`` to ``[-clip_value, clip_value]`` in place
    (as ``torch.nn.utils.clip_grad_value_``); parameters with ``.grad`` None are skipped.

    >>> w = mg.nn.Parameter(mg.zeros(3))
    >>> w.grad = mg.tensor([-2.0, 0.5, 3.0])
    >>> mg.optim.clip_grad_value_([w], 1.0)
    >>> w.grad
    tensor([-1. ,  0.5,  1. ])
    """
    clip_value = float(clip_value)
    if not clip_value > 0:
        raise ValueError(f"clip_grad_value_ expected clip_value > 0, got {clip_value}")
    for p in _with_grads(parameters, "clip_grad_value_"):
        p._backend.xp.clip(p.grad.data, -clip_value, clip_value, out=p.grad.data)


def _with_grads(parameters, name):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    parameters = list(parameters)
    for i, p in enumerate(parameters):
        if not isinstance(p, Tensor):
            raise TypeError(f"{name} expected Parameters, got {type(p).__name__} at position {i}")
    return [p for p in parameters if p.grad is not None]
