"""Exercise 11: batch normalization -- training, inference and backward -- in NumPy.

Batch normalization normalizes each feature (channel) over the batch, then scales and shifts
it with two learned vectors. The features are the LAST axis, as minigrad's (and Keras's)
``BatchNormalization`` with channels last: for ``(N, C)`` vectors the statistics are taken over
``N``, for ``(N, H, W, C)`` images over ``N``, ``H`` and ``W`` together -- every axis but the
last, ``m`` values per channel. For a channel, with ``mean`` and ``var`` over those ``m``
values::

    x_hat = (x - mean) / sqrt(var + epsilon)
    y     = gamma * x_hat + beta                   # gamma, beta: (C,)

**Training mode** uses the batch's own ``mean`` and *biased* variance (``var`` divides by
``m``, as ``np.var`` does by default; not by ``m - 1``), and moves the moving statistics
towards them with Keras's momentum convention (momentum close to 1 = slow)::

    new_moving_mean = momentum * moving_mean + (1 - momentum) * mean
    new_moving_var  = momentum * moving_var  + (1 - momentum) * var

(PyTorch's ``momentum=0.1`` is Keras's ``0.9``, and PyTorch stores the unbiased variance;
minigrad follows Keras.) **Inference mode** uses ``moving_mean`` and ``moving_var`` instead of
the batch's statistics, so each sample is normalized on its own.

**Backward** of the training-mode forward, given ``dy`` (of x's shape) and sums over the same
axes as the statistics::

    d_beta  = sum(dy)                 d_gamma = sum(dy * x_hat)        # (C,)

and ``dx``: ``x`` reaches ``y`` directly *and* through ``mean`` and ``var``, which depend on
every value of the channel. Work it out on paper (or look up the "three-term" formula); it
can be written with ``dy``, ``x_hat``, ``d_beta``, ``d_gamma``, ``gamma``, ``1 / sqrt(var +
epsilon)`` and ``m`` only. Ignoring the path through the statistics gives a wrong gradient.

1. ``batch_norm_train(x, gamma, beta, moving_mean, moving_var, momentum=0.99,
   epsilon=1e-3)``: ``(y, new_moving_mean, new_moving_var, cache)``. Return NEW arrays for the
   moving statistics; do not modify the arguments in place.
2. ``batch_norm_inference(x, gamma, beta, moving_mean, moving_var, epsilon=1e-3)``: ``y``.
3. ``batch_norm_backward(dy, cache)``: ``(dx, d_gamma, d_beta)``.

Shapes: ``x`` and ``y`` (N, C) or (N, H, W, C); ``gamma``, ``beta`` and the statistics (C,).
Keep the dtype: float32 inputs give float32 results (NumPy's ``mean``, ``var`` and ``sum``
of float32 arrays are float32). Hint: ``axes = tuple(range(x.ndim - 1))``; broadcasting a (C,)
vector against (N, H, W, C) needs no reshape.

Grade it with::

    python -m exercises check 11
    pytest exercises/test_batch_norm.py
"""

import numpy as np  # noqa: F401  (you will need it)


def batch_norm_train(x, gamma, beta, moving_mean, moving_var, momentum=0.99, epsilon=1e-3):
    """Training mode: normalize with the batch's statistics; ``(y, new_moving_mean,
    new_moving_var, cache)``."""
    raise NotImplementedError("exercise: mean and biased var over every axis but the last, "
                              "x_hat, y = gamma * x_hat + beta, then the moving statistics")


def batch_norm_inference(x, gamma, beta, moving_mean, moving_var, epsilon=1e-3):
    """Inference mode: normalize with the moving statistics; ``y``."""
    raise NotImplementedError("exercise: the same formula with moving_mean and moving_var")


def batch_norm_backward(dy, cache):
    """The gradients ``(dx, d_gamma, d_beta)`` of the training-mode forward, given ``dy``."""
    raise NotImplementedError("exercise: d_beta = sum(dy), d_gamma = sum(dy * x_hat), and dx "
                              "through x_hat AND the batch mean and variance")
