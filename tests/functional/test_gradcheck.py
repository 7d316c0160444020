"""Every differentiable op's backward agrees with finite differences, in float64."""

import pytest

import minigrad as mg

from ._specs import SPECS, make_arrays


@pytest.mark.parametrize("op", SPECS, ids=lambda op: op.id)
def test_backward_matches_finite_differences(op, device):
    inputs = [mg.tensor(a, dtype="float64", device=device, requires_grad=True)
              for a in make_arrays(op)]
    assert mg.testing.gradcheck(op.fn, *inputs, **op.gradcheck_kwargs)


def test_gradcheck_catches_a_wrong_backward(device):
    """The check above can fail: a deliberately wrong derivative is reported."""

    class WrongSquare(mg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved
            return grad * x  # should be 2 x

    x = mg.tensor([1.0, -2.0, 3.0], dtype="float64", device=device, requires_grad=True)
    with pytest.raises(mg.testing.GradcheckError, match="analytic .* vs numeric"):
        mg.testing.gradcheck(WrongSquare.apply, x)
