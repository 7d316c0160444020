"""Gradient clipping: ``clip_grad_norm_`` and ``clip_grad_value_`` (PyTorch's functions), and the
helpers that the optimizers' ``clipnorm=`` / ``global_clipnorm=`` options share with them.

The norms are Python floats; on a GPU, all the per-array sums are copied to the host together,
once per call, rather than once per array."""

import math

import numpy as np

from ..autograd.tensor import Tensor
from ..backends import backend_of_array


def total_norm(grads, norm_type=2.0):
    """The ``norm_type``-norm of all the arrays in ``grads`` taken together, as a Python float
    (``inf``: the largest absolute value)."""
    if not grads:
        return 0.0
    if math.isinf(norm_type):
        return max(_floats([abs(g).max() if g.size else 0.0 for g in grads]))
    # ||(g_1, ..., g_n)||_p = (sum_i sum_j |g_ij|^p)^(1/p)
    return sum(_power_sums(grads, norm_type)) ** (1.0 / norm_type)


def norms(grads, norm_type=2.0):
    """The ``norm_type``-norm of each array in ``grads``, as Python floats (one copy to the
    host for all of them)."""
    if math.isinf(norm_type):
        return _floats([abs(g).max() if g.size else 0.0 for g in grads])
    return [total ** (1.0 / norm_type) for total in _power_sums(grads, norm_type)]


def _power_sums(grads, norm_type):
    """``sum(|g| ** norm_type)`` of each array, as Python floats."""
    return _floats([(abs(g) ** norm_type).sum() for g in grads])


def _floats(values):
    """Python floats of scalars that may live on a GPU: one copy to the host per device for all
    of them, not one per value (each copy waits for the GPU to finish its queued work)."""
    result = [None] * len(values)
    on_device = {}
    for k, value in enumerate(values):
        backend = backend_of_array(value)
        if backend is None or backend.name == "cpu":
            result[k] = float(value)
        else:
            on_device.setdefault(backend, []).append(k)
    for backend, ks in on_device.items():
        stacked = backend.xp.stack([values[k].astype(np.float64) for k in ks])
        for k, value in zip(ks, backend.to_numpy(stacked).tolist()):
            result[k] = value
    return result


def norm_scale(norm, max_norm, tiny=1e-6):
    """The factor that brings gradients of norm ``norm`` down to ``max_norm`` (1.0 if they are
    already within it), as PyTorch computes it: ``min(1, max_norm / (norm + tiny))``; Keras's
    ``max_norm / max(norm, max_norm)`` is ``tiny=0``."""
    if tiny == 0.0:
        return max_norm / max(norm, max_norm)
    return min(1.0, max_norm / (norm + tiny))


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
