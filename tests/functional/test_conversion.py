"""clone: a copy in new memory that stays in the graph (astype and to_device are tested with the
dtypes and devices)."""

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import array_shapes

import minigrad as mg

from ._specs import NO_TORCH, hypothesis_settings

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]


@given(shape=array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2 ** 16))
@hypothesis_settings()
def test_clone_is_an_equal_tensor_in_new_memory(shape, dtype, seed, device):
    values = np.random.default_rng(seed).integers(0, 50, shape).astype(dtype)
    x = mg.tensor(values, device=device)
    y = x.clone()
    assert y is not x and y.shape == x.shape and y.dtype == x.dtype and y.device == x.device
    np.testing.assert_array_equal(y.numpy(), values)
    if x.size:
        y[(0,) * y.ndim] = (not values.flat[0]) if dtype == "bool" else 100  # values are < 50
        np.testing.assert_array_equal(x.numpy(), values)  # the original is untouched
    assert not y.requires_grad


def test_clone_passes_the_gradient_back_as_torch(device):
    torch = pytest.importorskip("torch", reason=NO_TORCH)
    values = np.random.default_rng(0).standard_normal((2, 3))
    x = mg.tensor(values, dtype="float64", device=device, requires_grad=True)
    y = x.clone()
    assert y.grad_fn.name == "Clone" and not y.is_leaf
    (y * y * 3).sum().backward()
    tx = torch.tensor(values, requires_grad=True)
    (tx.clone() * tx.clone() * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    assert mg.testing.gradcheck(lambda t: t.clone()[:, ::-1] * 2, x)


def test_clone_of_a_view_owns_its_memory(device):
    x = mg.arange(12.0, device=device).reshape(3, 4)
    y = x.T[::2].clone()
    x *= 0
    np.testing.assert_array_equal(y.numpy(), np.arange(12.0).reshape(3, 4).T[::2])


def test_detach_clone_is_a_copy_outside_the_graph():
    x = mg.ones(2, requires_grad=True)
    y = x.detach().clone()
    assert not y.requires_grad and y.grad_fn is None
    with mg.no_grad():
        z = x.clone()
    assert not z.requires_grad
