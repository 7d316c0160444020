"""Grades exercises/col2im.py:  pytest exercises/test_col2im.py"""

import numpy as np
import pytest

import minigrad as mg


def minigrads_im2col(x, kh, kw, stride):
    n, h, w, c = x.shape
    out_hw = ((h - kh) // stride + 1, (w - kw) // stride + 1)
    return mg.backends.get_backend("cpu").im2col(x, (kh, kw), (stride, stride), (1, 1),
                                                 ((0, 0), (0, 0)), out_hw)


def minigrads_col2im(cols, x_shape, kh, kw, stride):
    n, h, w, c = x_shape
    out_hw = ((h - kh) // stride + 1, (w - kw) // stride + 1)
    return mg.backends.get_backend("cpu").col2im(cols, x_shape, (kh, kw), (stride, stride),
                                                 (1, 1), ((0, 0), (0, 0)), out_hw)


def check_shape(name, got, expected):
    shape = getattr(got, "shape", None)
    assert shape == tuple(expected), (
        f"{name} has shape {shape}, expected {tuple(expected)}")


def test_col2im_of_ones_counts_the_patches_covering_each_pixel(solution):
    # A 2x2 window sliding over a 3x3 image: the centre pixel is in 4 patches, an edge pixel
    # in 2, a corner in 1. col2im of all-ones columns counts them.
    x_shape = (1, 3, 3, 1)
    got = solution.col2im(np.ones((4, 4)), x_shape, 2, 2, 1)
    check_shape("col2im(ones((4, 4)), (1, 3, 3, 1), 2, 2, 1)", got, x_shape)
    expected = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float64)
    for h in range(3):
        for w in range(3):
            assert got[0, h, w, 0] == expected[h, w], (
                f"col2im of all-ones columns (2x2 window, stride 1, 3x3 image): pixel (h={h}, "
                f"w={w}) is in {expected[h, w]:g} patches, so it should be "
                f"{expected[h, w]:g}, got {got[0, h, w, 0]:g} -- overlapping patches must add "
                "up (+=), not overwrite each other")


def test_col2im_with_a_stride_leaves_uncovered_pixels_at_zero(solution):
    # stride 2, 3x3 window on 6x6: windows start at 0 and 2, so rows/columns 5 are never read.
    x_shape = (1, 6, 6, 2)
    cols = np.random.default_rng(0).normal(size=(4, 18))
    got = solution.col2im(cols, x_shape, 3, 3, 2)
    check_shape("col2im(cols, (1, 6, 6, 2), 3, 3, stride=2)", got, x_shape)
    expected = minigrads_col2im(cols, x_shape, 3, 3, 2)
    assert np.all(got[:, 5] == 0) and np.all(got[:, :, 5] == 0), (
        "col2im with a 3x3 window and stride 2 on a 6x6 image: row 5 and column 5 are in no "
        "patch, so they should stay 0")
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12, err_msg=(
        "col2im with stride 2: patch (oh, ow) starts at pixel (oh*stride, ow*stride)"))


@pytest.mark.parametrize("x_shape, kh, kw, stride", [
    ((2, 5, 5, 3), 3, 3, 1),
    ((1, 8, 6, 2), 2, 3, 1),
    ((3, 9, 9, 1), 3, 3, 2),
    ((2, 7, 8, 2), 2, 2, 2),
])
def test_col2im_is_the_adjoint_of_im2col(solution, x_shape, kh, kw, stride):
    rng = np.random.default_rng(1)
    x = rng.normal(size=x_shape)
    cols_x = minigrads_im2col(x, kh, kw, stride)
    y = rng.normal(size=cols_x.shape)
    back = solution.col2im(y, x_shape, kh, kw, stride)
    check_shape(f"col2im(y of shape {y.shape}, {x_shape}, {kh}, {kw}, {stride})", back, x_shape)
    left, right = np.sum(cols_x * y), np.sum(x * back)
    assert abs(left - right) <= 1e-9 * max(1.0, abs(left)), (
        f"col2im is not the adjoint of im2col (x {x_shape}, window {kh}x{kw}, stride {stride}): "
        f"sum(im2col(x) * y) = {left:.6f} but sum(x * col2im(y)) = {right:.6f}")
    np.testing.assert_allclose(back, minigrads_col2im(y, x_shape, kh, kw, stride), rtol=1e-12,
                               atol=1e-12, err_msg=f"col2im, window {kh}x{kw}, stride {stride}")


def test_col2im_keeps_the_dtype(solution):
    cols = np.ones((16, 12), dtype=np.float32)
    got = solution.col2im(cols, (1, 5, 5, 3), 2, 2, 1)
    assert got.dtype == np.float32, f"col2im of float32 columns returned {got.dtype}, expected " \
        "float32 (start from np.zeros(x_shape, dtype=cols.dtype))"


def minigrads_gradients(x, kernel, bias, grad_out, stride):
    tx, tk, tb = (mg.tensor(a, requires_grad=True) for a in (x, kernel, bias))
    out = mg.conv2d(tx, tk, tb, strides=stride)
    out.backward(mg.tensor(grad_out))
    return out.shape, tx.grad.numpy(), tk.grad.numpy(), tb.grad.numpy()


@pytest.mark.parametrize("shape, kernel_shape, stride", [
    ((2, 5, 5, 3), (3, 3, 3, 4), 1),
    ((1, 8, 6, 2), (2, 3, 2, 5), 1),
    ((3, 9, 9, 1), (3, 3, 1, 2), 2),
    ((2, 8, 7, 3), (2, 2, 3, 4), 2),
])
def test_conv2d_backward_matches_minigrad(solution, shape, kernel_shape, stride):
    rng = np.random.default_rng(2)
    x, kernel = rng.normal(size=shape), rng.normal(size=kernel_shape)
    bias = rng.normal(size=kernel_shape[-1])
    n, h, w, _ = shape
    kh, kw, _, f = kernel_shape
    out_shape = (n, (h - kh) // stride + 1, (w - kw) // stride + 1, f)
    grad_out = rng.normal(size=out_shape)
    out, *expected = minigrads_gradients(x, kernel, bias, grad_out, stride)
    assert tuple(out) == out_shape
    got = solution.conv2d_backward(x, kernel, grad_out, stride)
    assert len(got) == 3, "conv2d_backward should return (grad_x, grad_kernel, grad_bias)"
    for name, ours, theirs in zip(("grad_x", "grad_kernel", "grad_bias"), got, expected):
        check_shape(f"{name} (x {shape}, kernel {kernel_shape}, stride {stride})", ours,
                    theirs.shape)
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10, err_msg=(
            f"{name} differs from minigrad's conv2d backward (x {shape}, kernel "
            f"{kernel_shape}, stride {stride})"))


def test_conv2d_backward_keeps_float32(solution):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 6, 6, 3)).astype(np.float32)
    kernel = rng.normal(size=(3, 3, 3, 4)).astype(np.float32)
    grad_out = rng.normal(size=(2, 4, 4, 4)).astype(np.float32)
    got = solution.conv2d_backward(x, kernel, grad_out, 1)
    for name, ours in zip(("grad_x", "grad_kernel", "grad_bias"), got):
        assert ours.dtype == np.float32, (
            f"{name} of float32 inputs has dtype {ours.dtype}, expected float32")
    _, *expected = minigrads_gradients(x, kernel, np.zeros(4, np.float32), grad_out, 1)
    for name, ours, theirs in zip(("grad_x", "grad_kernel", "grad_bias"), got, expected):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4,
                                   err_msg=f"{name} in float32")
