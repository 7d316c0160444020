"""matmul as numpy.matmul: 2-D, batched with broadcast batch dimensions, and 1-D vectors on
either side (promoted to a row or a column, then the added axis removed), with gradients."""

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import minigrad as mg

from ._specs import hypothesis_settings, unbroadcast_reference


@st.composite
def matmul_shapes(draw):
    """Shapes of a and b for a @ b: broadcastable batch dims, or a vector on either side."""
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    (batch_a, batch_b), _ = draw(mutually_broadcastable_shapes(num_shapes=2, max_dims=3,
                                                               max_side=3))
    a_shape = (k,) if draw(st.integers(0, 4)) == 0 else batch_a + (n, k)
    b_shape = (k,) if draw(st.integers(0, 4)) == 0 else batch_b + (k, m)
    return a_shape, b_shape


def _reference(a, b, g):
    """NumPy's value and the gradients of sum(g * (a @ b)), by promoting vectors to matrices,
    broadcasting the batch dims explicitly and summing the copies back."""
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    a_full = np.broadcast_to(a2, batch + a2.shape[-2:])
    b_full = np.broadcast_to(b2, batch + b2.shape[-2:])
    g_full = g.reshape(batch + (a2.shape[-2], b2.shape[-1]))
    grad_a = np.einsum("...ij,...kj->...ik", g_full, b_full)  # dL/dA_ik = sum_j g_ij B_kj
    grad_b = np.einsum("...ij,...ik->...jk", a_full, g_full)  # dL/dB_jk = sum_i A_ij g_ik
    return (np.matmul(a, b), unbroadcast_reference(grad_a, a2.shape).reshape(a.shape),
            unbroadcast_reference(grad_b, b2.shape).reshape(b.shape))


@hypothesis_settings(max_examples=50)
@given(shapes=matmul_shapes(), seed=st.integers(0, 2 ** 16))
def test_matmul_value_and_gradients_over_random_shapes(shapes, seed, device):
    a_shape, b_shape = shapes
    rng = np.random.default_rng(seed)
    a_np, b_np = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    a = mg.tensor(a_np, device=device, requires_grad=True)
    b = mg.tensor(b_np, device=device, requires_grad=True)
    out = a @ b
    g = rng.standard_normal(out.shape)
    expected, grad_a, grad_b = _reference(a_np, b_np, g)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)
    out.backward(g)
    np.testing.assert_allclose(a.grad.numpy(), grad_a, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), grad_b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("a_shape, b_shape, out_shape", [
    ((2, 3), (3, 4), (2, 4)),
    ((5, 2, 3), (3, 4), (5, 2, 4)),
    ((5, 1, 2, 3), (6, 3, 4), (5, 6, 2, 4)),
    ((3,), (3, 4), (4,)),
    ((2, 3), (3,), (2,)),
    ((3,), (3,), ()),
    ((3,), (5, 3, 4), (5, 4)),
    ((5, 2, 3), (3,), (5, 2)),
])
def test_matmul_output_shapes(a_shape, b_shape, out_shape, device):
    a = mg.ones(a_shape, dtype="float64", device=device, requires_grad=True)
    b = mg.ones(b_shape, dtype="float64", device=device, requires_grad=True)
    out = mg.matmul(a, b)
    assert out.shape == out_shape
    np.testing.assert_array_equal(out.numpy(), np.full(out_shape, 3.0))  # k = 3 ones summed
    out.sum().backward()
    assert a.grad.shape == a_shape and b.grad.shape == b_shape


def test_vector_dot_vector_gradients(device):
    a = mg.tensor([1.0, 2.0, 3.0], dtype="float64", device=device, requires_grad=True)
    b = mg.tensor([4.0, -5.0, 6.0], dtype="float64", device=device, requires_grad=True)
    out = a @ b
    assert out.item() == 4 - 10 + 18
    out.backward()
    np.testing.assert_array_equal(a.grad.numpy(), [4.0, -5.0, 6.0])
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 2.0, 3.0])


def test_numpy_array_on_the_left_of_a_tensor(device):
    w = mg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype="float64", device=device, requires_grad=True)
    out = np.array([[1.0, 0.0], [1.0, 1.0]]) @ w  # NumPy defers to Tensor.__rmatmul__
    assert isinstance(out, mg.Tensor)
    np.testing.assert_array_equal(out.numpy(), [[1.0, 2.0], [4.0, 6.0]])
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[2.0, 2.0], [1.0, 1.0]])
