"""conv2d on channels-last images: gradients against finite differences, forward and backward
against PyTorch (NCHW there, converted by permutes), dtypes, the backends' im2col/col2im, and
the error messages."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg
from minigrad.backends import get_backend
from minigrad.backends.cuda import CUDABackend
from minigrad.functional.conv import (dot_rows, group_columns, group_filters, same_padding,
                                      sum_rows, ungroup_columns, ungroup_filters)

from ._specs import NO_TORCH, hypothesis_settings

torch = pytest.importorskip("torch", reason=NO_TORCH)

TOLERANCES = {"float32": dict(rtol=2e-4, atol=2e-5), "float64": dict(rtol=1e-10, atol=1e-12)}

# (strides, padding, dilation, kernel size): valid, same (odd and even kernels, so symmetric and
# asymmetric), explicit ints and pairs, strided, dilated.
GEOMETRIES = [
    (1, "valid", 1, (3, 3)),
    (1, "same", 1, (3, 3)),
    (2, "same", 1, (3, 3)),
    (1, "same", 1, (2, 2)),
    (2, "valid", 1, (3, 2)),
    ((2, 1), 1, 1, (3, 3)),
    (1, (2, 0), 1, (3, 3)),
    (1, "valid", 2, (3, 3)),
    (3, "same", (2, 1), (2, 3)),
    (1, "valid", 1, (1, 1)),
    (2, "same", 1, (1, 1)),
]
GEOMETRY_IDS = [f"s{s}-p{p}-d{d}-k{k[0]}x{k[1]}".replace(" ", "") for s, p, d, k in GEOMETRIES]


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _pads(x_shape, kernel_size, strides, padding, dilation):
    """((top, bottom), (left, right)) for the torch reference."""
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        return tuple(same_padding(s, k, st, d) for s, k, st, d in
                     zip(x_shape[1:3], kernel_size, _pair(strides), _pair(dilation)))
    ph, pw = _pair(padding)
    return (ph, ph), (pw, pw)


def torch_conv2d(x, kernel, bias, strides, padding, dilation, grad_out=None, groups=1):
    """PyTorch's conv2d of NHWC ``x`` with a (kh, kw, C/groups, F) ``kernel``: (out, grads) in
    NHWC."""
    F = torch.nn.functional
    tx = torch.tensor(np.ascontiguousarray(x.transpose(0, 3, 1, 2)), requires_grad=True)
    tk = torch.tensor(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)),
                      requires_grad=True)
    tb = torch.tensor(bias, requires_grad=True) if bias is not None else None
    (top, bottom), (left, right) = _pads(x.shape, kernel.shape[:2], strides, padding, dilation)
    out = F.conv2d(F.pad(tx, (left, right, top, bottom)), tk, tb, stride=_pair(strides),
                   dilation=_pair(dilation), groups=groups)
    out = out.permute(0, 2, 3, 1)
    grads = None
    if grad_out is not None:
        out.backward(torch.tensor(grad_out))
        grads = [tx.grad.permute(0, 2, 3, 1).numpy(), tk.grad.permute(2, 3, 1, 0).numpy()]
        grads.append(tb.grad.numpy() if tb is not None else None)
    return out.detach().numpy(), grads


def _inputs(rng, n, h, w, c, kernel_size, filters, dtype, groups=1):
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    kernel = rng.standard_normal((*kernel_size, c // groups, filters)).astype(dtype)
    bias = rng.standard_normal(filters).astype(dtype)
    return x, kernel, bias


def assert_close(actual, expected, dtype, what):
    """Within the dtype's tolerance, the absolute part scaled by the largest value (sums of
    thousands of products cancel down to values far smaller than their terms)."""
    tol = TOLERANCES[dtype]
    atol = tol["atol"] * max(1.0, float(np.abs(expected).max(initial=0)))
    np.testing.assert_allclose(actual, expected, rtol=tol["rtol"], atol=atol, err_msg=what)


def assert_conv_matches_torch(x, kernel, bias, strides, padding, dilation, device, dtype,
                              groups=1):
    tx = mg.tensor(x, device=device, requires_grad=True)
    tk = mg.tensor(kernel, device=device, requires_grad=True)
    tb = mg.tensor(bias, device=device, requires_grad=True) if bias is not None else None
    out = mg.conv2d(tx, tk, tb, strides=strides, padding=padding, dilation=dilation,
                    groups=groups)
    grad_out = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    expected, grads = torch_conv2d(x, kernel, bias, strides, padding, dilation, grad_out,
                                   groups)
    assert out.shape == expected.shape and out.dtype == dtype
    assert_close(out.numpy(), expected, dtype, "output")
    out.backward(mg.tensor(grad_out, device=device))
    assert_close(tx.grad.numpy(), grads[0], dtype, "d input")
    assert_close(tk.grad.numpy(), grads[1], dtype, "d kernel")
    if bias is not None:
        assert_close(tb.grad.numpy(), grads[2], dtype, "d bias")


# --- gradients ---------------------------------------------------------------------------


@pytest.mark.parametrize("strides, padding, dilation, kernel_size", GEOMETRIES, ids=GEOMETRY_IDS)
def test_conv2d_gradients_match_finite_differences(strides, padding, dilation, kernel_size,
                                                   device):
    rng = np.random.default_rng(0)
    arrays = _inputs(rng, 2, 6, 5, 2, kernel_size, 3, np.float64)
    x, kernel, bias = (mg.tensor(a, device=device, requires_grad=True) for a in arrays)
    assert mg.testing.gradcheck(
        lambda x, k, b: mg.conv2d(x, k, b, strides=strides, padding=padding, dilation=dilation),
        x, kernel, bias)


def test_conv2d_without_bias_has_two_gradients(device):
    x = mg.randn(1, 4, 4, 2, dtype="float64", device=device, requires_grad=True)
    kernel = mg.randn(2, 2, 2, 3, dtype="float64", device=device, requires_grad=True)
    assert mg.testing.gradcheck(lambda x, k: mg.conv2d(x, k, padding="same"), x, kernel)


@pytest.mark.parametrize("groups", [1, 2])
def test_conv2d_with_relu_gradients_match_finite_differences(groups, device):
    rng = np.random.default_rng(1)
    x, kernel, bias = (mg.tensor(a, device=device, requires_grad=True) for a in (
        rng.standard_normal((2, 5, 5, 4)), rng.standard_normal((3, 3, 4 // groups, 4)),
        rng.standard_normal(4)))
    assert mg.testing.gradcheck(
        lambda x, k, b: mg.conv2d(x, k, b, padding="same", groups=groups, activation="relu"),
        x, kernel, bias)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("groups, use_bias", [(1, True), (1, False), (2, True)])
def test_conv2d_with_relu_is_relu_of_conv2d(groups, use_bias, dtype, device):
    rng = np.random.default_rng(2)
    arrays = (rng.standard_normal((3, 7, 6, 4)), rng.standard_normal((3, 2, 4 // groups, 6)),
              rng.standard_normal(6))
    grad = rng.standard_normal((3, 5, 5, 6)).astype(dtype)
    results = []
    for fused in (True, False):
        x, kernel, bias = (mg.tensor(a.astype(dtype), device=device, requires_grad=True)
                           for a in arrays)
        bias = bias if use_bias else None
        if fused:
            out = mg.conv2d(x, kernel, bias, groups=groups, activation="relu")
        else:
            out = mg.relu(mg.conv2d(x, kernel, bias, groups=groups))
        out.backward(mg.tensor(grad, device=device))
        results.append([out.numpy(), x.grad.numpy(), kernel.grad.numpy()]
                       + ([bias.grad.numpy()] if use_bias else []))
    assert (results[0][0] > 0).any() and (results[0][0] == 0).any()  # both sides of the kink
    for fused, plain in zip(*results):
        assert fused.dtype == plain.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(fused, plain)


def test_conv2d_names_an_unknown_activation():
    with pytest.raises(ValueError, match='activation must be None or "relu", got \'tanh\''):
        mg.conv2d(mg.zeros(1, 5, 5, 1), mg.zeros(3, 3, 1, 1), activation="tanh")


# --- against PyTorch ---------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("strides, padding, dilation, kernel_size", GEOMETRIES, ids=GEOMETRY_IDS)
def test_conv2d_forward_and_backward_match_torch(strides, padding, dilation, kernel_size, dtype,
                                                 device):
    x, kernel, bias = _inputs(np.random.default_rng(0), 3, 9, 8, 4, kernel_size, 5, dtype)
    assert_conv_matches_torch(x, kernel, bias, strides, padding, dilation, device, dtype)


def test_conv2d_of_the_cifar_shapes_matches_torch(device):
    x, kernel, bias = _inputs(np.random.default_rng(0), 4, 32, 32, 3, (3, 3), 32, "float32")
    assert_conv_matches_torch(x, kernel, bias, 1, "valid", 1, device, "float32")


@hypothesis_settings(max_examples=40)
@given(n=st.integers(1, 3), h=st.integers(1, 9), w=st.integers(1, 9), c=st.integers(1, 4),
       filters=st.integers(1, 4), kh=st.integers(1, 4), kw=st.integers(1, 4),
       sh=st.integers(1, 3), sw=st.integers(1, 3), dh=st.integers(1, 2), dw=st.integers(1, 2),
       padding=st.sampled_from(["valid", "same", 0, 1, 2, (1, 0)]),
       use_bias=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_conv2d_matches_torch_for_any_geometry(n, h, w, c, filters, kh, kw, sh, sw, dh, dw,
                                               padding, use_bias, seed, device):
    x, kernel, bias = _inputs(np.random.default_rng(seed), n, h, w, c, (kh, kw), filters,
                              "float64")
    pads = _pads(x.shape, (kh, kw), (sh, sw), padding, (dh, dw))
    fits = all(size + sum(p) >= d * (k - 1) + 1
               for size, p, k, d in zip((h, w), pads, (kh, kw), (dh, dw)))
    if not fits:
        with pytest.raises(ValueError, match="output would be empty"):
            mg.conv2d(mg.tensor(x), mg.tensor(kernel), strides=(sh, sw), padding=padding,
                      dilation=(dh, dw))
        return
    assert_conv_matches_torch(x, kernel, bias if use_bias else None, (sh, sw), padding, (dh, dw),
                              device, "float64")


@pytest.mark.parametrize("size, stride", [(5, 1), (6, 2), (7, 2), (7, 3), (1, 2)])
def test_same_padding_gives_ceil_of_size_over_stride(size, stride, device):
    x = mg.randn(1, size, size, 2, device=device)
    for k in (1, 2, 3, 4):
        out = mg.conv2d(x, mg.randn(k, k, 2, 1, device=device), strides=stride, padding="same")
        assert out.shape[1:3] == (-(-size // stride),) * 2


# --- grouped convolution -------------------------------------------------------------------

# (groups, channels, filters, strides, padding, dilation, kernel size): two and three groups,
# depthwise (groups = channels) with a channel multiplier, strided "same", dilated, 1x1.
GROUPED = [
    (2, 4, 6, 1, "valid", 1, (3, 3)),
    (3, 6, 3, 2, "same", 1, (3, 2)),
    (4, 4, 8, 1, "same", 1, (3, 3)),
    (2, 6, 4, (2, 1), 1, 2, (2, 3)),
    (3, 3, 6, 1, "valid", 1, (1, 1)),
    (2, 4, 2, 2, "same", 1, (1, 1)),
]
GROUPED_IDS = [f"g{g}-c{c}-f{f}-s{s}-p{p}-d{d}-k{k[0]}x{k[1]}".replace(" ", "")
               for g, c, f, s, p, d, k in GROUPED]


@pytest.mark.parametrize("groups, channels, filters, strides, padding, dilation, kernel_size",
                         GROUPED, ids=GROUPED_IDS)
def test_grouped_conv2d_gradients_match_finite_differences(groups, channels, filters, strides,
                                                           padding, dilation, kernel_size,
                                                           device):
    arrays = _inputs(np.random.default_rng(0), 2, 6, 5, channels, kernel_size, filters,
                     np.float64, groups)
    x, kernel, bias = (mg.tensor(a, device=device, requires_grad=True) for a in arrays)
    assert mg.testing.gradcheck(
        lambda x, k, b: mg.conv2d(x, k, b, strides=strides, padding=padding, dilation=dilation,
                                  groups=groups), x, kernel, bias)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("groups, channels, filters, strides, padding, dilation, kernel_size",
                         GROUPED, ids=GROUPED_IDS)
def test_grouped_conv2d_forward_and_backward_match_torch(groups, channels, filters, strides,
                                                         padding, dilation, kernel_size, dtype,
                                                         device):
    x, kernel, bias = _inputs(np.random.default_rng(0), 3, 9, 8, channels, kernel_size, filters,
                              dtype, groups)
    assert_conv_matches_torch(x, kernel, bias, strides, padding, dilation, device, dtype, groups)


@hypothesis_settings(max_examples=30)
@given(n=st.integers(1, 2), h=st.integers(3, 7), w=st.integers(3, 7), groups=st.integers(1, 4),
       per_group=st.integers(1, 3), multiplier=st.integers(1, 3), k=st.integers(1, 3),
       stride=st.integers(1, 2), padding=st.sampled_from(["valid", "same", 1]),
       use_bias=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_grouped_conv2d_matches_torch_for_any_grouping(n, h, w, groups, per_group, multiplier,
                                                       k, stride, padding, use_bias, seed,
                                                       device):
    x, kernel, bias = _inputs(np.random.default_rng(seed), n, h, w, groups * per_group, (k, k),
                              groups * multiplier, "float64", groups)
    assert_conv_matches_torch(x, kernel, bias if use_bias else None, stride, padding, 1, device,
                              "float64", groups)


def test_grouped_conv2d_is_one_conv2d_per_group(device):
    """The definition: group g's filters convolve group g's channels only."""
    rng = np.random.default_rng(0)
    x, kernel, bias = _inputs(rng, 2, 7, 6, 6, (3, 3), 9, "float64", groups=3)
    out = mg.conv2d(mg.tensor(x, device=device), mg.tensor(kernel, device=device),
                    mg.tensor(bias, device=device), padding="same", groups=3).numpy()
    for g in range(3):
        alone = mg.conv2d(mg.tensor(x[..., 2 * g:2 * g + 2]),
                          mg.tensor(kernel[..., 3 * g:3 * g + 3]),
                          mg.tensor(bias[3 * g:3 * g + 3]), padding="same").numpy()
        np.testing.assert_allclose(out[..., 3 * g:3 * g + 3], alone, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_grouped_conv2d_keeps_the_dtype(dtype, device):
    x = mg.randn(2, 5, 5, 4, dtype=dtype, device=device, requires_grad=True)
    kernel = mg.randn(3, 3, 2, 6, dtype=dtype, device=device, requires_grad=True)
    out = mg.conv2d(x, kernel, padding="same", groups=2)
    assert out.dtype == dtype and out.shape == (2, 5, 5, 6)
    out.sum().backward()
    assert (x.grad.dtype, kernel.grad.dtype) == (x.dtype, x.dtype)


def test_regrouping_round_trips():
    """group_columns / group_filters and their inverses: each group's block in place."""
    rng = np.random.default_rng(0)
    cols = rng.standard_normal((5, 4 * 6))  # 5 rows, a 2x2 window, 6 channels
    grouped = group_columns(cols, 3, 6)
    assert grouped.shape == (3, 5, 4 * 2)
    np.testing.assert_array_equal(grouped[1].reshape(5, 4, 2), cols.reshape(5, 4, 6)[..., 2:4])
    np.testing.assert_array_equal(ungroup_columns(grouped, 6), cols)
    w = rng.standard_normal((8, 6))
    np.testing.assert_array_equal(group_filters(w, 3)[2], w[:, 4:6])
    np.testing.assert_array_equal(ungroup_filters(group_filters(w, 3)), w)


@pytest.mark.parametrize("x_shape, kernel_shape, groups, error, message", [
    ((1, 5, 5, 4), (3, 3, 2, 5), 2, ValueError,
     r"conv2d: the kernel's 5 filters .* not divisible by groups=2"),
    ((1, 5, 5, 4), (3, 3, 2, 6), 3, ValueError,
     r"conv2d with groups=3 and a kernel of shape \(3, 3, 2, 6\) \(2 channels per group\) "
     r"expected input of shape \(N, H, W, 6\), got \(1, 5, 5, 4\)"),
    ((1, 5, 5, 4), (3, 3, 4, 4), 0, ValueError, r"conv2d: groups must be >= 1, got 0"),
    ((1, 5, 5, 4), (3, 3, 4, 4), 1.5, TypeError, r"groups must be a positive int, got 1.5"),
    ((1, 5, 5, 4), (3, 3, 4, 4), True, TypeError, r"groups must be a positive int, got True"),
], ids=["filters", "channels", "zero", "float", "bool"])
def test_grouped_conv2d_names_what_does_not_divide(x_shape, kernel_shape, groups, error,
                                                   message):
    with pytest.raises(error, match=message):
        mg.conv2d(mg.zeros(*x_shape), mg.zeros(*kernel_shape), groups=groups)


# --- dtypes ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_conv2d_keeps_the_dtype_in_outputs_and_gradients(dtype, device):
    x = mg.randn(2, 5, 5, 3, dtype=dtype, device=device, requires_grad=True)
    kernel = mg.randn(3, 3, 3, 4, dtype=dtype, device=device, requires_grad=True)
    bias = mg.randn(4, dtype=dtype, device=device, requires_grad=True)
    out = mg.conv2d(x, kernel, bias, padding="same", strides=2)
    assert out.dtype == dtype
    out.sum().backward()
    assert (x.grad.dtype, kernel.grad.dtype, bias.grad.dtype) == (x.dtype,) * 3


def test_conv2d_in_float16_is_computed_in_float32_and_rounded(device):
    rng = np.random.default_rng(0)
    x, kernel, _ = _inputs(rng, 2, 6, 6, 8, (3, 3), 4, "float16")
    out = mg.conv2d(mg.tensor(x, device=device), mg.tensor(kernel, device=device))
    expected, _ = torch_conv2d(x.astype(np.float32), kernel.astype(np.float32), None, 1, "valid",
                               1)
    np.testing.assert_array_equal(out.numpy(), expected.astype(np.float16))


def test_conv2d_of_integer_images_uses_the_kernel_dtype(device):
    pixels = mg.tensor(np.arange(2 * 4 * 4 * 1).reshape(2, 4, 4, 1) % 256, dtype="uint8",
                       device=device)
    kernel = mg.ones(2, 2, 1, 1, dtype="float64", device=device, requires_grad=True)
    out = mg.conv2d(pixels, kernel)
    assert out.dtype == "float64"
    assert out.numpy()[0, 0, 0, 0] == 0 + 1 + 4 + 5


def test_conv2d_without_grad_keeps_no_graph(device):
    x = mg.randn(1, 4, 4, 2, device=device, requires_grad=True)
    kernel = mg.randn(3, 3, 2, 2, device=device, requires_grad=True)
    with mg.no_grad():
        out = mg.conv2d(x, kernel)
    assert not out.requires_grad and out.grad_fn is None


def test_conv2d_gives_no_input_gradient_when_the_input_needs_none(device):
    x = mg.randn(1, 4, 4, 2, device=device)
    kernel = mg.randn(3, 3, 2, 2, device=device, requires_grad=True)
    mg.conv2d(x, kernel).sum().backward()
    assert x.grad is None and kernel.grad is not None


@pytest.mark.parametrize("rows, columns", [(1, 1), (7, 3), (3600, 32), (96, 700), (250, 5)])
def test_sum_rows_is_the_column_sum(rows, columns):
    """The fast column sum behind the bias gradient, for row counts with and without powers
    of two in them."""
    a = np.random.default_rng(0).standard_normal((rows, columns))
    np.testing.assert_allclose(sum_rows(a), a.sum(axis=0), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("rows, columns", [(1, 1), (7, 3), (3600, 32), (96, 700), (250, 5)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dot_rows_is_the_column_sum_of_the_product(rows, columns, dtype):
    """A batch norm's variance and gamma gradient, as accurate as sum_rows of the product."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((rows, columns)).astype(dtype) for _ in range(2))
    result = dot_rows(np, a, b)
    assert result.dtype == np.dtype(dtype) and result.shape == (columns,)
    exact = (a.astype(np.float64) * b).sum(axis=0)
    error, reference = np.abs(result - exact).max(), np.abs(sum_rows(a * b) - exact).max()
    assert error <= 2 * reference + 1e-12 * rows


# --- the backends' im2col / col2im -----------------------------------------------------------

KERNEL_CASES = [((3, 3), (1, 1), (1, 1), ((0, 0), (0, 0))),
                ((3, 2), (2, 1), (1, 2), ((1, 2), (0, 1))),
                ((2, 2), (2, 2), (1, 1), ((0, 1), (0, 1))),
                ((5, 5), (1, 1), (1, 1), ((2, 2), (2, 2)))]


def _reference_im2col(x, window, strides, dilation, padding, out_hw):
    """The definition, one output pixel at a time (slow; only for checking)."""
    padded = np.pad(x, ((0, 0), padding[0], padding[1], (0, 0)))
    n, c = x.shape[0], x.shape[3]
    rows = []
    for b in range(n):
        for oh in range(out_hw[0]):
            for ow in range(out_hw[1]):
                patch = padded[b, oh * strides[0]:oh * strides[0] + dilation[0] * (window[0] - 1)
                               + 1:dilation[0], ow * strides[1]:ow * strides[1]
                               + dilation[1] * (window[1] - 1) + 1:dilation[1], :]
                rows.append(patch.reshape(-1))
    return np.array(rows).reshape(n * out_hw[0] * out_hw[1], window[0] * window[1] * c)


def _out_hw(shape, window, strides, dilation, padding):
    return tuple((s + sum(p) - d * (k - 1) - 1) // st + 1 for s, k, st, d, p in
                 zip(shape[1:3], window, strides, dilation, padding))


def kernel_implementations(device, *names):
    """(backend, methods) for the device's backend, and on the CPU also for the CUDA backend's
    xp-only formulation run with NumPy standing in for CuPy (so it is tested without a GPU)."""
    backend = get_backend(device)
    found = [(backend, [getattr(backend, name) for name in names])]
    if device == "cpu":
        numpy_as_cupy = CUDABackend.__new__(CUDABackend)  # no GPU needed: skip __init__
        numpy_as_cupy.xp = np
        found.append((backend, [getattr(numpy_as_cupy, name) for name in names]))
    return found


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("window, strides, dilation, padding", KERNEL_CASES)
def test_im2col_and_col2im_of_every_backend(window, strides, dilation, padding, dtype, device):
    """im2col against its definition, and col2im as its adjoint: <im2col(x), c> = <x, col2im(c)>."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 7, 6, 3)).astype(dtype)
    out_hw = _out_hw(x.shape, window, strides, dilation, padding)
    expected = _reference_im2col(x, window, strides, dilation, padding, out_hw)
    cols = rng.standard_normal(expected.shape).astype(dtype)
    for backend, (im2col, col2im) in kernel_implementations(device, "im2col", "col2im"):
        got = backend.to_numpy(im2col(backend.asarray(x), window, strides, dilation, padding,
                                      out_hw))
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, expected)
        back = backend.to_numpy(col2im(backend.asarray(cols), x.shape, window, strides, dilation,
                                       padding, out_hw))
        assert back.shape == x.shape and back.dtype == dtype
        np.testing.assert_allclose((expected * cols).sum(), (x * back).sum(), rtol=1e-4)


# --- errors ------------------------------------------------------------------------------


def test_conv2d_names_a_channels_first_batch():
    x, kernel = mg.zeros(32, 3, 32, 32), mg.zeros(3, 3, 3, 16)
    with pytest.raises(ValueError, match=r"conv2d expected input of shape \(N, H, W, 3\), got "
                                         r"\(32, 3, 32, 32\).*channels-first.*permute"):
        mg.conv2d(x, kernel)


def test_conv2d_asks_for_the_batch_axis_of_one_image():
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\), got \(32, 32, 3\).*batch axis"):
        mg.conv2d(mg.zeros(32, 32, 3), mg.zeros(3, 3, 3, 16))


def test_conv2d_names_a_channel_mismatch():
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\), got \(2, 8, 8, 4\)$"):
        mg.conv2d(mg.zeros(2, 8, 8, 4), mg.zeros(3, 3, 3, 16))


def test_conv2d_says_when_the_kernel_is_larger_than_the_input():
    with pytest.raises(ValueError, match=r"window 5x5 is larger than the input 3x3 .*empty"):
        mg.conv2d(mg.zeros(1, 3, 3, 1), mg.zeros(5, 5, 1, 1))
    with pytest.raises(ValueError, match=r"\(dilated\) window 5x5"):
        mg.conv2d(mg.zeros(1, 4, 4, 1), mg.zeros(3, 3, 1, 1), dilation=2)


@pytest.mark.parametrize("kwargs, message", [
    (dict(padding="full"), "padding must be"),
    (dict(strides=0), "strides must be >= 1"),
    (dict(strides=(1, 2, 3)), "strides must be an int or a pair"),
    (dict(dilation=1.5), "dilation must be an int or a pair"),
    (dict(padding=-1), "padding must be >= 0"),
])
def test_conv2d_rejects_bad_arguments(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        mg.conv2d(mg.zeros(1, 5, 5, 1), mg.zeros(3, 3, 1, 1), **kwargs)


def test_conv2d_checks_the_kernel_and_bias_shapes():
    with pytest.raises(ValueError, match=r"kernel of shape \(kh, kw, in_channels, filters\)"):
        mg.conv2d(mg.zeros(1, 5, 5, 1), mg.zeros(3, 3, 1))
    with pytest.raises(ValueError, match=r"bias of shape \(4,\).*got \(3,\)"):
        mg.conv2d(mg.zeros(1, 5, 5, 1), mg.zeros(3, 3, 1, 4), mg.zeros(3))


@pytest.mark.parametrize("block_bytes", [1, 3 * 4 * 4 * 3 * 3 * 8 * 2, 2**30])
def test_conv2d_input_gradient_in_blocks_of_images(block_bytes, monkeypatch):
    """On the CPU the input's gradient is made a block of images at a time (one image, two
    of five with a shorter last block, or all): the same gradient as in one piece."""
    from minigrad.backends import get_backend

    rng = np.random.default_rng(3)
    x, kernel, bias = (rng.standard_normal(shape) for shape in
                       [(5, 6, 6, 3), (3, 3, 3, 4), (4,)])
    grad = rng.standard_normal((5, 4, 4, 4))
    results = []
    for size in (block_bytes, 2**30):
        monkeypatch.setattr(get_backend("cpu"), "conv_block_bytes", size)
        tx = mg.tensor(x, requires_grad=True)
        mg.conv2d(tx, mg.tensor(kernel), mg.tensor(bias), activation="relu").backward(
            mg.tensor(grad))
        results.append(tx.grad.numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12, atol=1e-12)
    assert np.abs(results[0]).max() > 0
