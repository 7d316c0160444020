"""Kernel-table entries written once against an array module ``xp`` (NumPy or CuPy).

These are the vectorized formulations of the backend kernels: a few array expressions each,
never a Python loop over pixels or elements. Who uses them:

- the CPU backend, for the entries that NumPy does well (average pooling, softmax cross-entropy,
  dropout, the optimizer updates); its other entries are Numba loops (``cpu_kernels/``);
- the CUDA backend, as the fallback where its ``.cu`` kernels do not apply (float16, arrays
  that are not C-contiguous) -- and everywhere when it runs without kernels, as the tests do
  with NumPy standing in for CuPy.

Every function takes ``xp`` first; the other arguments and the results are those of the
backend method of the same name, whose contract is on :class:`~minigrad.backends.Backend`.
"""

import math

import numpy as np


# --- convolution and pooling: (N, H, W, C) images, one vectorized step per cell of the window ---

def pad_images(xp, x, padding, value):
    """(N, H, W, C) images with ``padding`` ((top, bottom), (left, right)) of ``value``."""
    if not any(padding[0]) and not any(padding[1]):
        return x
    return xp.pad(x, ((0, 0), tuple(padding[0]), tuple(padding[1]), (0, 0)),
                  constant_values=value)


def window_cells(i, j, strides, out_hw):
    """The index of cell (i, j) (offsets into the padded image) of every window: an
    (N, OH, OW, C) strided view of the padded images."""
    (sh, sw), (out_h, out_w) = strides, out_hw
    return (slice(None), slice(i, i + sh * (out_h - 1) + 1, sh),
            slice(j, j + sw * (out_w - 1) + 1, sw), slice(None))


def im2col(xp, x, window, strides, dilation, padding, out_hw):
    n, _, _, channels = x.shape
    (kh, kw), (dh, dw), (out_h, out_w) = window, dilation, out_hw
    padded = pad_images(xp, x, padding, 0)
    cols = xp.empty((n, out_h, out_w, kh, kw, channels), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, :, i, j, :] = padded[window_cells(i * dh, j * dw, strides, out_hw)]
    return cols.reshape(n * out_h * out_w, kh * kw * channels)


def col2im(xp, cols, x_shape, window, strides, dilation, padding, out_hw):
    n, height, width, channels = x_shape
    (kh, kw), (dh, dw), ((top, bottom), (left, right)) = window, dilation, padding
    grad = xp.zeros((n, height + top + bottom, width + left + right, channels), dtype=cols.dtype)
    cols = cols.reshape(n, out_hw[0], out_hw[1], kh, kw, channels)
    for i in range(kh):
        for j in range(kw):
            grad[window_cells(i * dh, j * dw, strides, out_hw)] += cols[:, :, :, i, j, :]
    return xp.ascontiguousarray(grad[:, top:top + height, left:left + width, :])


def max_pool2d(xp, x, window, strides, padding, out_hw):
    _, height, width, channels = x.shape
    (kh, kw), (sh, sw), (out_h, out_w) = window, strides, out_hw
    top, left = padding[0][0], padding[1][0]
    padded = pad_images(xp, x, padding, -np.inf)
    out = xp.full((x.shape[0], out_h, out_w, channels), -np.inf, dtype=x.dtype)
    argmax = xp.zeros((x.shape[0], out_h, out_w, channels), dtype=np.int32)
    seen = np.zeros((out_h, out_w), dtype=bool)  # some earlier cell of the window was inside
    for i in range(kh):
        h = np.arange(out_h) * sh - top + i  # the image row of cell i of each window
        rows = (h >= 0) & (h < height)
        for j in range(kw):
            w = np.arange(out_w) * sw - left + j
            columns = (w >= 0) & (w < width)
            inside = rows[:, None] & columns[None, :]
            values = padded[window_cells(i, j, strides, out_hw)]
            first = xp.asarray((inside & ~seen)[None, :, :, None])
            take = xp.asarray(inside[None, :, :, None]) & (
                first | (values > out) | xp.isnan(values))
            out = xp.where(take, values, out)
            argmax = xp.where(take, np.int32(i * kw + j), argmax)
            seen |= inside
    return out, argmax


def max_pool2d_backward(xp, grad, argmax, x_shape, window, strides, padding):
    n, height, width, channels = x_shape
    (kh, kw), ((top, bottom), (left, right)) = window, padding
    out_hw = grad.shape[1:3]
    grad_x = xp.zeros((n, height + top + bottom, width + left + right, channels),
                      dtype=grad.dtype)
    for i in range(kh):
        for j in range(kw):
            won = argmax == i * kw + j
            grad_x[window_cells(i, j, strides, out_hw)] += xp.where(won, grad, 0)
    return xp.ascontiguousarray(grad_x[:, top:top + height, left:left + width, :])


def avg_pool2d(xp, x, window, strides, padding, out_hw):
    (top, bottom), (left, right) = padding
    padded = x
    if top or bottom or left or right:
        padded = xp.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    total = xp.zeros((x.shape[0], *out_hw, x.shape[3]), dtype=x.dtype)
    for i in range(window[0]):
        for j in range(window[1]):
            total += padded[window_cells(i, j, strides, out_hw)]
    return total / window_counts(xp, x.shape, window, strides, padding, out_hw, total.dtype)


def avg_pool2d_backward(xp, grad, x_shape, window, strides, padding):
    (top, bottom), (left, right) = padding
    n, height, width, channels = x_shape
    out_hw = grad.shape[1:3]
    # Every cell of a window gets the window's gradient divided by the cells averaged.
    share = grad / window_counts(xp, x_shape, window, strides, padding, out_hw, grad.dtype)
    grad_x = xp.zeros((n, height + top + bottom, width + left + right, channels),
                      dtype=share.dtype)
    for i in range(window[0]):
        for j in range(window[1]):
            grad_x[window_cells(i, j, strides, out_hw)] += share
    return grad_x[:, top:top + height, left:left + width, :]


def window_counts(xp, x_shape, window, strides, padding, out_hw, dtype):
    """How many cells of each window lie inside the image, as (1, OH, OW, 1): the window's
    rows inside times its columns inside (Keras leaves padded cells out of the average)."""
    per_axis = []
    for size, k, s, (before, _), out in zip(x_shape[1:3], window, strides, padding, out_hw):
        start = xp.arange(out) * s - before
        per_axis.append(xp.minimum(start + k, size) - xp.maximum(start, 0))
    counts = per_axis[0][:, None] * per_axis[1][None, :]
    return counts.astype(dtype).reshape(1, out_hw[0], out_hw[1], 1)


# --- recurrent steps: the contracts of Backend.lstm_step_forward etc. as array code ------------
# sigmoid(x) = (1 + tanh(x / 2)) / 2 cannot overflow. Every new value is computed before the
# first write, since the gate slices are views of ``gates``.

def lstm_step_forward(xp, gates, hu, h_prev, c_prev, mask, h, c):
    units, keep = h.shape[1], mask[:, None]
    a = gates + hu
    i_f = 0.5 * xp.tanh(0.5 * a[:, :2 * units]) + 0.5
    g = xp.tanh(a[:, 2 * units:3 * units])
    o = 0.5 * xp.tanh(0.5 * a[:, 3 * units:]) + 0.5
    c_new = i_f[:, units:] * c_prev + i_f[:, :units] * g
    c[...] = xp.where(keep, c_new, c_prev)
    h[...] = xp.where(keep, o * xp.tanh(c_new), h_prev)
    gates[...] = xp.where(keep, xp.concatenate([i_f, g, o], axis=1), 0)


def lstm_step_backward(xp, gates, c, c_prev, d_out, dh, dc, mask):
    units, keep = dh.shape[1], mask[:, None]
    i, f, g, o = (gates[:, k * units:(k + 1) * units] for k in range(4))
    tanh_c = xp.tanh(c)
    dh_total = dh + d_out
    dc_total = dc + dh_total * o * (1 - tanh_c * tanh_c)
    d_gates = xp.concatenate([dc_total * g * i * (1 - i), dc_total * c_prev * f * (1 - f),
                              dc_total * i * (1 - g * g), dh_total * tanh_c * o * (1 - o)],
                             axis=1)
    dc_prev = dc_total * f
    gates[...] = xp.where(keep, d_gates, 0)
    dc[...] = xp.where(keep, dc_prev, dc)
    dh[...] = xp.where(keep, 0, dh_total)


def gru_step_forward(xp, gates, hu, recurrent_bias, h_prev, mask, rh, h):
    units, keep = h.shape[1], mask[:, None]
    u = hu + recurrent_bias
    z_r = 0.5 * xp.tanh(0.5 * (gates[:, :2 * units] + u[:, :2 * units])) + 0.5
    z, r, u_h = z_r[:, :units], z_r[:, units:], u[:, 2 * units:]
    hh = xp.tanh(gates[:, 2 * units:] + r * u_h)
    h[...] = xp.where(keep, z * h_prev + (1 - z) * hh, h_prev)
    rh[...] = xp.where(keep, u_h, 0)
    gates[...] = xp.where(keep, xp.concatenate([z_r, hh], axis=1), 0)


def gru_step_backward(xp, gates, rh, h_prev, d_out, dh, mask, d_recurrent):
    units, keep = dh.shape[1], mask[:, None]
    z, r, hh = (gates[:, k * units:(k + 1) * units] for k in range(3))
    dh_total = dh + d_out
    d_z = dh_total * (h_prev - hh) * z * (1 - z)
    d_a = dh_total * (1 - z) * (1 - hh * hh)
    d_r = d_a * rh * r * (1 - r)
    d_input = xp.concatenate([d_z, d_r, d_a], axis=1)
    d_rec = xp.concatenate([d_z, d_r, d_a * r], axis=1)
    dh_prev = dh_total * z
    gates[...] = xp.where(keep, d_input, 0)
    d_recurrent[...] = xp.where(keep, d_rec, 0)
    dh[...] = xp.where(keep, dh_prev, dh_total)


def gru_reset_before_gates_forward(xp, gates, hu, h_prev, mask, rh):
    units, keep = rh.shape[1], mask[:, None]
    z_r = 0.5 * xp.tanh(0.5 * (gates[:, :2 * units] + hu)) + 0.5
    rh[...] = xp.where(keep, z_r[:, units:] * h_prev, 0)
    gates[:, :2 * units] = z_r


def gru_reset_before_candidate_forward(xp, gates, hu, h_prev, mask, h):
    units, keep = h.shape[1], mask[:, None]
    z = gates[:, :units]
    hh = xp.tanh(gates[:, 2 * units:] + hu)
    h[...] = xp.where(keep, z * h_prev + (1 - z) * hh, h_prev)
    gates[:, 2 * units:] = hh


def gru_reset_before_candidate_backward(xp, gates, h_prev, d_out, dh, mask):
    units, keep = dh.shape[1], mask[:, None]
    z, r, hh = (gates[:, k * units:(k + 1) * units] for k in range(3))
    dh_total = dh + d_out
    d_gates = xp.concatenate([dh_total * (h_prev - hh) * z * (1 - z), r,
                              dh_total * (1 - z) * (1 - hh * hh)], axis=1)
    dh_prev = dh_total * z
    gates[...] = xp.where(keep, d_gates, 0)
    dh[...] = xp.where(keep, dh_prev, dh_total)


def gru_reset_before_gates_backward(xp, gates, d_rh, h_prev, dh, mask):
    units, keep = dh.shape[1], mask[:, None]
    r = gates[:, units:2 * units]
    d_r = d_rh * h_prev * r * (1 - r)
    dh[...] = xp.where(keep, dh + d_rh * r, dh)
    gates[:, units:2 * units] = xp.where(keep, d_r, r)


def rnn_step_forward(xp, gates, hu, h_prev, mask, relu, h):
    a = gates + hu
    h[...] = xp.where(mask[:, None], xp.maximum(a, 0) if relu else xp.tanh(a), h_prev)


def rnn_step_backward(xp, h, d_out, dh, mask, relu, d_gates):
    keep = mask[:, None]
    dh_total = dh + d_out
    d_a = dh_total * (h > 0) if relu else dh_total * (1 - h * h)
    d_gates[...] = xp.where(keep, d_a, 0)
    dh[...] = xp.where(keep, 0, dh_total)


# --- softmax cross-entropy on logits (..., C), classes last --------------------------------------
# The forward returns the per-row losses and the log-softmax, which the backward takes back.

def log_softmax(xp, x):
    """log(softmax(x)) over the last axis, from x - max(x) (finite for logits of 1e4)."""
    shifted = x - xp.max(x, axis=-1, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=-1, keepdims=True))


def softmax_cross_entropy(xp, x, targets):
    log_p = log_softmax(xp, x)
    return -(targets * log_p).sum(axis=-1), log_p


def softmax_cross_entropy_backward(xp, log_p, targets, grad):
    # d/dx_j -sum_k t_k log_softmax(x)_k = softmax(x)_j sum_k t_k - t_j
    d = xp.exp(log_p) * targets.sum(axis=-1, keepdims=True) - targets
    return grad[..., None] * d


def sparse_softmax_cross_entropy(xp, x, labels):
    log_p = log_softmax(xp, x)
    picked = xp.take_along_axis(log_p, labels[..., None], axis=-1)[..., 0]
    return -picked, log_p


def sparse_softmax_cross_entropy_backward(xp, log_p, labels, grad):
    # d/dx_j -log_softmax(x)_label = softmax(x)_j - [j == label]
    one_hot = xp.arange(log_p.shape[-1]) == labels[..., None]
    return grad[..., None] * (xp.exp(log_p) - one_hot)


# --- dropout --------------------------------------------------------------------------------------

def dropout(xp, x, keep, uniform):
    """``uniform(shape, dtype)`` draws U[0, 1); the scale (0 or 1/keep per element) is kept."""
    floating = x.dtype.kind == "f" and x.dtype.itemsize >= 4  # float16 is drawn as float32
    sample_dtype = x.dtype if floating else np.dtype(np.float32)
    # The kept elements are scaled by 1/keep so that the expected value is unchanged.
    scale = (uniform(x.shape, sample_dtype) < keep).astype(x.dtype) / keep
    return x * scale, scale


def dropout_backward(xp, grad, scale, keep):
    return grad * scale


# --- optimizer updates: each parameter's arrays updated in place, one after the other -----------

def sgd_step(xp, params, grads, buffers, lr, weight_decay, momentum, dampening, nesterov):
    new_buffers = []
    for param, grad, buf in zip(params, grads, buffers):
        if weight_decay != 0:
            grad = grad + weight_decay * param                        # g += wd * w
        if momentum != 0:
            if buf is None:
                buf = grad.copy()                                     # b = g
            else:
                buf *= momentum                                       # b = mu * b
                buf += (1.0 - dampening) * grad                       #     + (1 - d) * g
            if nesterov:
                grad = grad + momentum * buf                          # g = g + mu * b
            else:
                grad = buf                                            # g = b
        new_buffers.append(buf)
        param -= lr * grad                                            # w -= lr * g
    return new_buffers


def adam_step(xp, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, step, lr, betas, eps,
              weight_decay, decoupled, amsgrad):
    beta1, beta2 = betas
    for k, (param, grad, m, v) in enumerate(zip(params, grads, exp_avgs, exp_avg_sqs)):
        if weight_decay != 0:
            if decoupled:
                param *= 1.0 - lr * weight_decay                      # w *= 1 - lr * wd
            else:
                grad = grad + weight_decay * param                    # g += wd * w
        m *= beta1                                                    # m = b1 * m
        m += (1.0 - beta1) * grad                                     #   + (1 - b1) g
        v *= beta2                                                    # v = b2 * v
        v += (1.0 - beta2) * grad * grad                              #   + (1 - b2) g^2
        if amsgrad:
            v = xp.maximum(max_exp_avg_sqs[k], v, out=max_exp_avg_sqs[k])  # v_max
        step_size = lr / (1.0 - beta1 ** step)                        # lr / (1 - b1^t)
        denom = xp.sqrt(v) / math.sqrt(1.0 - beta2 ** step) + eps     # sqrt(v_hat) + eps
        param -= step_size * (m / denom)                              # w -= ... * m / denom


def batch_norm_backward_sums(xp, grad, x, mean):
    return grad.sum(axis=0), (grad * (x - mean)).sum(axis=0)


def batch_norm_input_grad(xp, grad, x, mean, per_centered, mean_grad, scale, out):
    xp.subtract(x, mean, out=out)
    out *= per_centered
    xp.subtract(grad, out, out=out)
    out -= mean_grad
    out *= scale
    return out
