"""Grades exercises/max_pooling.py:  pytest exercises/test_max_pooling.py"""

import numpy as np
import pytest

import minigrad as mg

CASES = [  # (x shape, size, stride)
    ((2, 4, 4, 3), 2, None),  # windows tile the image
    ((1, 5, 7, 2), 2, None),  # the last row and column are in no window
    ((2, 7, 7, 2), 3, 2),     # overlapping windows
    ((1, 5, 6, 1), 2, 1),     # overlapping windows, stride 1
    ((1, 8, 8, 2), 2, 3),     # gaps between windows
]


def ident(shape, size, stride):
    return f"x of shape {shape}, size {size}, stride {stride}"


def minigrads(x, size, stride, grad_out=None):
    """minigrad's output and, given grad_out, its gradient of x."""
    xt = mg.tensor(x, requires_grad=True)
    out = mg.max_pool2d(xt, pool_size=size, strides=stride)
    if grad_out is None:
        return out.numpy()
    out.backward(mg.tensor(grad_out))
    return out.numpy(), xt.grad.numpy()


def first_mismatch(ours, expected, what):
    assert ours.shape == expected.shape, (
        f"{what}: expected shape {expected.shape}, got {ours.shape}")
    bad = ~np.isclose(ours, expected, rtol=1e-6, atol=1e-7)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise AssertionError(f"{what}: {np.count_nonzero(bad)} of {bad.size} elements differ; "
                             f"the first at (n, h, w, c) = {index}: expected "
                             f"{expected[index].item()!r}, got {ours[index].item()!r}")


@pytest.mark.parametrize("shape, size, stride", CASES)
def test_forward_matches_minigrad(solution, shape, size, stride):
    x = np.random.default_rng(sum(shape)).normal(size=shape).astype(np.float32)
    out, argmax = solution.max_pool2d(x, size, stride)
    expected = minigrads(x, size, stride)
    first_mismatch(np.asarray(out), expected,
                   f"the output of max_pool2d for {ident(shape, size, stride)}")
    assert out.dtype == np.float32, f"float32 x gave a {out.dtype} output; keep x's dtype"


@pytest.mark.parametrize("shape, size, stride", CASES)
def test_argmax_names_the_winning_cell_of_each_window(solution, shape, size, stride):
    x = np.random.default_rng(sum(shape) + 1).normal(size=shape)
    out, argmax = solution.max_pool2d(x, size, stride)
    argmax = np.asarray(argmax)
    assert argmax.shape == out.shape, (
        f"argmax should have the output's shape {out.shape}, got {argmax.shape}")
    assert np.issubdtype(argmax.dtype, np.integer), (
        f"argmax should be an integer array, got dtype {argmax.dtype}")
    step = size if stride is None else stride
    n, out_h, out_w, channels = out.shape
    for index in np.ndindex(n, out_h, out_w, channels):
        b, oh, ow, c = index
        window = x[b, oh * step:oh * step + size, ow * step:ow * step + size, c]
        k = int(np.argmax(window))  # row-major; random data has no ties
        assert argmax[index] == k, (
            f"argmax at (n, oh, ow, c) = {index} for {ident(shape, size, stride)}: the window's "
            f"maximum {window.max():.4f} is its cell (i, j) = {divmod(k, size)}, so argmax "
            f"should be i * size + j = {k}, got {argmax[index]}")


@pytest.mark.parametrize("shape, size, stride", CASES)
def test_backward_matches_minigrad(solution, shape, size, stride):
    rng = np.random.default_rng(sum(shape) + 2)
    x = rng.normal(size=shape)
    out, argmax = solution.max_pool2d(x, size, stride)
    grad_out = rng.normal(size=out.shape)
    _, expected = minigrads(x, size, stride, grad_out)
    grad_x = solution.max_pool2d_backward(grad_out, argmax, x.shape, size, stride)
    first_mismatch(np.asarray(grad_x), expected,
                   f"the gradient grad_x for {ident(shape, size, stride)}")


def test_ties_go_to_the_first_cell_in_row_major_order(solution):
    x = np.zeros((1, 4, 4, 2))
    x[0, :2, :2, 0] = 5.0           # window (0, 0), channel 0: all four cells tie -> cell 0
    x[0, 0, 3, 0] = x[0, 1, 2, 0] = 7.0    # window (0, 1): cells 1 and 2 tie -> 1
    x[0, 3, 0, 0] = x[0, 3, 1, 0] = 1.0    # window (1, 0): cells 2 and 3 tie -> 2
    x[0, 2:, 2:, 0] = -1.0          # window (1, 1): all tie -> 0
    x[0, 1, 0, 1] = x[0, 1, 1, 1] = 3.0    # channel 1, window (0, 0): cells 2 and 3 -> 2
    out, argmax = solution.max_pool2d(x, 2)
    expected = np.array([[0, 1], [2, 0]])
    assert (np.asarray(argmax)[0, :, :, 0] == expected).all() and argmax[0, 0, 0, 1] == 2, (
        "with ties, the first maximum in row-major window order (the smallest i * size + j) "
        "must win, as in minigrad: argmax of channel 0 should be "
        f"{expected.tolist()}, got {np.asarray(argmax)[0, :, :, 0].tolist()}; channel 1's "
        f"first window should be 2, got {argmax[0, 0, 0, 1]}")
    grad_out = np.arange(1.0, 9.0).reshape(1, 2, 2, 2)
    _, expected_grad = minigrads(x, 2, None, grad_out)
    grad_x = solution.max_pool2d_backward(grad_out, argmax, x.shape, 2)
    first_mismatch(np.asarray(grad_x), expected_grad,
                   "the gradient with tied maxima (it goes to the first tied cell only)")


def test_overlapping_windows_add_up(solution):
    x = np.zeros((1, 3, 3, 1), dtype=np.float32)
    x[0, 1, 1, 0] = 9.0  # the centre is the maximum of all four 2x2 windows (stride 1)
    out, argmax = solution.max_pool2d(x, 2, 1)
    grad_out = np.ones((1, 2, 2, 1), dtype=np.float32)
    grad_x = np.asarray(solution.max_pool2d_backward(grad_out, argmax, x.shape, 2, 1))
    assert grad_x.shape == x.shape, f"grad_x should have x's shape {x.shape}, got {grad_x.shape}"
    assert grad_x[0, 1, 1, 0] == 4.0, (
        "overlapping windows: the centre cell wins all 4 windows of a 3x3 image (size 2, stride "
        f"1), so its gradient is the sum 1 + 1 + 1 + 1 = 4; got {grad_x[0, 1, 1, 0]} (add with "
        "+=, and np.add.at if one index array repeats a cell)")
    others = np.delete(grad_x.ravel(), 4)
    assert (others == 0).all(), (
        f"only the centre cell won a window; the other cells should get 0, got "
        f"{grad_x[0, :, :, 0].tolist()}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtypes_are_kept(solution, dtype):
    x = np.random.default_rng(9).normal(size=(2, 4, 4, 3)).astype(dtype)
    out, argmax = solution.max_pool2d(x, 2, 1)
    assert out.dtype == dtype, f"{np.dtype(dtype).name} x gave a {out.dtype} output"
    grad_x = solution.max_pool2d_backward(np.ones(out.shape, dtype=dtype), argmax, x.shape, 2, 1)
    assert grad_x.dtype == dtype, (
        f"a {np.dtype(dtype).name} grad_out gave a {grad_x.dtype} grad_x; keep grad_out's dtype")


def test_the_input_is_not_modified(solution):
    x = np.random.default_rng(10).normal(size=(1, 4, 4, 2))
    copy = x.copy()
    solution.max_pool2d(x, 2, 1)
    assert (x == copy).all(), "max_pool2d changed its input x; work on new arrays"
