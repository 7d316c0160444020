"""Grades exercises/adam.py:  pytest exercises/test_adam.py"""

import numpy as np
import pytest

import minigrad as mg


def test_the_first_step_moves_each_parameter_by_about_lr(solution):
    # With bias correction, m_hat = grad and v_hat = grad**2 at t = 1: every step is ~lr.
    param = np.array([1.0, -2.0, 3.0])
    grad = np.array([0.5, -100.0, 1e-3])
    new, m, v = solution.adam_update(param, grad, np.zeros(3), np.zeros(3), t=1, lr=0.01)
    np.testing.assert_allclose(m, 0.1 * grad, err_msg=(
        "m after the first step (m = 0 before) should be (1 - beta1) * grad"))
    np.testing.assert_allclose(v, 0.001 * grad ** 2, err_msg=(
        "v after the first step (v = 0 before) should be (1 - beta2) * grad**2"))
    np.testing.assert_allclose(param - new, 0.01 * np.sign(grad), rtol=1e-4, err_msg=(
        "the first step (t = 1, lr = 0.01) should move every parameter by about lr, whatever "
        "its gradient's scale: with the bias correction m_hat = m / (1 - beta1**t) = grad and "
        "v_hat = v / (1 - beta2**t) = grad**2"))


def test_the_inputs_are_not_modified(solution):
    param, grad, m, v = np.ones(3), np.full(3, 0.5), np.zeros(3), np.zeros(3)
    solution.adam_update(param, grad, m, v, t=1)
    for name, array, value in (("param", param, 1.0), ("grad", grad, 0.5), ("m", m, 0.0),
                               ("v", v, 0.0)):
        assert (array == value).all(), (
            f"adam_update changed its input {name} in place (now {array}); return new arrays "
            "(e.g. m = beta1 * m + ..., not m *= beta1)")


@pytest.mark.parametrize("lr, betas", [(0.1, (0.9, 0.999)), (0.03, (0.5, 0.9))])
def test_twenty_steps_match_minigrads_adam(solution, lr, betas):
    target = np.array([[1.0, -2.0], [0.5, 3.0]])
    start = np.random.default_rng(0).normal(size=(2, 2))
    w = mg.tensor(start, requires_grad=True)
    opt = mg.optim.Adam([w], lr=lr, betas=betas, eps=1e-8)
    param, m, v = start.copy(), np.zeros_like(start), np.zeros_like(start)
    for t in range(1, 21):
        opt.zero_grad()
        ((w - mg.tensor(target)) ** 2).sum().backward()
        opt.step()
        grad = 2 * (param - target)
        param, m, v = solution.adam_update(param, grad, m, v, t, lr=lr, beta1=betas[0],
                                           beta2=betas[1], eps=1e-8)
        np.testing.assert_allclose(param, w.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=f"step {t} (lr={lr}, betas={betas}): param "
                                           "differs from mg.optim.Adam's")
