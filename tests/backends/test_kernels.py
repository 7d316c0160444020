"""The hot-path kernels of each backend against plain NumPy."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.backends import get_backend


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows", [5, 500])  # below and above the Numba threshold
def test_scatter_add_rows_adds_repeated_rows_every_time(device, dtype, rows):
    backend = get_backend(device)
    rng = np.random.default_rng(0)
    index = rng.integers(-10, 10, rows)
    values = rng.standard_normal((rows, 3, 2)).astype(dtype)
    expected = np.zeros((10, 3, 2), dtype=dtype)
    np.add.at(expected, index, values)
    target = backend.xp.zeros((10, 3, 2), dtype=dtype)
    backend.scatter_add(target, backend.asarray(index), backend.asarray(values))
    np.testing.assert_allclose(backend.to_numpy(target), expected, rtol=1e-5)


def test_scatter_add_general_keys(device):
    backend = get_backend(device)
    key = (np.array([0, 0, 1]), np.array([2, 2, 0]))
    expected = np.zeros((2, 3))
    np.add.at(expected, key, 1.0)
    target = backend.xp.zeros((2, 3))
    backend.scatter_add(target, tuple(backend.asarray(k) for k in key), 1.0)
    np.testing.assert_array_equal(backend.to_numpy(target), expected)


def test_embedding_like_gather_gradient_uses_the_fast_path():
    table = mg.randn(50, 8, dtype="float64", requires_grad=True)
    index = np.random.default_rng(1).integers(0, 50, 1000)
    table[index].sum().backward()
    np.testing.assert_array_equal(table.grad.numpy()[:, 0], np.bincount(index, minlength=50))
