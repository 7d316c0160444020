"""Grades exercises/sgd_momentum.py:  pytest exercises/test_sgd_momentum.py"""

import numpy as np
import pytest

import minigrad as mg


def settings(momentum, nesterov, weight_decay):
    return f"momentum={momentum}, nesterov={nesterov}, weight_decay={weight_decay}"


def test_without_momentum_it_is_plain_sgd(solution):
    param, grad = np.array([1.0, -2.0, 3.0]), np.array([0.5, -1.0, 4.0])
    new, _ = solution.sgd_update(param, grad, np.zeros(3), lr=0.1)
    np.testing.assert_allclose(new, [0.95, -1.9, 2.6], rtol=1e-12,
                               err_msg="momentum=0: the step should be param - lr * grad")


def test_the_first_momentum_step_is_a_plain_step_and_sets_the_velocity(solution):
    # velocity starts at zero, so after one step it is the gradient itself (no 1 - momentum).
    param, grad = np.array([1.0, -2.0]), np.array([0.5, -1.0])
    new, velocity = solution.sgd_update(param, grad, np.zeros(2), lr=0.1, momentum=0.9)
    np.testing.assert_allclose(velocity, grad, rtol=1e-12, err_msg=(
        "after the first step (velocity 0 before) the velocity should equal the gradient: "
        "velocity = momentum * velocity + grad"))
    np.testing.assert_allclose(new, param - 0.1 * grad, rtol=1e-12,
                               err_msg="momentum=0.9: the first step should be param - lr * grad")


def test_the_inputs_are_not_modified(solution):
    param, grad, velocity = np.ones(3), np.full(3, 0.5), np.full(3, 0.25)
    solution.sgd_update(param, grad, velocity, lr=0.1, momentum=0.9, nesterov=True,
                        weight_decay=0.01)
    for name, array, value in (("param", param, 1.0), ("grad", grad, 0.5),
                               ("velocity", velocity, 0.25)):
        assert (array == value).all(), (
            f"sgd_update changed its input {name} in place (now {array}); return new arrays "
            "(e.g. velocity = momentum * velocity + g, not velocity *= momentum)")


def test_float32_stays_float32(solution):
    param = np.ones((2, 3), np.float32)
    new, velocity = solution.sgd_update(param, np.full((2, 3), 0.5, np.float32),
                                        np.zeros((2, 3), np.float32), lr=0.1, momentum=0.9,
                                        weight_decay=0.01)
    assert new.dtype == np.float32 and velocity.dtype == np.float32, (
        f"float32 inputs gave param {new.dtype} and velocity {velocity.dtype}; expected float32")
    assert new.shape == (2, 3) and velocity.shape == (2, 3), (
        f"param (2, 3) gave shapes {new.shape} and {velocity.shape}; expected (2, 3)")


@pytest.mark.parametrize("momentum, nesterov, weight_decay", [
    (0.0, False, 0.0), (0.9, False, 0.0), (0.9, True, 0.0), (0.9, False, 0.01),
    (0.5, True, 0.1), (0.0, False, 0.1)])
def test_twenty_steps_match_minigrads_sgd(solution, momentum, nesterov, weight_decay):
    target = np.array([[1.0, -2.0], [0.5, 3.0]])
    scale = np.array([[1.0, 10.0], [0.1, 3.0]])  # a valley: steep in some directions
    start = np.random.default_rng(0).normal(size=(2, 2))
    w = mg.tensor(start, requires_grad=True)
    opt = mg.optim.SGD([w], lr=0.02, momentum=momentum, nesterov=nesterov,
                       weight_decay=weight_decay)
    param, velocity = start.copy(), np.zeros_like(start)
    where = settings(momentum, nesterov, weight_decay)
    for t in range(1, 21):
        opt.zero_grad()
        (mg.tensor(scale) * (w - mg.tensor(target)) ** 2).sum().backward()
        opt.step()
        grad = 2 * scale * (param - target)
        param, velocity = solution.sgd_update(param, grad, velocity, lr=0.02, momentum=momentum,
                                              nesterov=nesterov, weight_decay=weight_decay)
        if momentum:
            np.testing.assert_allclose(
                velocity, opt.state[id(w)]["momentum_buffer"], rtol=1e-10, atol=1e-12,
                err_msg=f"step {t} ({where}): the velocity differs from mg.optim.SGD's")
        np.testing.assert_allclose(param, w.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=f"step {t} ({where}): param differs from "
                                           "mg.optim.SGD's")
