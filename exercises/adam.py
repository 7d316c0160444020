"""Exercise 10, part 2: the Adam optimizer's update rule.

Adam (Kingma & Ba, 2015) keeps two running averages per parameter: ``m`` of the gradients and
``v`` of their squares. Step ``t`` (counting from 1) is::

    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat = m / (1 - beta1**t)          # bias correction: m and v start at zero
    v_hat = v / (1 - beta2**t)
    param = param - lr * m_hat / (sqrt(v_hat) + eps)

Implement ``adam_update`` on NumPy arrays; return new arrays (do not modify the inputs).
Grade it with::

    python -m exercises check 10        # or: pytest exercises/test_adam.py
"""

import numpy as np  # noqa: F401  (you will need it)


def adam_update(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step; returns ``(param, m, v)``, the new values."""
    raise NotImplementedError("exercise: update m and v, correct their bias, step param")
