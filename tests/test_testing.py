"""mg.testing.gradcheck: passes correct gradients, and reports wrong ones precisely."""

import pytest

import minigrad as mg
from minigrad.autograd import Function
from minigrad.testing import GradcheckError, gradcheck


class BadSquare(Function):
    """x**2 with a deliberately wrong backward at one element."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        result = grad * 2 * x
        result[1, 2] += 1.0
        return result


def test_gradcheck_passes_a_correct_gradient():
    x = mg.randn(3, 4, dtype="float64", requires_grad=True)
    y = mg.randn(4, 2, dtype="float64", requires_grad=True)
    assert gradcheck(lambda a, b: mg.tanh(a @ b), x, y) is True


def test_gradcheck_reports_input_element_and_values():
    x = mg.randn(3, 4, dtype="float64", requires_grad=True)
    with pytest.raises(GradcheckError, match=r"input 0 \(shape \(3, 4\)\) at element \(1, 2\): "
                                             r"analytic .* vs numeric .*1 of 12 elements"):
        gradcheck(BadSquare.apply, x)


def test_gradcheck_names_the_failing_input_among_several():
    a = mg.randn(2, dtype="float64", requires_grad=True)
    b = mg.randn(3, 4, dtype="float64", requires_grad=True)
    with pytest.raises(GradcheckError, match=r"input 1 \(shape \(3, 4\)\)"):
        gradcheck(lambda p, q: BadSquare.apply(q) + p.sum(), a, b)


def test_gradcheck_requires_float64():
    x = mg.randn(3, requires_grad=True)
    with pytest.raises(ValueError, match="input 0 has dtype float32; use float64"):
        gradcheck(lambda t: t * 2, x)


def test_gradcheck_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="no input tensor has requires_grad=True"):
        gradcheck(lambda t: t * 2, mg.randn(3, dtype="float64"))


def test_gradcheck_leaves_existing_grads_alone():
    x = mg.randn(3, dtype="float64", requires_grad=True)
    (x * 5).sum().backward()
    before = x.grad.numpy().copy()
    gradcheck(lambda t: t * t, x)
    assert (x.grad.numpy() == before).all()
