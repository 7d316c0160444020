"""Recurrent ops: ``lstm``, ``gru`` and ``simple_rnn``, each ONE op over a whole sequence with a
hand-written backward through time (as cuDNN's fused RNNs), not a graph node per step.

Layout and weights are Keras's: input (N, T, features), batch first; ``kernel`` (features,
G * units) applied to the inputs, ``recurrent_kernel`` (units, G * units) to the state, the G
gates side by side (LSTM: i, f, g, o; GRU: z, r, h).

``gru(..., reset_after=False)`` (Keras's other GRU) differs in one place: the reset gate scales
the state before its product with the candidate's recurrent weights, so its steps have two
small products each, ``h @ U_zr`` and then ``(r * h) @ U_h``, with the gate math split in two
kernels around the second (``Backend.gru_reset_before_*``).

How each op runs, forward:

1. ``x @ kernel + bias`` for every step at once: one big matrix product (under ``no_grad``,
   32 steps at a time into a reused buffer, and only the last two states are kept, unless the
   sequence is returned);
2. for each step ``s`` (in processing order, reversed if ``reverse``): one small product
   ``h[s] @ recurrent_kernel``, then the gate math of the step in one fused kernel of the
   backend (:meth:`lstm_step_forward <minigrad.backends.Backend.lstm_step_forward>` etc.,
   declared on ``Backend``: Numba on the CPU, ``recurrent.cu`` on CUDA).

and backward, from the last step to the first: the step kernel turns the gradient of the state
into the gradient of the gates, and one product ``d_gates @ recurrent_kernel.T`` carries it to
the previous state. The weight gradients are then three big products over all steps at once:
``dW = x^T d_gates``, ``dU = h_prev^T d_gates``, ``dx = d_gates W^T``.

Masks (N, T) mark the real steps: where the mask is False the state is carried over unchanged,
and the output is 0 (``zero_output_for_mask=True``) or repeats the last real step's output (0
before the first one), as Keras's ``RNN`` does. A pre-padded sequence thus gives the states of
its unpadded version, in both directions.
"""

import numpy as np

from .. import dtypes
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ._operands import array_beside


# --- the ops -------------------------------------------------------------------------------

class LSTM(Function):
    @staticmethod
    def forward(ctx, x, kernel, recurrent_kernel, bias, h0, c0, mask, reverse,
                zero_output_for_mask, return_sequences):
        xp, step, training = ctx.xp, ctx.backend.lstm_step_forward, bool(ctx.needs_input_grad)
        out_dtype, dtype = _dtypes(x, kernel, recurrent_kernel, bias, h0, c0)
        kernel, recurrent_kernel = _cast(dtype, kernel, recurrent_kernel)
        xs, steps, keep = _sequence(xp, x, mask, reverse, zero_output_for_mask, dtype)
        t, n, units = xs.shape[0], xs.shape[1], recurrent_kernel.shape[0]

        gates = _InputProjection(xp, xs, kernel, bias, keep_all=training)  # (N, 4U) per step
        h = _state_buffer(xp, h0, t, training or return_sequences, dtype)
        c = _state_buffer(xp, c0, t, training, dtype)
        hu = xp.empty((n, 4 * units), dtype=dtype)
        for s in range(t):
            prev, new = s % len(h), (s + 1) % len(h)  # the buffers keep every state, or two
            xp.matmul(h[prev], recurrent_kernel, out=hu)
            step(gates[s], hu, h[prev], c[s % len(c)], steps[s], h[new], c[(s + 1) % len(c)])

        ctx.save_for_backward(xs, kernel, recurrent_kernel, gates.array, h, c, steps, keep)
        ctx.reverse, ctx.return_sequences = reverse, return_sequences
        return (_outputs(xp, h, t, keep, reverse, return_sequences, out_dtype),
                h[t % len(h)].astype(out_dtype), c[t % len(c)].astype(out_dtype))

    @staticmethod
    def backward(ctx, d_outputs, d_h, d_c):
        xp, step = ctx.xp, ctx.backend.lstm_step_backward
        xs, kernel, recurrent_kernel, gates, h, c, steps, keep = ctx.saved
        d_out, dh = _output_grads(xp, d_outputs, d_h, keep, ctx.reverse, ctx.return_sequences, h)
        dc = _state_grad(xp, d_c, c)
        recurrent_t, d_rec = recurrent_kernel.T, xp.empty_like(dh)
        for s in reversed(range(xs.shape[0])):
            step(gates[s], c[s + 1], c[s], d_out[s], dh, dc, steps[s])  # activations -> d_gates
            xp.matmul(gates[s], recurrent_t, out=d_rec)
            dh += d_rec
        d_x, d_kernel, d_recurrent = _weight_grads(ctx, xs, kernel, h, gates, gates)
        d_bias = gates.sum(axis=(0, 1)) if ctx.needs_input_grad[3] else None
        return d_x, d_kernel, d_recurrent, d_bias, dh, dc


class GRU(Function):
    @staticmethod
    def forward(ctx, x, kernel, recurrent_kernel, bias, h0, mask, reverse, zero_output_for_mask,
                return_sequences):
        xp, step, training = ctx.xp, ctx.backend.gru_step_forward, bool(ctx.needs_input_grad)
        out_dtype, dtype = _dtypes(x, kernel, recurrent_kernel, bias, h0)
        kernel, recurrent_kernel = _cast(dtype, kernel, recurrent_kernel)
        recurrent_bias = xp.ascontiguousarray(bias[1], dtype=dtype)
        xs, steps, keep = _sequence(xp, x, mask, reverse, zero_output_for_mask, dtype)
        t, n, units = xs.shape[0], xs.shape[1], recurrent_kernel.shape[0]

        gates = _InputProjection(xp, xs, kernel, bias[0], keep_all=training)  # (N, 3U) per step
        h = _state_buffer(xp, h0, t, training or return_sequences, dtype)
        rh = xp.empty((t if training else 1, n, units), dtype=dtype)  # u_h, saved for backward
        hu = xp.empty((n, 3 * units), dtype=dtype)
        for s in range(t):
            prev, new = s % len(h), (s + 1) % len(h)
            xp.matmul(h[prev], recurrent_kernel, out=hu)
            step(gates[s], hu, recurrent_bias, h[prev], steps[s], rh[s % len(rh)], h[new])

        ctx.save_for_backward(xs, kernel, recurrent_kernel, gates.array, rh, h, steps, keep)
        ctx.reverse, ctx.return_sequences = reverse, return_sequences
        return (_outputs(xp, h, t, keep, reverse, return_sequences, out_dtype),
                h[t % len(h)].astype(out_dtype))

    @staticmethod
    def backward(ctx, d_outputs, d_h):
        xp, step = ctx.xp, ctx.backend.gru_step_backward
        xs, kernel, recurrent_kernel, gates, rh, h, steps, keep = ctx.saved
        d_out, dh = _output_grads(xp, d_outputs, d_h, keep, ctx.reverse, ctx.return_sequences, h)
        d_recurrent_gates = xp.empty_like(gates)
        recurrent_t, d_rec = recurrent_kernel.T, xp.empty_like(dh)
        for s in reversed(range(xs.shape[0])):
            step(gates[s], rh[s], h[s], d_out[s], dh, steps[s], d_recurrent_gates[s])
            xp.matmul(d_recurrent_gates[s], recurrent_t, out=d_rec)
            dh += d_rec
        d_x, d_kernel, d_recurrent = _weight_grads(ctx, xs, kernel, h, gates, d_recurrent_gates)
        d_bias = (xp.stack([gates.sum(axis=(0, 1)), d_recurrent_gates.sum(axis=(0, 1))])
                  if ctx.needs_input_grad[3] else None)
        return d_x, d_kernel, d_recurrent, d_bias, dh


class GRUResetBefore(Function):
    """Keras's GRU with ``reset_after=False``: r scales the state before the recurrent product
    of the candidate, so a step has two products, ``h @ U_zr`` and ``(r * h) @ U_h``, with a
    kernel of gate math after each (see ``Backend.gru_reset_before_gates_forward``)."""

    @staticmethod
    def forward(ctx, x, kernel, recurrent_kernel, bias, h0, mask, reverse, zero_output_for_mask,
                return_sequences):
        xp, backend, training = ctx.xp, ctx.backend, bool(ctx.needs_input_grad)
        out_dtype, dtype = _dtypes(x, kernel, recurrent_kernel, bias, h0)
        kernel, recurrent_kernel = _cast(dtype, kernel, recurrent_kernel)
        xs, steps, keep = _sequence(xp, x, mask, reverse, zero_output_for_mask, dtype)
        t, n, units = xs.shape[0], xs.shape[1], recurrent_kernel.shape[0]
        u_zr, u_h = _split_recurrent(xp, recurrent_kernel)

        gates = _InputProjection(xp, xs, kernel, bias, keep_all=training)  # (N, 3U) per step
        h = _state_buffer(xp, h0, t, training or return_sequences, dtype)
        rh = xp.empty((t if training else 1, n, units), dtype=dtype)  # r * h, saved
        hu_zr, hu_h = xp.empty((n, 2 * units), dtype=dtype), xp.empty((n, units), dtype=dtype)
        for s in range(t):
            prev, new, r_h = s % len(h), (s + 1) % len(h), rh[s % len(rh)]
            xp.matmul(h[prev], u_zr, out=hu_zr)
            backend.gru_reset_before_gates_forward(gates[s], hu_zr, h[prev], steps[s], r_h)
            xp.matmul(r_h, u_h, out=hu_h)
            backend.gru_reset_before_candidate_forward(gates[s], hu_h, h[prev], steps[s], h[new])

        ctx.save_for_backward(xs, kernel, u_zr, u_h, gates.array, rh, h, steps, keep)
        ctx.reverse, ctx.return_sequences = reverse, return_sequences
        return (_outputs(xp, h, t, keep, reverse, return_sequences, out_dtype),
                h[t % len(h)].astype(out_dtype))

    @staticmethod
    def backward(ctx, d_outputs, d_h):
        xp, backend = ctx.xp, ctx.backend
        xs, kernel, u_zr, u_h, gates, rh, h, steps, keep = ctx.saved
        d_out, dh = _output_grads(xp, d_outputs, d_h, keep, ctx.reverse, ctx.return_sequences, h)
        units = dh.shape[1]
        u_zr_t, u_h_t = u_zr.T, u_h.T
        d_rh, d_rec = xp.empty_like(dh), xp.empty_like(dh)
        for s in reversed(range(xs.shape[0])):
            step = gates[s]
            backend.gru_reset_before_candidate_backward(step, h[s], d_out[s], dh, steps[s])
            xp.matmul(step[:, 2 * units:], u_h_t, out=d_rh)        # through (r * h) @ U_h
            backend.gru_reset_before_gates_backward(step, d_rh, h[s], dh, steps[s])
            xp.matmul(step[:, :2 * units], u_zr_t, out=d_rec)      # through h @ U_zr
            dh += d_rec
        d_x, d_kernel = _input_grads(ctx, xs, kernel, gates)
        d_recurrent = None
        if ctx.needs_input_grad[2]:
            d_gates = gates.reshape(-1, 3 * units)
            d_recurrent = xp.concatenate(
                [h[:-1].reshape(-1, units).T @ d_gates[:, :2 * units],
                 rh.reshape(-1, units).T @ d_gates[:, 2 * units:]], axis=1)
        d_bias = gates.sum(axis=(0, 1)) if ctx.needs_input_grad[3] else None
        return d_x, d_kernel, d_recurrent, d_bias, dh


class SimpleRNN(Function):
    @staticmethod
    def forward(ctx, x, kernel, recurrent_kernel, bias, h0, mask, reverse, zero_output_for_mask,
                return_sequences, relu):
        xp, step, training = ctx.xp, ctx.backend.rnn_step_forward, bool(ctx.needs_input_grad)
        out_dtype, dtype = _dtypes(x, kernel, recurrent_kernel, bias, h0)
        kernel, recurrent_kernel = _cast(dtype, kernel, recurrent_kernel)
        xs, steps, keep = _sequence(xp, x, mask, reverse, zero_output_for_mask, dtype)
        t, n, units = xs.shape[0], xs.shape[1], recurrent_kernel.shape[0]

        gates = _InputProjection(xp, xs, kernel, bias, keep_all=training)  # (N, U) per step
        h = _state_buffer(xp, h0, t, training or return_sequences, dtype)
        hu = xp.empty((n, units), dtype=dtype)
        for s in range(t):
            prev, new = s % len(h), (s + 1) % len(h)
            xp.matmul(h[prev], recurrent_kernel, out=hu)
            step(gates[s], hu, h[prev], steps[s], relu, h[new])

        ctx.save_for_backward(xs, kernel, recurrent_kernel, gates.array, h, steps, keep)
        ctx.reverse, ctx.return_sequences, ctx.relu = reverse, return_sequences, relu
        return (_outputs(xp, h, t, keep, reverse, return_sequences, out_dtype),
                h[t % len(h)].astype(out_dtype))

    @staticmethod
    def backward(ctx, d_outputs, d_h):
        xp, step = ctx.xp, ctx.backend.rnn_step_backward
        xs, kernel, recurrent_kernel, gates, h, steps, keep = ctx.saved
        d_out, dh = _output_grads(xp, d_outputs, d_h, keep, ctx.reverse, ctx.return_sequences, h)
        recurrent_t, d_rec = recurrent_kernel.T, xp.empty_like(dh)
        for s in reversed(range(xs.shape[0])):
            step(h[s + 1], d_out[s], dh, steps[s], ctx.relu, gates[s])  # gates <- d_gates
            xp.matmul(gates[s], recurrent_t, out=d_rec)
            dh += d_rec
        d_x, d_kernel, d_recurrent = _weight_grads(ctx, xs, kernel, h, gates, gates)
        d_bias = gates.sum(axis=(0, 1)) if ctx.needs_input_grad[3] else None
        return d_x, d_kernel, d_recurrent, d_bias, dh


# --- what the three ops share --------------------------------------------------------------

def _dtypes(*arrays):
    """The dtype of the outputs (NumPy's promotion of the inputs') and the one computed in
    (float16 is computed in float32: the step kernels take float32 and float64)."""
    out = np.result_type(*[a.dtype for a in arrays])
    return out, dtypes.compute_dtype(out)


def _sequence(xp, x, mask, reverse, zero_output_for_mask, dtype):
    """The inputs time-major in processing order (T, N, F), the (T, N) bool mask of the steps
    each row takes, and the (T, N, 1) 0/1 factor of the outputs (None without a mask)."""
    xs = x.transpose(1, 0, 2)
    if reverse:
        xs = xs[::-1]
    xs = xp.ascontiguousarray(xs, dtype=dtype)
    if mask is None:
        return xs, xp.ones(xs.shape[:2], dtype=bool), None
    steps = mask.T[::-1] if reverse else mask.T
    steps = xp.ascontiguousarray(steps, dtype=bool)
    # Keras: a skipped step outputs 0, or the last real step's output (0 before the first).
    seen = steps if zero_output_for_mask else xp.cumsum(steps, axis=0) > 0
    return xs, steps, seen[:, :, None].astype(dtype)


def _cast(dtype, *arrays):
    return [a.astype(dtype, copy=False) for a in arrays]


class _InputProjection:
    """``x_t @ kernel + bias`` of step ``t`` (``projection[t]``, (N, G*U)), computed as matrix
    products over many steps at once: over all of them when they are kept (``array``, (T, N,
    G*U), becomes the saved activations: training), else over chunks of steps into one reused
    buffer (inference: no (T, N, G*U) array is made)."""

    CHUNK = 32

    def __init__(self, xp, xs, kernel, bias, keep_all):
        self.xp, self.xs, self.kernel = xp, xs, kernel
        self.bias = bias.astype(kernel.dtype, copy=False)
        t, n, _ = xs.shape
        self.chunk = t if keep_all else min(self.CHUNK, t)
        self.array = xp.empty((self.chunk, n, kernel.shape[1]), dtype=kernel.dtype)
        self.start = None  # the first step of the chunk in ``array``

    def __getitem__(self, t):
        start = t - t % self.chunk
        if start != self.start:
            block = self.xs[start:start + self.chunk]
            out = self.array[:len(block)]
            self.xp.matmul(block.reshape(-1, block.shape[2]), self.kernel,
                           out=out.reshape(-1, out.shape[2]))
            out += self.bias
            self.start = start
        return self.array[t - start]


def _state_buffer(xp, initial, t, keep_all, dtype):
    """Buffer of the states before and after each step, [0] the initial one: (T+1, N, U) when
    every state is kept, else (2, N, U), the two rows used in turn; either way the state after
    step s is ``buffer[(s + 1) % len(buffer)]``."""
    states = xp.empty((t + 1 if keep_all else 2,) + initial.shape, dtype=dtype)
    states[0] = initial
    return states


def _outputs(xp, h, t, keep, reverse, return_sequences, out_dtype):
    """The outputs from the states in processing order: (N, T, U) in time order, or the last
    one (N, U)."""
    if not return_sequences:
        last = h[t % len(h)]
        return (last if keep is None else last * keep[-1]).astype(out_dtype)
    outputs = h[1:] if keep is None else h[1:] * keep
    if reverse:
        outputs = outputs[::-1]
    return xp.ascontiguousarray(outputs.transpose(1, 0, 2), dtype=out_dtype)


def _output_grads(xp, d_outputs, d_h, keep, reverse, return_sequences, h):
    """The gradient of the outputs, time-major in processing order (zeros if none), and that
    of the final state (which the last output's gradient joins when only it was returned)."""
    dh = _state_grad(xp, d_h, h)
    d_out = xp.zeros(h[1:].shape, dtype=h.dtype)
    if d_outputs is None:
        return d_out, dh
    if not return_sequences:
        dh += d_outputs if keep is None else d_outputs * keep[-1]
        return d_out, dh
    d_out = d_outputs.transpose(1, 0, 2)
    if reverse:
        d_out = d_out[::-1]
    if keep is not None:
        d_out = d_out * keep
    return xp.ascontiguousarray(d_out, dtype=h.dtype), dh


def _state_grad(xp, grad, states):
    """A writable copy of the gradient of the final state (zeros if none), in compute dtype."""
    if grad is None:
        return xp.zeros(states.shape[1:], dtype=states.dtype)
    return xp.array(grad, dtype=states.dtype, order="C")


def _weight_grads(ctx, xs, kernel, h, d_input_gates, d_recurrent_gates):
    """dx (N, T, F), d_kernel = x^T d_gates and d_recurrent_kernel = h_prev^T d_gates, each a
    single matrix product over all steps (None where no gradient is needed)."""
    d_x, d_kernel = _input_grads(ctx, xs, kernel, d_input_gates)
    d_recurrent = None
    if ctx.needs_input_grad[2]:
        t, n, _ = xs.shape
        d_recurrent = h[:-1].reshape(t * n, -1).T @ d_recurrent_gates.reshape(t * n, -1)
    return d_x, d_kernel, d_recurrent


def _input_grads(ctx, xs, kernel, d_input_gates):
    """dx (N, T, F) = d_gates kernel^T, in time order, and d_kernel = x^T d_gates (None where
    no gradient is needed)."""
    t, n, features = xs.shape
    d_in = d_input_gates.reshape(t * n, -1)
    d_x = d_kernel = None
    if ctx.needs_input_grad[0]:
        d_x = (d_in @ kernel.T).reshape(t, n, features)
        if ctx.reverse:
            d_x = d_x[::-1]
        d_x = d_x.transpose(1, 0, 2)
    if ctx.needs_input_grad[1]:
        d_kernel = xs.reshape(t * n, features).T @ d_in
    return d_x, d_kernel


def _split_recurrent(xp, recurrent_kernel):
    """(U, 2U) and (U, U) contiguous copies: the z, r columns and the h columns."""
    units = recurrent_kernel.shape[0]
    return (xp.ascontiguousarray(recurrent_kernel[:, :2 * units]),
            xp.ascontiguousarray(recurrent_kernel[:, 2 * units:]))


# --- the functions users call ---------------------------------------------------------------

def lstm(x, kernel, recurrent_kernel, bias=None, h0=None, c0=None, mask=None, reverse=False,
         zero_output_for_mask=False, return_sequences=True):
    """A long short-term memory layer over a whole sequence, as one op.

    Args:
        x: (N, T, features) float inputs, batch first.
        kernel: (features, 4 * units), the gates i, f, g, o side by side (Keras's layout; the
            transpose of PyTorch's ``weight_ih``, whose gates are in the same order).
        recurrent_kernel: (units, 4 * units).
        bias: (4 * units,) or None (PyTorch's ``bias_ih + bias_hh``).
        h0, c0: (N, units) initial state, zeros if None.
        mask: (N, T) bool (or 0/1) array or tensor of the real steps, or None for all.
        reverse: process the sequence from the last step to the first (the outputs stay in
            time order: ``outputs[:, t]`` is the state after reading step t).
        zero_output_for_mask: masked steps output 0 rather than the last real output.
        return_sequences: if False, ``outputs`` is only the last step's output (N, units) (in
            processing order), and the (N, T, units) sequence is never made.

    Returns:
        ``(outputs, h, c)``: outputs (N, T, units), the final states h and c (N, units), all in
        the inputs' dtype. Per step, with sigmoid as σ::

            i, f, g, o = σ(x W_i + h U_i + b_i), σ(..f..), tanh(..g..), σ(..o..)
            c = f * c + i * g        h = o * tanh(c)

    >>> x = mg.randn(2, 5, 3)
    >>> out, h, c = mg.functional.lstm(x, mg.randn(3, 8), mg.randn(2, 8), mg.zeros(8))
    >>> out.shape, h.shape
    ((2, 5, 2), (2, 2))
    """
    x, kernel, recurrent_kernel, bias, (h0, c0), mask = _check_arguments(
        "lstm", 4, x, kernel, recurrent_kernel, bias, (h0, c0), mask)
    return LSTM.apply(x, kernel, recurrent_kernel, bias, h0, c0, mask=mask,
                      reverse=bool(reverse), zero_output_for_mask=bool(zero_output_for_mask),
                      return_sequences=bool(return_sequences))


def gru(x, kernel, recurrent_kernel, bias=None, h0=None, mask=None, reverse=False,
        zero_output_for_mask=False, return_sequences=True, reset_after=True):
    """A gated recurrent unit layer over a whole sequence, as one op: Keras's GRU, by default
    with ``reset_after=True`` (its default), which is exactly PyTorch's ``nn.GRU``.

    Args:
        x: (N, T, features) float inputs.
        kernel: (features, 3 * units), gates z (update), r (reset), h (candidate) side by side.
            PyTorch's ``weight_ih`` is (3 * units, features) with the gates in the order r, z,
            n: ``kernel = concat([W_iz, W_ir, W_in]).T``.
        recurrent_kernel: (units, 3 * units), same gate order.
        bias: with ``reset_after``, (2, 3 * units): row 0 the input bias, row 1 the recurrent
            bias (PyTorch's ``bias_ih`` and ``bias_hh``, gates reordered the same way);
            without, (3 * units,), one bias (Keras's layout for each variant); or None.
        h0: (N, units) initial state, zeros if None.
        mask, reverse, zero_output_for_mask, return_sequences: as in :func:`lstm`.
        reset_after: where the reset gate acts: on the recurrent product (True) or on the
            state before it (False, Keras's other variant, which PyTorch does not have).

    Returns:
        ``(outputs, h)``: outputs (N, T, units) and the final state (N, units). Per step, with
        ``reset_after=True``::

            z = σ(x W_z + b_z + h U_z + c_z)      r = σ(x W_r + b_r + h U_r + c_r)
            hh = tanh(x W_h + b_h + r * (h U_h + c_h))       h = z * h + (1 - z) * hh

        and with ``reset_after=False`` (one bias b)::

            z = σ(x W_z + b_z + h U_z)      r = σ(x W_r + b_r + h U_r)
            hh = tanh(x W_h + b_h + (r * h) U_h)       h = z * h + (1 - z) * hh

    >>> out, h = mg.functional.gru(mg.randn(2, 5, 3), mg.randn(3, 6), mg.randn(2, 6))
    >>> out.shape
    (2, 5, 2)
    >>> out, h = mg.functional.gru(mg.randn(2, 5, 3), mg.randn(3, 6), mg.randn(2, 6),
    ...                            mg.zeros(6), reset_after=False)
    >>> h.shape
    (2, 2)
    """
    name = "gru" if reset_after else "gru(reset_after=False)"
    x, kernel, recurrent_kernel, bias, (h0,), mask = _check_arguments(
        name, 3, x, kernel, recurrent_kernel, bias, (h0,), mask)
    op = GRU if reset_after else GRUResetBefore
    return op.apply(x, kernel, recurrent_kernel, bias, h0, mask=mask, reverse=bool(reverse),
                    zero_output_for_mask=bool(zero_output_for_mask),
                    return_sequences=bool(return_sequences))


def simple_rnn(x, kernel, recurrent_kernel, bias=None, h0=None, mask=None, reverse=False,
               zero_output_for_mask=False, return_sequences=True, activation="tanh"):
    """A fully connected recurrent layer over a whole sequence, as one op:
    ``h = activation(x_t @ kernel + h @ recurrent_kernel + bias)``.

    Args:
        x: (N, T, features) float inputs.
        kernel: (features, units); recurrent_kernel: (units, units); bias: (units,) or None
            (PyTorch's ``nn.RNN``: ``weight_ih.T``, ``weight_hh.T``, ``bias_ih + bias_hh``).
        h0: (N, units) initial state, zeros if None.
        mask, reverse, zero_output_for_mask, return_sequences: as in :func:`lstm`.
        activation: ``"tanh"`` or ``"relu"``.

    Returns:
        ``(outputs, h)``: outputs (N, T, units) and the final state (N, units).

    >>> out, h = mg.functional.simple_rnn(mg.randn(2, 5, 3), mg.randn(3, 4), mg.randn(4, 4))
    >>> h.shape
    (2, 4)
    """
    if activation not in ("tanh", "relu"):
        raise ValueError(f"simple_rnn: activation must be 'tanh' or 'relu', got {activation!r}")
    x, kernel, recurrent_kernel, bias, (h0,), mask = _check_arguments(
        "simple_rnn", 1, x, kernel, recurrent_kernel, bias, (h0,), mask)
    return SimpleRNN.apply(x, kernel, recurrent_kernel, bias, h0, mask=mask,
                           reverse=bool(reverse), zero_output_for_mask=bool(zero_output_for_mask),
                           return_sequences=bool(return_sequences), relu=activation == "relu")


def _check_arguments(name, n_gates, x, kernel, recurrent_kernel, bias, states, mask):
    """The arguments as tensors on x's device (zeros for a missing bias or state, the mask as a
    bool array), or a ValueError/TypeError that says what was expected."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: x must be a Tensor, got {type(x).__name__}")
    if x.ndim != 3:
        raise ValueError(f"{name} expected input of shape (N, T, features), got {x.shape}")
    if not dtypes.is_floating(x.dtype):
        raise TypeError(f"{name} expects floating-point input, got dtype {x.dtype.name} (token "
                        "ids go through an Embedding first)")
    n, t, features = x.shape
    if t == 0:
        raise ValueError(f"{name} needs at least one time step, got input of shape {x.shape}")
    gates = {4: "4 * units", 3: "3 * units", 1: "units"}[n_gates]
    rows = recurrent_kernel.shape[0] if recurrent_kernel.ndim == 2 else -1
    if recurrent_kernel.ndim != 2 or recurrent_kernel.shape[1] != n_gates * rows:
        raise ValueError(f"{name}: recurrent_kernel must have shape (units, {gates}), got "
                         f"{recurrent_kernel.shape}")
    units = recurrent_kernel.shape[0]
    if kernel.shape != (features, n_gates * units):
        raise ValueError(f"{name}: kernel must have shape (features, {gates}) = "
                         f"{(features, n_gates * units)} for input of shape {x.shape} and "
                         f"{units} units, got {kernel.shape}")
    # Keras's GRU(reset_after=True) has an input and a recurrent bias, every other layer one
    bias_shape = (2, 3 * units) if name == "gru" else (n_gates * units,)
    if bias is None:
        bias = Tensor._make(x._backend.xp.zeros(bias_shape, dtype=kernel.dtype), x._backend)
    elif bias.shape != bias_shape:
        raise ValueError(f"{name}: bias must have shape {bias_shape}, got {bias.shape}")
    checked = []
    for state in states:
        if state is None:
            state = Tensor._make(x._backend.xp.zeros((n, units), dtype=x.dtype), x._backend)
        elif not isinstance(state, Tensor) or state.shape != (n, units):
            shape = state.shape if hasattr(state, "shape") else type(state).__name__
            raise ValueError(f"{name}: an initial state must be a tensor of shape (N, units) = "
                             f"{(n, units)}, got {shape}")
        checked.append(state)
    return x, kernel, recurrent_kernel, bias, checked, _mask_array(name, mask, x)


def _mask_array(name, mask, x):
    """``mask`` as an (N, T) bool array of x's backend, or None."""
    if mask is None:
        return None
    array = array_beside(mask, x, name, "the mask")
    if array.shape != x.shape[:2]:
        raise ValueError(f"{name}: mask must have shape (N, T) = {x.shape[:2]}, got "
                         f"{tuple(array.shape)}")
    return array.astype(bool, copy=False)
