"""Grades exercises/conv2d_im2col.py:  pytest exercises/test_conv2d_im2col.py"""

import numpy as np
import pytest

import minigrad as mg


def test_im2col_shape_and_row_order(solution):
    x = np.arange(2 * 4 * 5 * 3, dtype=np.float64).reshape(2, 4, 5, 3)
    cols = solution.im2col(x, 2, 3, 1)
    assert cols.shape == (2 * 3 * 3, 2 * 3 * 3), (
        f"im2col of (2, 4, 5, 3) images with a 2x3 window gives one row per output pixel "
        f"(N * OH * OW = 2 * 3 * 3 rows) of kh * kw * C = 18 values: expected (18, 18), got "
        f"{cols.shape}")
    # row 0: the patch at (n=0, oh=0, ow=0); the last row: (n=1, oh=2, ow=2)
    np.testing.assert_array_equal(
        cols[0], x[0, 0:2, 0:3, :].reshape(-1),
        err_msg="row 0 must be the patch x[0, 0:2, 0:3, :] flattened in (i, j, c) order "
                "(channels fastest)")
    np.testing.assert_array_equal(
        cols[-1], x[1, 2:4, 2:5, :].reshape(-1),
        err_msg="the last row must be the patch of image 1 at output pixel (2, 2): rows go "
                "in (n, oh, ow) order")


def test_im2col_with_a_stride(solution):
    x = np.random.default_rng(0).normal(size=(1, 7, 7, 2))
    cols = solution.im2col(x, 3, 3, 2)
    assert cols.shape == (9, 18), (
        f"a 7x7 image, 3x3 window, stride 2: OH = OW = (7 - 3) // 2 + 1 = 3, so 9 rows of "
        f"3 * 3 * 2 = 18 values; got {cols.shape}")
    np.testing.assert_array_equal(
        cols[4], x[0, 2:5, 2:5, :].reshape(-1),
        err_msg="row 4 is output pixel (1, 1), whose patch starts at (1 * stride, 1 * stride) "
                "= (2, 2)")


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
    assert ours.shape == expected.shape, (
        f"conv2d of {shape} with a {kernel_shape} kernel, stride {stride}: expected output "
        f"(N, OH, OW, F) = {expected.shape}, got {ours.shape}")
    np.testing.assert_allclose(
        ours, expected.numpy(), rtol=1e-10, atol=1e-10,
        err_msg=f"conv2d with a bias, input {shape}, kernel {kernel_shape}, stride {stride}: "
                "the values differ from minigrad's. Is the kernel reshaped to "
                "(kh * kw * C, F) in the same (i, j, c) order as im2col's rows?")
    no_bias = mg.conv2d(mg.tensor(x), mg.tensor(kernel), strides=stride)
    np.testing.assert_allclose(
        solution.conv2d(x, kernel, stride=stride), no_bias.numpy(), rtol=1e-10, atol=1e-10,
        err_msg="conv2d without a bias (bias=None) differs from minigrad's")
