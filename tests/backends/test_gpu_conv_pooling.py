"""cuda_kernels/conv.cu and pooling.cu against the CPU backend: the same numbers to the last bit
(the kernels sum in the CPU's order), on odd shapes, strides, dilations, paddings, ties, NaN
and -inf; and whole conv2d ops, grouped ones included (im2col and col2im around a batched
product), forward and backward. Run emulated on the CPU (g++) and on a GPU when there is one
(see conftest.py)."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd.tensor import Tensor
from minigrad.backends import get_backend

cpu = get_backend("cpu")

# (x shape (N, H, W, C), window, strides, dilation, padding ((top, bottom), (left, right)))
CONV_CASES = [
    ((2, 7, 6, 3), (3, 3), (1, 1), (1, 1), ((0, 0), (0, 0))),
    ((2, 7, 6, 3), (3, 2), (2, 1), (1, 1), ((1, 1), (0, 1))),
    ((1, 9, 8, 5), (2, 3), (3, 2), (2, 1), ((2, 1), (1, 2))),
    ((3, 5, 5, 1), (1, 1), (1, 1), (1, 1), ((0, 0), (0, 0))),
    ((2, 6, 7, 4), (3, 3), (2, 2), (2, 2), ((2, 2), (2, 2))),
    ((4, 12, 11, 9), (5, 4), (1, 3), (1, 2), ((3, 0), (2, 4))),  # several thread blocks
]
# (x shape, window, strides, padding): every window keeps at least one cell of the image
POOL_CASES = [
    ((2, 8, 8, 3), (2, 2), (2, 2), ((0, 0), (0, 0))),
    ((2, 7, 6, 3), (3, 3), (2, 2), ((1, 1), (1, 1))),
    ((1, 7, 9, 5), (2, 3), (1, 2), ((0, 1), (1, 1))),
    ((3, 5, 4, 2), (3, 1), (1, 1), ((1, 1), (0, 0))),
    ((2, 6, 6, 4), (3, 3), (1, 1), ((1, 1), (1, 1))),
    ((2, 9, 7, 16), (3, 2), (3, 2), ((1, 1), (0, 1))),
]
DTYPES = [np.float32, np.float64]


def _out_hw(shape, window, strides, dilation, padding):
    return tuple((s + sum(p) - d * (k - 1) - 1) // st + 1 for s, k, st, d, p in
                 zip(shape[1:3], window, strides, dilation, padding))


def _suffix(dtype):
    return "f32" if dtype == np.float32 else "f64"


def _on(gpu, array):
    return gpu.asarray(array)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, window, strides, dilation, padding", CONV_CASES)
def test_im2col_and_col2im_equal_the_cpu_backend(gpu, shape, window, strides, dilation, padding,
                                                 dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    out_hw = _out_hw(shape, window, strides, dilation, padding)
    cols = cpu.im2col(x, window, strides, dilation, padding, out_hw)
    got = gpu.to_numpy(gpu.im2col(_on(gpu, x), window, strides, dilation, padding, out_hw))
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, cols)

    grad = rng.standard_normal(cols.shape).astype(dtype)
    expected = cpu.col2im(grad, shape, window, strides, dilation, padding, out_hw)
    got = gpu.to_numpy(gpu.col2im(_on(gpu, grad), shape, window, strides, dilation, padding,
                                  out_hw))
    assert got.shape == shape and got.dtype == dtype
    np.testing.assert_array_equal(got, expected)  # the same sums, added in the same order
    assert gpu.launched == [f"im2col_{_suffix(dtype)}", f"col2im_{_suffix(dtype)}"]


# (x shape, kernel shape (kh, kw, C/groups, F), strides, padding, dilation, groups)
CONV_OP_CASES = [
    ((2, 7, 6, 4), (3, 3, 4, 5), 1, "valid", 1, 1),
    ((2, 7, 6, 4), (3, 3, 2, 6), 1, "same", 1, 2),
    ((2, 9, 8, 6), (3, 2, 2, 3), 2, "same", (1, 2), 3),
    ((3, 6, 7, 4), (3, 3, 1, 8), (2, 1), 1, 1, 4),  # depthwise, channel multiplier 2
    ((2, 5, 5, 6), (1, 1, 3, 4), 1, "valid", 1, 2),  # pointwise: no im2col
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, kernel_shape, strides, padding, dilation, groups",
                         CONV_OP_CASES)
def test_whole_conv2d_ops_on_the_kernels_match_the_cpu(gpu, x_shape, kernel_shape, strides,
                                                       padding, dilation, groups, dtype):
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal(shape).astype(dtype)
              for shape in (x_shape, kernel_shape, kernel_shape[3:])]
    results = []
    for backend in (cpu, gpu):
        tensors = [Tensor._make(backend.asarray(a.copy()), backend, True) for a in arrays]
        out = mg.conv2d(*tensors, strides=strides, padding=padding, dilation=dilation,
                        groups=groups)
        (out * out).sum().backward()
        results.append([backend.to_numpy(out.data)]
                       + [backend.to_numpy(t.grad.data) for t in tensors])
    tolerance = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12,
                                                                            atol=1e-12)
    for want, got in zip(*results):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, **tolerance)
    # The whole batch in one launch of each kernel; the backward makes the columns again
    # (for the kernel's gradient) rather than keeping them.
    pointwise = kernel_shape[:2] == (1, 1)
    im2col, col2im = f"im2col_{_suffix(dtype)}", f"col2im_{_suffix(dtype)}"
    assert gpu.launched == ([] if pointwise else [im2col, im2col, col2im])


def _pool_input(rng, shape, dtype):
    """Small integers (many ties), a few NaN and -inf."""
    x = rng.integers(-2, 3, shape).astype(dtype)
    flat = x.reshape(-1)
    picks = rng.choice(flat.size, size=max(2, flat.size // 40), replace=False)
    flat[picks[::2]] = np.nan
    flat[picks[1::2]] = -np.inf
    return x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, window, strides, padding", POOL_CASES)
def test_max_pool_forward_and_backward_equal_the_cpu_backend(gpu, shape, window, strides,
                                                            padding, dtype):
    rng = np.random.default_rng(1)
    x = _pool_input(rng, shape, dtype)
    out_hw = _out_hw(shape, window, strides, (1, 1), padding)
    out, argmax = cpu.max_pool2d(x, window, strides, padding, out_hw)
    got_out, got_argmax = gpu.max_pool2d(_on(gpu, x), window, strides, padding, out_hw)
    np.testing.assert_array_equal(gpu.to_numpy(got_out), out)  # NaN where the CPU has NaN
    np.testing.assert_array_equal(gpu.to_numpy(got_argmax), argmax)
    assert gpu.to_numpy(got_argmax).dtype == np.int32

    grad = rng.standard_normal(out.shape).astype(dtype)
    expected = cpu.max_pool2d_backward(grad, argmax, shape, window, strides, padding)
    got = gpu.max_pool2d_backward(_on(gpu, grad), got_argmax, shape, window, strides, padding)
    np.testing.assert_array_equal(gpu.to_numpy(got), expected)
    assert gpu.launched == [f"max_pool2d_forward_{_suffix(dtype)}",
                            f"max_pool2d_backward_{_suffix(dtype)}"]


def test_max_pool_ties_go_to_the_first_cell_and_nan_wins(gpu):
    x = np.array([[1.0, 3.0, 3.0], [3.0, np.nan, 2.0], [0.0, 5.0, np.nan]]).reshape(1, 3, 3, 1)
    out, argmax = gpu.max_pool2d(_on(gpu, x), (2, 2), (1, 1), ((0, 0), (0, 0)), (2, 2))
    np.testing.assert_array_equal(gpu.to_numpy(out).reshape(2, 2), [[np.nan, np.nan],
                                                                     [np.nan, np.nan]])
    np.testing.assert_array_equal(gpu.to_numpy(argmax).reshape(2, 2), [[3, 2], [1, 3]])
    x = np.array([[1.0, 3.0], [3.0, 2.0]]).reshape(1, 2, 2, 1)
    out, argmax = gpu.max_pool2d(_on(gpu, x), (2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1))
    assert gpu.to_numpy(out).item() == 3.0 and gpu.to_numpy(argmax).item() == 1


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, window, strides, padding", POOL_CASES)
def test_avg_pool_forward_and_backward_equal_the_cpu_backend(gpu, shape, window, strides,
                                                            padding, dtype):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype(dtype)
    out_hw = _out_hw(shape, window, strides, (1, 1), padding)
    expected = cpu.avg_pool2d(x, window, strides, padding, out_hw)
    got = gpu.to_numpy(gpu.avg_pool2d(_on(gpu, x), window, strides, padding, out_hw))
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, expected)

    grad = rng.standard_normal(expected.shape).astype(dtype)
    expected = cpu.avg_pool2d_backward(grad, shape, window, strides, padding)
    got = gpu.to_numpy(gpu.avg_pool2d_backward(_on(gpu, grad), shape, window, strides,
                                               padding))
    assert got.shape == shape
    np.testing.assert_array_equal(got, expected)
    assert gpu.launched == [f"avg_pool2d_forward_{_suffix(dtype)}",
                            f"avg_pool2d_backward_{_suffix(dtype)}"]


def test_float16_and_strided_inputs_take_the_array_formulation(gpu):
    x = np.random.default_rng(3).standard_normal((2, 6, 6, 3))
    half = gpu.asarray(x.astype(np.float16))
    out = gpu.avg_pool2d(half, (2, 2), (2, 2), ((0, 0), (0, 0)), (3, 3))
    assert out.dtype == np.float16 and gpu.launched == []
    # a transposed (non-contiguous) input is copied first, then the kernel runs
    strided = gpu.asarray(x).transpose(0, 2, 1, 3)
    out = gpu.avg_pool2d(strided, (2, 2), (2, 2), ((0, 0), (0, 0)), (3, 3))
    np.testing.assert_array_equal(gpu.to_numpy(out), cpu.avg_pool2d(
        np.ascontiguousarray(x.transpose(0, 2, 1, 3)), (2, 2), (2, 2), ((0, 0), (0, 0)), (3, 3)))
    assert gpu.launched == ["avg_pool2d_forward_f64"]
