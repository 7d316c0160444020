"""dx treats the batch mean and variance as constants: dx = gamma * dy / std, without the
two terms that flow through the statistics."""
# expect: differs from minigrad.s batch_norm backward -- x reaches y directly AND through

import numpy as np


def batch_norm_train(x, gamma, beta, moving_mean, moving_var, momentum=0.99, epsilon=1e-3):
    axes = tuple(range(x.ndim - 1))
    mean = x.mean(axis=axes)
    var = x.var(axis=axes)  # biased: divides by m
    inv_std = 1 / np.sqrt(var + epsilon)
    x_hat = (x - mean) * inv_std
    y = gamma * x_hat + beta
    new_mean = momentum * moving_mean + (1 - momentum) * mean
    new_var = momentum * moving_var + (1 - momentum) * var
    return y, new_mean, new_var, (x_hat, inv_std, gamma)


def batch_norm_inference(x, gamma, beta, moving_mean, moving_var, epsilon=1e-3):
    return gamma * (x - moving_mean) / np.sqrt(moving_var + epsilon) + beta


def batch_norm_backward(dy, cache):
    x_hat, inv_std, gamma = cache
    axes = tuple(range(dy.ndim - 1))
    d_beta = dy.sum(axis=axes)
    d_gamma = (dy * x_hat).sum(axis=axes)
    dx = gamma * inv_std * dy
    return dx, d_gamma, d_beta
