"""linear: x @ kernel + bias as one op."""

import numpy as np
import pytest

import minigrad as mg

from ._specs import NO_TORCH


@pytest.mark.parametrize("x_shape", [(4, 3), (2, 5, 3), (3,)])
def test_linear_gradcheck(x_shape, device):
    x = mg.randn(*x_shape, dtype="float64", device=device, requires_grad=True)
    kernel = mg.randn(3, 2, dtype="float64", device=device, requires_grad=True)
    bias = mg.randn(2, dtype="float64", device=device, requires_grad=True)
    assert mg.testing.gradcheck(mg.linear, x, kernel, bias)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linear_matches_torch(dtype, device):
    torch = pytest.importorskip("torch", reason=NO_TORCH)
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(dtype) for s in ((2, 4, 3), (3, 5), (5,), (2, 4, 5))]
    x, kernel, bias = (mg.tensor(a, device=device, requires_grad=True) for a in arrays[:3])
    out = mg.linear(x, kernel, bias)
    out.backward(mg.tensor(arrays[3], device=device))
    tx, tk, tb = (torch.tensor(a, requires_grad=True) for a in arrays[:3])
    expected = torch.nn.functional.linear(tx, tk.T, tb)
    expected.backward(torch.tensor(arrays[3]))
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=tol, atol=tol)
    for ours, theirs in ((x, tx), (kernel, tk), (bias, tb)):
        assert ours.grad.dtype == np.dtype(dtype)
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=tol, atol=tol)


def test_linear_without_bias_is_matmul():
    x, kernel = mg.randn(2, 3), mg.randn(3, 4)
    np.testing.assert_array_equal(mg.linear(x, kernel).numpy(), (x @ kernel).numpy())


def test_linear_names_mismatched_shapes():
    with pytest.raises(ValueError, match=r"x of shape \(2, 4\) does not fit a kernel of shape "
                                         r"\(3, 5\)"):
        mg.linear(mg.ones(2, 4), mg.ones(3, 5), mg.zeros(5))
    with pytest.raises(ValueError, match=r"bias of shape \(4,\).*expected \(5,\)"):
        mg.linear(mg.ones(2, 3), mg.ones(3, 5), mg.zeros(4))
