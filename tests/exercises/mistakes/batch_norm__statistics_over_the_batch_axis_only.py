"""For (N, H, W, C) images the statistics are taken over N only (axis 0), one per pixel and
channel, instead of over N, H and W together."""
# expect: new_moving_mean of an input of shape \(4, 3, 5, 2\) .* \(2,\), got \(3, 5, 2\)

import numpy as np


def batch_norm_train(x, gamma, beta, moving_mean, moving_var, momentum=0.99, epsilon=1e-3):
    axes = (0,)
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
    axes = (0,)
    d_beta = dy.sum(axis=axes)
    d_gamma = (dy * x_hat).sum(axis=axes)
    m = dy.shape[0]
    dx = gamma * inv_std * (dy - d_beta / m - x_hat * d_gamma / m)
    return dx, d_gamma, d_beta
