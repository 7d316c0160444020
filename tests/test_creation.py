"""Creation functions: shapes, default dtypes, devices, seeding."""

import numpy as np
import pytest

import minigrad as mg


@pytest.mark.parametrize("make", [mg.zeros, mg.ones, mg.rand, mg.randn])
def test_shape_as_arguments_or_tuple(make, device):
    a, b = make(2, 3, device=device), make((2, 3), device=device)
    assert a.shape == b.shape == (2, 3)
    assert a.dtype == mg.float32 and a.device == device


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("make", [mg.zeros, mg.ones, mg.rand, mg.randn])
def test_dtype_is_respected(make, dtype):
    assert make(4, dtype=dtype).dtype == np.dtype(dtype)


def test_values():
    np.testing.assert_array_equal(mg.zeros(2).numpy(), [0, 0])
    np.testing.assert_array_equal(mg.ones(2).numpy(), [1, 1])
    np.testing.assert_array_equal(mg.full((2,), 7.5).numpy(), [7.5, 7.5])
    np.testing.assert_array_equal(mg.eye(2).numpy(), np.eye(2))
    np.testing.assert_allclose(mg.linspace(0, 1, 5).numpy(), [0, 0.25, 0.5, 0.75, 1])


def test_full_infers_dtype_from_the_fill_value():
    assert mg.full(2, 1.5).dtype == mg.float32
    assert mg.full(2, 3).dtype == mg.int64
    assert mg.full(2, True).dtype == mg.bool_


def test_arange_dtypes():
    assert mg.arange(5).dtype == mg.int64
    assert mg.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert mg.arange(0.0, 1.0, 0.5).dtype == mg.float32
    assert mg.arange(1, 7, 2).tolist() == [1, 3, 5]


def test_like_functions_copy_shape_dtype_and_device(device):
    base = mg.zeros(3, 2, dtype="float64", device=device)
    for made in (mg.zeros_like(base), mg.ones_like(base), mg.rand_like(base),
                 mg.randn_like(base), mg.full_like(base, 2.0)):
        assert made.shape == (3, 2) and made.dtype == mg.float64 and made.device == device
    assert mg.zeros_like(base, dtype="float16").dtype == mg.float16


def test_rand_is_in_the_unit_interval_and_randn_is_standard_normal():
    u = mg.rand(10_000).numpy()
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.02
    n = mg.randn(10_000).numpy()
    assert abs(n.mean()) < 0.05 and abs(n.std() - 1) < 0.05


def test_manual_seed_makes_random_tensors_repeatable(device):
    mg.manual_seed(123)
    first = mg.randn(5, device=device).numpy()
    mg.manual_seed(123)
    second = mg.randn(5, device=device).numpy()
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, mg.randn(5, device=device).numpy())


def test_negative_shape_is_rejected():
    with pytest.raises(ValueError, match=r"non-negative ints, got \(2, -1\)"):
        mg.zeros(2, -1)


def test_rand_of_an_integer_dtype_is_rejected():
    with pytest.raises(TypeError, match="floating-point.*int64"):
        mg.randn(2, dtype="int64")


def test_requires_grad_on_creation():
    assert mg.zeros(2, requires_grad=True).requires_grad
    with pytest.raises(TypeError, match="floating-point"):
        mg.zeros(2, dtype="int32", requires_grad=True)
