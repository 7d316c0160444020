"""Exercise 9: an LSTM cell, and backpropagation through time, in NumPy.

An LSTM reads a sequence ``x`` of shape ``(N, T, F)`` (batch first) one step at a time and
carries two states of shape ``(N, U)``: the output ``h`` and the cell ``c``. The weights are
laid out as Keras's (and minigrad's ``nn.LSTM``) store them, the four gates side by side:

- ``kernel`` ``(F, 4U)``, applied to the input ``x_t`` (N, F);
- ``recurrent_kernel`` ``(U, 4U)``, applied to the previous state ``h`` (N, U);
- ``bias`` ``(4U,)``;

and the gates in the order **i, f, c, o** (input, forget, cell candidate, output): columns
``0:U`` are ``i``, ``U:2U`` are ``f``, ``2U:3U`` the candidate ``g``, ``3U:4U`` are ``o``.
One step, with ``σ`` the sigmoid::

    z = x_t @ kernel + h @ recurrent_kernel + bias          # (N, 4U)
    i = σ(z[:, :U])    f = σ(z[:, U:2U])    g = tanh(z[:, 2U:3U])    o = σ(z[:, 3U:])
    c_new = f * c + i * g
    h_new = o * tanh(c_new)                                  # the step's output

Backpropagation through time goes over the steps from the last to the first, carrying
``dh_next`` and ``dc_next``, the gradients that step ``t + 1`` sends back to ``h_t`` and
``c_t`` (zeros after the last step). At step t, ``h_t`` was used twice -- as the output
``outputs[:, t]`` and by the next step -- so its gradient is the sum of both::

    dh = d_outputs[:, t] + dh_next
    dc = dc_next + (the part of dh that flows through h = o * tanh(c_new))

From ``dh`` and ``dc`` work out, on paper first, the gradient ``dz`` (N, 4U) of the four
pre-activations, in the order i, f, c, o (``σ' = σ (1 - σ)``, ``tanh' = 1 - tanh**2``). Then
``z = x_t @ kernel + h_prev @ recurrent_kernel + bias`` is a linear layer::

    d_x[:, t] = dz @ kernel.T      d_kernel += x_t.T @ dz      d_bias += dz.sum(axis=0)
    d_recurrent_kernel += h_prev.T @ dz           dh_next = dz @ recurrent_kernel.T

and ``dc_next`` is what ``c_new = f * c_prev + i * g`` sends back to ``c_prev``. After step 0,
``dh_next`` and ``dc_next`` are the gradients of ``h0`` and ``c0``. Note ``h_prev`` (the state
*before* the step) in ``d_recurrent_kernel``: save, for every step, what the backward needs
(the previous states and the four gate activations) in ``cache``.

1. ``lstm_step(x_t, h, c, kernel, recurrent_kernel, bias)``: one step, ``(h_new, c_new)``.
2. ``lstm_forward(x, h0, c0, kernel, recurrent_kernel, bias)``: ``(outputs, cache)``, outputs
   of shape ``(N, T, U)`` (``outputs[:, t]`` is ``h`` after step t, as
   ``nn.LSTM(U, return_sequences=True)``), ``cache`` whatever your backward needs.
3. ``lstm_backward(d_outputs, cache)``: ``(d_x, d_h0, d_c0, d_kernel, d_recurrent_kernel,
   d_bias)``, each of the shape of what it is the gradient of.

Keep the dtype: float32 inputs give float32 outputs and gradients (NumPy does so as long as
you create new arrays with the inputs' dtype, e.g. ``np.zeros_like``). Use only NumPy.

Grade it with::

    python -m exercises check 9
    pytest exercises/test_lstm_cell.py
"""

import numpy as np


def sigmoid(z):
    """The logistic function ``1 / (1 + exp(-z))``, elementwise (given)."""
    return 1 / (1 + np.exp(-z))


def lstm_step(x_t, h, c, kernel, recurrent_kernel, bias):
    """One LSTM step: ``(h_new, c_new)``, each (N, U), from ``x_t`` (N, F) and the state."""
    raise NotImplementedError("exercise: z = x_t @ kernel + h @ recurrent_kernel + bias, split "
                              "into the gates i, f, c, o, then c_new and h_new")


def lstm_forward(x, h0, c0, kernel, recurrent_kernel, bias):
    """The LSTM over the whole sequence ``x`` (N, T, F): ``(outputs, cache)``, outputs
    (N, T, U)."""
    raise NotImplementedError("exercise: run the step for t = 0 .. T-1, keeping what the "
                              "backward needs in cache")


def lstm_backward(d_outputs, cache):
    """Backpropagation through time: ``(d_x, d_h0, d_c0, d_kernel, d_recurrent_kernel,
    d_bias)`` given ``d_outputs`` (N, T, U), the gradient of the loss w.r.t. ``outputs``."""
    raise NotImplementedError("exercise: go from the last step to the first, carrying dh_next "
                              "and dc_next")
