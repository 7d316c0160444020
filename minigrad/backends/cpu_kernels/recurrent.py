"""Numba kernels for the recurrent layers: the gate math of one time step of an LSTM, a GRU
(both of Keras's variants) or a simple RNN, forward and backward, fused into one pass over the
(N, units) batch.

The matrix products are not here: ``x @ kernel`` for every step at once and ``h @
recurrent_kernel`` once per step are BLAS calls in :mod:`minigrad.functional.recurrent`; these
kernels do everything between two of those products. Each one is the compiled loop behind one
:class:`~minigrad.backends.cpu.CPUBackend` method.

Conventions shared by every kernel (``N`` rows, ``U`` units; arrays C-contiguous, one float
dtype):

- ``mask`` is an (N,) bool array: a row where it is False skips the step, its state is carried
  over unchanged (forward) and its gradient passes straight through to the previous step
  (backward).
- the forward kernels overwrite the pre-activations they are given with the activations that
  backward needs; the backward kernels overwrite those activations with the gradients with
  respect to the pre-activations. So one (T, N, gates) buffer serves forward, the saved state
  and backward.
- ``dh`` is updated in place: on entry the gradient reaching ``h_t`` from later steps, on exit
  the part of the gradient of ``h_{t-1}`` that does not go through the recurrent matrix
  product (the caller adds ``d_gates @ recurrent_kernel.T``).

float32 uses a vectorizable rational approximation of tanh (Eigen's, within 3e-7 of the
exact value) and sigmoid(x) = (1 + tanh(x / 2)) / 2; float64 uses the exact ``math`` functions,
so gradient checks stay precise.
"""

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

# error_model="numpy": a division never raises ZeroDivisionError, so the loops vectorize.
_JIT = dict(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})

# Eigen's generic_fast_tanh_float: odd numerator of degree 13 over even denominator of degree 6,
# exact to float32 rounding on [-7.9, 7.9]; outside, tanh(x) rounds to +-1 in float32 anyway.
_CLAMP = np.float32(7.90531110763549805)
_A13, _A11, _A9, _A7, _A5, _A3, _A1 = (np.float32(v) for v in (
    -2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11, 5.12229709037114e-08,
    1.48572235717979e-05, 6.37261928875436e-04, 4.89352455891786e-03))
_B6, _B4, _B2, _B0 = (np.float32(v) for v in (
    1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03, 4.89352518554385e-03))
_HALF32 = np.float32(0.5)


def tanh(x):
    """tanh of a scalar, in the kernels: fast for float32, exact for float64."""
    return math.tanh(x)


def sigmoid(x):
    """The logistic function of a scalar, in the kernels: fast for float32, exact for float64."""
    return 1.0 / (1.0 + math.exp(-x))


@njit(**_JIT)
def _tanh_float32(x):
    x = _CLAMP if x > _CLAMP else x
    x = -_CLAMP if x < -_CLAMP else x
    x2 = x * x
    p = ((((((_A13 * x2 + _A11) * x2 + _A9) * x2 + _A7) * x2 + _A5) * x2 + _A3) * x2 + _A1) * x
    q = ((_B6 * x2 + _B4) * x2 + _B2) * x2 + _B0
    return p / q


@njit(**_JIT)
def _sigmoid_float32(x):
    return _HALF32 * _tanh_float32(_HALF32 * x) + _HALF32


@overload(tanh, jit_options=_JIT)
def _tanh_kernel(x):
    if x == types.float32:
        return lambda x: _tanh_float32(x)
    return lambda x: math.tanh(x)


def one_of(array):
    """1 in the dtype of ``array`` (a bare ``1`` would make float32 arithmetic float64)."""
    return array.dtype.type(1)


@overload(one_of, jit_options=_JIT)
def _one_kernel(array):
    if array.dtype == types.float32:
        return lambda array: np.float32(1)
    return lambda array: 1.0


@overload(sigmoid, jit_options=_JIT)
def _sigmoid_kernel(x):
    if x == types.float32:
        return lambda x: _sigmoid_float32(x)
    return lambda x: 1.0 / (1.0 + math.exp(-x))


# Every loop below runs over ``j in range(units)`` on row views: an index such as
# ``gates[n, units + j]`` would keep LLVM from vectorizing the loop.

# --- LSTM: gates i, f, g (the cell candidate, Keras's "c"), o; each U wide ------------------

@njit(**_JIT)
def lstm_step_forward(gates, hu, h_prev, c_prev, mask, h, c):
    """One LSTM step. gates: (N, 4U) ``x_t @ kernel + bias``, overwritten with the activations
    (i, f, g, o); hu: (N, 4U) ``h_prev @ recurrent_kernel``; writes h, c: (N, U)::

        i, f, o = sigmoid(.)    g = tanh(.)    c = f * c_prev + i * g    h = o * tanh(c)
    """
    n_rows, units = h.shape
    for n in range(n_rows):
        if not mask[n]:
            h[n] = h_prev[n]
            c[n] = c_prev[n]
            continue
        a, u = gates[n], hu[n]
        i_f, u_if = a[:2 * units], u[:2 * units]
        for j in range(2 * units):
            i_f[j] = sigmoid(i_f[j] + u_if[j])
        g_, u_g = a[2 * units:3 * units], u[2 * units:3 * units]
        for j in range(units):
            g_[j] = tanh(g_[j] + u_g[j])
        o_, u_o = a[3 * units:], u[3 * units:]
        for j in range(units):
            o_[j] = sigmoid(o_[j] + u_o[j])
        i_, f_ = a[:units], a[units:2 * units]
        c_p, c_n, h_n = c_prev[n], c[n], h[n]
        for j in range(units):
            c_new = f_[j] * c_p[j] + i_[j] * g_[j]
            c_n[j] = c_new
            h_n[j] = o_[j] * tanh(c_new)


@njit(**_JIT)
def lstm_step_backward(gates, c, c_prev, d_out, dh, dc, mask):
    """Backward of one LSTM step. gates: (N, 4U) the activations saved by forward, overwritten
    with d(loss)/d(pre-activations); c, c_prev: (N, U) the cell after and before the step;
    d_out: (N, U) the gradient of this step's output; dh, dc: (N, U), in place, from the
    gradients of h_t, c_t to those of h_{t-1} (less the recurrent product), c_{t-1}::

        dh = dh + d_out      dc = dc + dh * o * (1 - tanh(c)^2)
        d_i = dc * g * i(1-i)   d_f = dc * c_prev * f(1-f)   d_g = dc * i * (1-g^2)
        d_o = dh * tanh(c) * o(1-o)      dc_prev = dc * f
    """
    n_rows, units = dh.shape
    one = one_of(dh)
    for n in range(n_rows):
        if not mask[n]:
            dh[n] += d_out[n]
            gates[n] = 0
            continue
        a = gates[n]
        i_, f_, g_, o_ = a[:units], a[units:2 * units], a[2 * units:3 * units], a[3 * units:]
        c_n, c_p, d_o, dh_n, dc_n = c[n], c_prev[n], d_out[n], dh[n], dc[n]
        for j in range(units):
            i, f, g, o = i_[j], f_[j], g_[j], o_[j]
            tanh_c = tanh(c_n[j])
            dh_total = dh_n[j] + d_o[j]
            dc_total = dc_n[j] + dh_total * o * (one - tanh_c * tanh_c)
            i_[j] = dc_total * g * i * (one - i)
            f_[j] = dc_total * c_p[j] * f * (one - f)
            g_[j] = dc_total * i * (one - g * g)
            o_[j] = dh_total * tanh_c * o * (one - o)
            dc_n[j] = dc_total * f
            dh_n[j] = 0


# --- GRU (reset_after): gates z (update), r (reset), h (candidate); each U wide --------------

@njit(**_JIT)
def gru_step_forward(gates, hu, recurrent_bias, h_prev, mask, rh, h):
    """One GRU step (Keras's reset_after=True, which is PyTorch's GRU). gates: (N, 3U)
    ``x_t @ kernel + input_bias``, overwritten with the activations (z, r, hh); hu: (N, 3U)
    ``h_prev @ recurrent_kernel``; recurrent_bias: (3U,); writes rh: (N, U) the candidate's
    recurrent part (saved for backward) and h: (N, U)::

        z = sigmoid(x_z + u_z)    r = sigmoid(x_r + u_r)    (u = hu + recurrent_bias)
        hh = tanh(x_h + r * u_h)  h = z * h_prev + (1 - z) * hh
    """
    n_rows, units = h.shape
    one = one_of(h)
    b_zr, b_h = recurrent_bias[:2 * units], recurrent_bias[2 * units:]
    for n in range(n_rows):
        if not mask[n]:
            h[n] = h_prev[n]
            rh[n] = 0
            continue
        a, u = gates[n], hu[n]
        z_r, u_zr = a[:2 * units], u[:2 * units]
        for j in range(2 * units):
            z_r[j] = sigmoid(z_r[j] + u_zr[j] + b_zr[j])
        z_, r_, hh_, u_h = a[:units], a[units:2 * units], a[2 * units:], u[2 * units:]
        rh_n, h_p, h_n = rh[n], h_prev[n], h[n]
        for j in range(units):
            u_hj = u_h[j] + b_h[j]
            hh = tanh(hh_[j] + r_[j] * u_hj)
            h_n[j] = z_[j] * h_p[j] + (one - z_[j]) * hh
            rh_n[j] = u_hj
            hh_[j] = hh


@njit(**_JIT)
def gru_step_backward(gates, rh, h_prev, d_out, dh, mask, d_recurrent):
    """Backward of one GRU step. gates: (N, 3U) the activations (z, r, hh), overwritten with
    the gradient of the input part's pre-activations; rh: (N, U) from forward; h_prev: (N, U);
    d_out: (N, U); dh: (N, U) in place as in the LSTM; writes d_recurrent: (N, 3U), the
    gradient of ``hu + recurrent_bias``::

        dh = dh + d_out      d_z = dh * (h_prev - hh) * z(1-z)      d_a = dh * (1-z) * (1-hh^2)
        d_r = d_a * u_h * r(1-r)   input part: (d_z, d_r, d_a)   recurrent part: (d_z, d_r, d_a * r)
        dh_prev = dh * z   (+ d_recurrent @ recurrent_kernel.T, added by the caller)
    """
    n_rows, units = dh.shape
    one = one_of(dh)
    for n in range(n_rows):
        if not mask[n]:
            dh[n] += d_out[n]
            gates[n] = 0
            d_recurrent[n] = 0
            continue
        a, d_u = gates[n], d_recurrent[n]
        z_, r_, hh_ = a[:units], a[units:2 * units], a[2 * units:]
        du_z, du_r, du_h = d_u[:units], d_u[units:2 * units], d_u[2 * units:]
        rh_n, h_p, d_o, dh_n = rh[n], h_prev[n], d_out[n], dh[n]
        for j in range(units):
            z, r, hh = z_[j], r_[j], hh_[j]
            dh_total = dh_n[j] + d_o[j]
            d_z = dh_total * (h_p[j] - hh) * z * (one - z)
            d_a = dh_total * (one - z) * (one - hh * hh)
            d_r = d_a * rh_n[j] * r * (one - r)
            z_[j] = d_z
            r_[j] = d_r
            hh_[j] = d_a
            du_z[j] = d_z
            du_r[j] = d_r
            du_h[j] = d_a * r
            dh_n[j] = dh_total * z


# --- GRU (reset_after=False): hh = tanh(x_h + (r * h_prev) @ U_h), two kernels per step ------

@njit(**_JIT)
def gru_reset_before_gates_forward(gates, hu, h_prev, mask, rh):
    """The gates of one GRU step with reset_after=False. gates: (N, 3U) ``x_t @ kernel +
    bias``, its z and r columns overwritten with the activations; hu: (N, 2U) ``h_prev @
    recurrent_kernel[:, :2U]``; writes rh: (N, U)::

        z = sigmoid(x_z + hu_z)    r = sigmoid(x_r + hu_r)    rh = r * h_prev
    """
    n_rows, units = rh.shape
    for n in range(n_rows):
        if not mask[n]:
            rh[n] = 0
            continue
        z_r, u = gates[n, :2 * units], hu[n]
        for j in range(2 * units):
            z_r[j] = sigmoid(z_r[j] + u[j])
        r_, h_p, rh_n = z_r[units:], h_prev[n], rh[n]
        for j in range(units):
            rh_n[j] = r_[j] * h_p[j]


@njit(**_JIT)
def gru_reset_before_candidate_forward(gates, hu, h_prev, mask, h):
    """The candidate and the state of one GRU step with reset_after=False. gates: (N, 3U)
    (z, r, x_h), x_h overwritten with hh; hu: (N, U) ``rh @ recurrent_kernel[:, 2U:]``; writes
    h: (N, U)::

        hh = tanh(x_h + hu)    h = z * h_prev + (1 - z) * hh
    """
    n_rows, units = h.shape
    one = one_of(h)
    for n in range(n_rows):
        if not mask[n]:
            h[n] = h_prev[n]
            continue
        z_, hh_, u, h_p, h_n = gates[n, :units], gates[n, 2 * units:], hu[n], h_prev[n], h[n]
        for j in range(units):
            hh = tanh(hh_[j] + u[j])
            hh_[j] = hh
            h_n[j] = z_[j] * h_p[j] + (one - z_[j]) * hh


@njit(**_JIT)
def gru_reset_before_candidate_backward(gates, h_prev, d_out, dh, mask):
    """Backward of the candidate kernel. gates: (N, 3U) (z, r, hh) -> (d_z, r, d_a); dh in
    place, from the gradient of h_t to its part through ``z * h_prev``::

        dh_t = dh + d_out    d_z = dh_t * (h_prev - hh) * z(1-z)
        d_a = dh_t * (1-z) * (1-hh^2)    dh = dh_t * z
    """
    n_rows, units = dh.shape
    one = one_of(dh)
    for n in range(n_rows):
        if not mask[n]:
            dh[n] += d_out[n]
            gates[n] = 0
            continue
        z_, hh_ = gates[n, :units], gates[n, 2 * units:]
        h_p, d_o, dh_n = h_prev[n], d_out[n], dh[n]
        for j in range(units):
            z, hh = z_[j], hh_[j]
            dh_total = dh_n[j] + d_o[j]
            z_[j] = dh_total * (h_p[j] - hh) * z * (one - z)
            hh_[j] = dh_total * (one - z) * (one - hh * hh)
            dh_n[j] = dh_total * z


@njit(**_JIT)
def gru_reset_before_gates_backward(gates, d_rh, h_prev, dh, mask):
    """Backward of the gates kernel, given d_rh: (N, U) = ``d_a @ recurrent_kernel[:, 2U:].T``.
    gates: (N, 3U) (d_z, r, d_a) -> (d_z, d_r, d_a); dh in place::

        d_r = d_rh * h_prev * r(1-r)    dh = dh + d_rh * r
    """
    n_rows, units = dh.shape
    one = one_of(dh)
    for n in range(n_rows):
        if not mask[n]:
            continue
        r_, d_rh_n, h_p, dh_n = gates[n, units:2 * units], d_rh[n], h_prev[n], dh[n]
        for j in range(units):
            r = r_[j]
            dh_n[j] += d_rh_n[j] * r
            r_[j] = d_rh_n[j] * h_p[j] * r * (one - r)


# --- simple RNN: h = activation(x @ kernel + h_prev @ recurrent_kernel + bias) ---------------

@njit(**_JIT)
def rnn_step_forward(gates, hu, h_prev, mask, relu, h):
    """One simple-RNN step. gates: (N, U) ``x_t @ kernel + bias``; hu: (N, U) ``h_prev @
    recurrent_kernel``; writes h: (N, U) = tanh(gates + hu), or max(gates + hu, 0) if ``relu``."""
    n_rows, units = h.shape
    zero = one_of(h) - one_of(h)
    for n in range(n_rows):
        if not mask[n]:
            h[n] = h_prev[n]
            continue
        a, u, h_n = gates[n], hu[n], h[n]
        if relu:
            for j in range(units):
                h_n[j] = max(a[j] + u[j], zero)
        else:
            for j in range(units):
                h_n[j] = tanh(a[j] + u[j])


@njit(**_JIT)
def rnn_step_backward(h, d_out, dh, mask, relu, d_gates):
    """Backward of one simple-RNN step from its output h: (N, U); d_out: (N, U); dh in place as
    in the LSTM; writes d_gates: (N, U) = (dh + d_out) * (1 - h^2), or * (h > 0) if ``relu``."""
    n_rows, units = h.shape
    one = one_of(h)
    zero = one - one
    for n in range(n_rows):
        if not mask[n]:
            dh[n] += d_out[n]
            d_gates[n] = 0
            continue
        h_n, d_o, dh_n, d_a = h[n], d_out[n], dh[n], d_gates[n]
        if relu:
            for j in range(units):
                d_a[j] = dh_n[j] + d_o[j] if h_n[j] > zero else zero
                dh_n[j] = 0
        else:
            for j in range(units):
                d_a[j] = (dh_n[j] + d_o[j]) * (one - h_n[j] * h_n[j])
                dh_n[j] = 0
