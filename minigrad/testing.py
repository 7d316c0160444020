"""Checking gradients numerically: :func:`gradcheck`, for tests and course exercises."""

import numpy as np

from .autograd.grad_mode import no_grad
from .autograd.tensor import Tensor
from . import dtypes


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when an analytic gradient disagrees with the numeric one."""


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Compare the gradients of ``fn`` from backward with central finite differences.

    ``fn(*inputs)`` returns a tensor (or a tuple of tensors). Gradients are checked for every
    input tensor with ``requires_grad=True``; those must be float64, so that the finite
    differences ``(f(x + eps) - f(x - eps)) / (2 eps)`` are accurate. The outputs are reduced to
    one number with fixed random weights, so every output element takes part.

    Returns True, or raises :class:`GradcheckError` naming the input, the element, and the
    analytic and numeric values of the worst mismatch.

    >>> x = mg.randn(3, 4, dtype="float64", requires_grad=True)
    >>> mg.testing.gradcheck(lambda t: (t * t).sum(axis=1), x)
    True
    """
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input tensor has requires_grad=True; nothing to check")
    for i in checked:
        if inputs[i].dtype != dtypes.float64:
            raise ValueError(f"gradcheck: input {i} has dtype {inputs[i].dtype.name}; use float64 "
                             "(e.g. mg.randn(..., dtype='float64') or x.double()) so that finite "
                             "differences are accurate")

    rng = np.random.default_rng(seed)
    outputs = _float_outputs(fn(*inputs))
    weights = [o._backend.asarray(rng.standard_normal(o.shape)) for o in outputs]

    def weighted_sum():
        return sum(float((o.data * w).sum()) for o, w in zip(_float_outputs(fn(*inputs)), weights))

    saved_grads = [inputs[i].grad for i in checked]
    for i in checked:
        inputs[i].grad = None
    try:
        total = None
        for o, w in zip(outputs, weights):
            if o.requires_grad:
                term = (o * Tensor._make(w, o._backend)).sum()
                total = term if total is None else total + term
        if total is not None:
            total.backward()
        analytic = [inputs[i].grad.numpy().copy() if inputs[i].grad is not None
                    else np.zeros(inputs[i].shape) for i in checked]
    finally:
        for i, grad in zip(checked, saved_grads):
            inputs[i].grad = grad

    worst = None
    with no_grad():
        for i, grad in zip(checked, analytic):
            data = inputs[i].data
            numeric = np.zeros(data.shape)
            for index in np.ndindex(*data.shape):
                original = float(data[index])
                data[index] = original + eps
                plus = weighted_sum()
                data[index] = original - eps
                minus = weighted_sum()
                data[index] = original
                numeric[index] = (plus - minus) / (2 * eps)
            excess = np.abs(grad - numeric) - (atol + rtol * np.abs(numeric))
            bad = excess > 0
            if bad.any():
                index = np.unravel_index(np.argmax(np.where(np.isnan(excess), np.inf, excess)),
                                         data.shape)
                if worst is None:
                    worst = (i, index, grad[index], numeric[index], int(bad.sum()), data.size)
    if worst is not None:
        i, index, a, n, n_bad, size = worst
        raise GradcheckError(
            f"gradcheck failed for input {i} (shape {inputs[i].shape}) at element "
            f"{tuple(int(k) for k in index)}: analytic {a:.8g} vs numeric {n:.8g} "
            f"(difference {abs(a - n):.3g}, allowed {atol + rtol * abs(n):.3g}); "
            f"{n_bad} of {size} elements of this input disagree")
    return True


def _float_outputs(result):
    outputs = result if isinstance(result, (tuple, list)) else (result,)
    for o in outputs:
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: fn must return tensors, got {type(o).__name__}")
    return [o for o in outputs if dtypes.is_floating(o.dtype)]
