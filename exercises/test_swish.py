"""Grades exercises/swish.py:  pytest exercises/test_swish.py"""

import numpy as np

import minigrad as mg


def test_forward_is_x_times_sigmoid(solution):
    x = mg.randn(4, 5) * 4
    y = solution.swish(x)
    assert y.shape == (4, 5) and y.dtype == mg.float32, (
        f"swish of a float32 (4, 5) tensor gave {y.dtype} {y.shape}; expected float32 (4, 5)")
    np.testing.assert_allclose(y.numpy(), (x * mg.sigmoid(x)).numpy(), rtol=1e-6, atol=1e-7,
                               err_msg="swish(x) should be x * sigmoid(x)")


def test_forward_is_one_op(solution):
    y = solution.swish(mg.randn(3, requires_grad=True))
    assert y.grad_fn.name == "Swish", "swish(x) should be a single Swish op in the graph"


def test_backward_passes_gradcheck(solution):
    x = mg.tensor(np.linspace(-8, 8, 33), dtype="float64", requires_grad=True)
    assert mg.testing.gradcheck(solution.swish, x)
    assert mg.testing.gradcheck(solution.swish, mg.randn(2, 3, 4, dtype="float64",
                                                          requires_grad=True))


def test_backward_matches_minigrads_own_ops(solution):
    x = mg.randn(6, 7, requires_grad=True)
    solution.swish(x).sum().backward()
    ours = x.grad.numpy()
    x.grad = None
    (x * mg.sigmoid(x)).sum().backward()
    assert x.grad.dtype == mg.float32 and ours.dtype == np.float32, (
        f"the gradient of a float32 input came back {ours.dtype}; expected float32")
    np.testing.assert_allclose(ours, x.grad.numpy(), rtol=1e-5, atol=1e-6, err_msg=(
        "d(swish)/dx differs from the gradient of x * mg.sigmoid(x); it should be "
        "sigmoid(x) + x * sigmoid(x) * (1 - sigmoid(x))"))


def test_backward_scales_with_the_incoming_gradient(solution):
    x = mg.tensor([-1.0, 0.0, 2.0], dtype="float64", requires_grad=True)
    solution.swish(x).backward(mg.tensor([1.0, 2.0, 3.0], dtype="float64"))
    s = 1 / (1 + np.exp(-x.numpy()))
    expected = np.array([1.0, 2.0, 3.0]) * (s + x.numpy() * s * (1 - s))
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12, err_msg=(
        "x.grad should be grad * d(swish)/dx: backward must multiply the derivative by the "
        "incoming gradient (here [1, 2, 3])"))
