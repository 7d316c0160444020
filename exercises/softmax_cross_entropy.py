"""Exercise 4: a stable softmax cross-entropy, forward and backward, as one op.

A classifier outputs *logits* ``z`` of shape ``(N, C)``: N samples, C classes, any real numbers.
With integer labels ``y`` of shape ``(N,)`` (each in ``[0, C)``), the loss is the mean negative
log-probability of the right class::

    p[n, c]  = exp(z[n, c]) / sum_k exp(z[n, k])              (softmax, row by row)
    loss     = -(1 / N) * sum_n log p[n, y[n]]                (a 0-d array: one number)

1. ``forward(ctx, logits, labels)``: compute it *stably*. ``exp(1e4)`` overflows to ``inf``
   (and ``inf / inf`` is NaN), so never exponentiate a raw logit. Use the log-sum-exp trick:
   with ``m[n] = max_k z[n, k]``::

       log p[n, c] = (z[n, c] - m[n]) - log(sum_k exp(z[n, k] - m[n]))

   every exponent is <= 0 and one of them is 0, so the sum is in ``[1, C]``. Pick each row's
   ``log p[n, y[n]]`` with integer indexing (``log_p[np.arange(N), labels]``), not with a
   one-hot matrix. Return a 0-d array of the logits' dtype and save what backward needs
   (``ctx.save_for_backward(...)``, read back as ``ctx.saved``).
2. ``backward(ctx, grad)``: ``grad`` is d(final)/d(loss), a 0-d array. The gradient is::

       d loss / d z = (softmax(z) - one_hot(y)) / N * grad           shape (N, C)

   (work it out on paper: d(-log p[y])/dz[c] = p[c] - [c == y]). ``softmax(z)`` is
   ``exp(log p)``; subtract 1 at each row's label, divide by N, multiply by ``grad``.

Dtypes: float32 logits must give a float32 loss, and a float32 gradient from your backward.
``np.eye(C)[labels]`` (DeZero's one-hot) is float64 and silently turns everything it touches
into float64; build the one-hot in the logits' dtype, or better, avoid it. ``labels`` arrives
as a NumPy integer array (the ``softmax_cross_entropy`` wrapper below converts it; do not edit
the wrapper). Use ``ctx.xp`` (NumPy here) or ``np``.

minigrad's own version is ``mg.sparse_categorical_crossentropy(labels, logits,
from_logits=True)`` (``SparseSoftmaxCrossentropy`` in ``minigrad/functional/losses.py``): compare
with it once you are done, not before. Grade it with::

    python -m exercises check 4
    pytest exercises/test_softmax_cross_entropy.py
"""

import numpy as np

import minigrad as mg


class SoftmaxCrossEntropy(mg.autograd.Function):
    @staticmethod
    def forward(ctx, logits, labels):
        """``logits`` (N, C) float array, ``labels`` (N,) int array -> the mean loss, 0-d."""
        raise NotImplementedError("exercise: subtract each row's max, take the log-sum-exp, "
                                  "average -log p[n, labels[n]] over the batch")

    @staticmethod
    def backward(ctx, grad):
        """``grad`` (0-d) -> d(final)/d(logits), shape (N, C), the logits' dtype."""
        raise NotImplementedError("exercise: return (softmax - one_hot) / N * grad")


def softmax_cross_entropy(logits, labels):
    """The mean cross-entropy of ``logits`` (a (N, C) tensor) against integer ``labels`` (N,),
    as one op. ``labels``: a NumPy array, a list or a tensor (a constant: no gradient)."""
    labels = labels.numpy() if isinstance(labels, mg.Tensor) else np.asarray(labels)
    return SoftmaxCrossEntropy.apply(logits, labels=labels)
