"""Writing your own Function: the contract the engine enforces."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import Function


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad * 3 * x ** 2


class WrongShape(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return grad.sum(axis=0)


class TooManyGrads(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


def test_custom_function_gradient_is_checked_numerically():
    x = mg.randn(3, 4, dtype="float64", requires_grad=True)
    assert mg.testing.gradcheck(Cube.apply, x)


def test_custom_function_records_its_node():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = Cube.apply(x)
    assert y.grad_fn.name == "Cube"
    assert "grad_fn=<Cube>" in repr(y)


def test_backward_of_the_wrong_shape_is_reported_with_the_op_name():
    x = mg.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"WrongShape.backward returned a gradient of shape "
                                           r"\(3,\) for an input of shape \(2, 3\)"):
        WrongShape.apply(x).sum().backward()


def test_backward_returning_too_many_gradients_is_reported():
    x = mg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="TooManyGrads.backward returned 2 gradients for 1"):
        TooManyGrads.apply(x).sum().backward()


def test_mixing_devices_names_both(monkeypatch):
    class FakeBackend:
        name = "cuda"
        xp = np

    x = mg.ones(2)
    y = mg.ones(2)
    y._backend = FakeBackend()  # stands in for a GPU tensor: the check happens before any work
    with pytest.raises(RuntimeError, match=r"same device.*'cpu' and 'cuda'"):
        x + y


def test_needs_input_grad_lets_backward_skip_work():
    seen = {}

    class Probe(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, grad):
            seen["needs"] = ctx.needs_input_grad
            return grad, None

    a = mg.ones(2, requires_grad=True)
    Probe.apply(a, mg.ones(2)).sum().backward()
    assert seen["needs"] == (True, False)
