"""Planted mistake in adam: m and v are used without their bias correction, so the first steps are
far too small."""
# expect: should move every parameter by about lr.*bias correction

import numpy as np


def adam_update(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat = m
    v_hat = v
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
