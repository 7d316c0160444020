"""In-place updates (x -= y, x[key] = v): allowed outside the graph, refused inside it."""

import numpy as np
import pytest

import minigrad as mg


@pytest.mark.parametrize("operation, expected", [
    (lambda x, y: x.__iadd__(y), [3.0, 4.0]), (lambda x, y: x.__isub__(y), [-1.0, 0.0]),
    (lambda x, y: x.__imul__(y), [2.0, 4.0]), (lambda x, y: x.__itruediv__(y), [0.5, 1.0])])
def test_in_place_operators_change_the_tensor_itself(operation, expected, device):
    x = mg.tensor([1.0, 2.0], device=device)
    alias = x
    result = operation(x, mg.tensor(2.0, device=device))
    assert result is alias
    np.testing.assert_allclose(alias.numpy(), expected)
    assert alias.dtype == mg.float32


def test_parameter_update_under_no_grad_the_pytorch_way(device):
    w = mg.tensor([1.0, -1.0], device=device, requires_grad=True)
    params = [w]
    (w * w).sum().backward()
    with mg.no_grad():
        for p in params:
            p -= 0.25 * p.grad
    np.testing.assert_allclose(w.numpy(), [0.5, -0.5])
    assert w.requires_grad and w.is_leaf


def test_in_place_on_a_tensor_that_requires_grad_is_refused_while_recording(device):
    w = mg.ones(2, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place -= on a tensor that requires grad.*no_grad"):
        w -= 1.0
    with pytest.raises(RuntimeError, match="assignment.*requires grad"):
        w[0] = 5.0
    np.testing.assert_array_equal(w.numpy(), [1.0, 1.0])


def test_in_place_keeps_the_dtype_and_refuses_what_does_not_fit(device):
    x = mg.zeros(2, 3, device=device)
    x += mg.ones(3, dtype="float64", device=device)  # broadcasts into x, stays float32
    assert x.dtype == mg.float32
    np.testing.assert_array_equal(x.numpy(), np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"shape \(4,\) does not broadcast to x's shape \(2, 3\)"):
        x += mg.ones(4, device=device)
    counts = mg.zeros(2, dtype="int64", device=device)
    with pytest.raises(TypeError, match="cannot be stored in x's dtype int64"):
        counts += 0.5


def test_setitem_with_masks_and_indices(device):
    x = mg.arange(6.0, device=device)
    x[x > 3] = 0.0
    x[mg.tensor([0, 1], device=device)] = mg.tensor([9.0, 8.0], device=device)
    x[2:4] = -1.0
    np.testing.assert_array_equal(x.numpy(), [9, 8, -1, -1, 0, 0])
