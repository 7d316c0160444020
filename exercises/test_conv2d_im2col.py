"""Grades exercises/conv2d_im2col.py:  pytest exercises/test_conv2d_im2col.py"""

import numpy as np
import pytest

import minigrad as mg


def test_im2col_shape_and_row_order(solution):
    x = np.arange(2 * 4 * 5 * 3, dtype=np.float64).reshape(2, 4, 5, 3)
    cols = solution.im2col(x, 2, 3, 1)
    assert cols.shape == (2 * 3 * 3, 2 * 3 * 3)
    # row 0: the patch at (n=0, oh=0, ow=0); the last row: (n=1, oh=2, ow=2)
    np.testing.assert_array_equal(cols[0], x[0, 0:2, 0:3, :].reshape(-1))
    np.testing.assert_array_equal(cols[-1], x[1, 2:4, 2:5, :].reshape(-1))


def test_im2col_with_a_stride(solution):
    x = np.random.default_rng(0).normal(size=(1, 7, 7, 2))
    cols = solution.im2col(x, 3, 3, 2)
    assert cols.shape == (9, 18)
    np.testing.assert_array_equal(cols[4], x[0, 2:5, 2:5, :].reshape(-1))


@pytest.mark.parametrize("shape, kernel_shape, stride", [
    ((2, 5, 5, 3), (3, 3, 3, 4), 1),
    ((1, 8, 6, 2), (2, 3, 2, 5), 1),
    ((3, 9, 9, 1), (3, 3, 1, 2), 2),
])
def test_conv2d_matches_minigrad(solution, shape, kernel_shape, stride):
    rng = np.random.default_rng(1)
    x = rng.normal(size=shape)
    kernel = rng.normal(size=kernel_shape)
    bias = rng.normal(size=kernel_shape[-1])
    expected = mg.conv2d(mg.tensor(x), mg.tensor(kernel), mg.tensor(bias), strides=stride)
    ours = solution.conv2d(x, kernel, bias, stride=stride)
    assert ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected.numpy(), rtol=1e-10, atol=1e-10)
    no_bias = mg.conv2d(mg.tensor(x), mg.tensor(kernel), strides=stride)
    np.testing.assert_allclose(solution.conv2d(x, kernel, stride=stride), no_bias.numpy(),
                               rtol=1e-10, atol=1e-10)
