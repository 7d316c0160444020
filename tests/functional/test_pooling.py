"""max_pool2d, avg_pool2d and global_avg_pool2d on channels-last images: gradients against
finite differences, forward and backward against PyTorch, ties and NaN as PyTorch, dtypes, the
backends' max-pool kernels, and the error messages."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg
from minigrad.functional.conv import same_padding

from ._specs import NO_TORCH, hypothesis_settings
from .test_conv import assert_close, kernel_implementations

torch = pytest.importorskip("torch", reason=NO_TORCH)
F = torch.nn.functional

# (pool_size, strides, padding): tiling, overlapping, rectangular, "same" with odd sizes.
POOLS = [(2, None, "valid"), (3, 2, "valid"), ((2, 3), (1, 2), "valid"), (2, None, "same"),
         (3, 2, "same"), (3, 1, "same"), ((1, 2), 2, "same")]
POOL_IDS = [f"k{k}-s{s}-{p}".replace(" ", "") for k, s, p in POOLS]


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _distinct(rng, shape):
    """Values 0.1 apart in random order: no ties, even after a finite-difference step."""
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 1.0)


def torch_pool(kind, x, pool_size, strides, padding, grad_out=None):
    """PyTorch's max or (Keras-"same") average pooling of NHWC ``x``: (out, d x) in NHWC."""
    window = _pair(pool_size)
    strides = window if strides is None else _pair(strides)
    pads = [(0, 0), (0, 0)]
    if padding == "same":
        pads = [same_padding(s, k, st) for s, k, st in zip(x.shape[1:3], window, strides)]
    border = (pads[1][0], pads[1][1], pads[0][0], pads[0][1])
    tx = torch.tensor(np.ascontiguousarray(x.transpose(0, 3, 1, 2)), requires_grad=True)
    if kind == "max":
        out = F.max_pool2d(F.pad(tx, border, value=-float("inf")), window, strides)
    else:  # window sums divided by how many cells of each window are inside the image
        sums = F.avg_pool2d(F.pad(tx, border), window, strides, divisor_override=1)
        ones = torch.ones((1, 1) + x.shape[1:3], dtype=tx.dtype)
        out = sums / F.avg_pool2d(F.pad(ones, border), window, strides, divisor_override=1)
    out = out.permute(0, 2, 3, 1)
    grad = None
    if grad_out is not None:
        out.backward(torch.tensor(grad_out))
        grad = tx.grad.permute(0, 2, 3, 1).numpy()
    return out.detach().numpy(), grad


POOL_FUNCTIONS = {"max": mg.max_pool2d, "avg": mg.avg_pool2d}


def assert_pool_matches_torch(kind, x, pool_size, strides, padding, device):
    dtype = x.dtype.name
    tx = mg.tensor(x, device=device, requires_grad=True)
    out = POOL_FUNCTIONS[kind](tx, pool_size, strides, padding)
    grad_out = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    expected, expected_grad = torch_pool(kind, x, pool_size, strides, padding, grad_out)
    assert out.shape == expected.shape and out.dtype == dtype
    assert_close(out.numpy(), expected, dtype, "output")
    out.backward(mg.tensor(grad_out, device=device))
    assert_close(tx.grad.numpy(), expected_grad, dtype, "d input")


@pytest.mark.parametrize("pool_size, strides, padding", POOLS, ids=POOL_IDS)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_gradients_match_finite_differences(kind, pool_size, strides, padding, device):
    x = mg.tensor(_distinct(np.random.default_rng(0), (2, 7, 6, 3)), dtype="float64",
                  device=device, requires_grad=True)
    pool = POOL_FUNCTIONS[kind]
    assert mg.testing.gradcheck(lambda x: pool(x, pool_size, strides, padding), x)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("pool_size, strides, padding", POOLS, ids=POOL_IDS)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_forward_and_backward_match_torch(kind, pool_size, strides, padding, dtype, device):
    x = np.random.default_rng(0).standard_normal((3, 9, 8, 4)).astype(dtype)
    assert_pool_matches_torch(kind, x, pool_size, strides, padding, device)


@hypothesis_settings(max_examples=40)
@given(kind=st.sampled_from(["max", "avg"]), n=st.integers(1, 2), h=st.integers(1, 8),
       w=st.integers(1, 8), c=st.integers(1, 3), kh=st.integers(1, 4), kw=st.integers(1, 4),
       strides=st.sampled_from([None, 1, 2, 3, (1, 2)]),
       padding=st.sampled_from(["valid", "same"]), seed=st.integers(0, 2 ** 16))
def test_pools_match_torch_for_any_geometry(kind, n, h, w, c, kh, kw, strides, padding, seed,
                                            device):
    x = np.random.default_rng(seed).standard_normal((n, h, w, c))
    if padding == "valid" and (kh > h or kw > w):
        with pytest.raises(ValueError, match="output would be empty"):
            POOL_FUNCTIONS[kind](mg.tensor(x), (kh, kw), strides, padding)
        return
    assert_pool_matches_torch(kind, x, (kh, kw), strides, padding, device)


def test_max_pool_ties_send_the_gradient_to_the_first_cell_as_torch(device):
    x = np.array([[1.0, 1.0, 2.0], [1.0, 1.0, 2.0], [0.0, 3.0, 3.0]]).reshape(1, 3, 3, 1)
    for pool_size, strides, padding in [(2, None, "valid"), (2, 1, "valid"), (2, None, "same")]:
        assert_pool_matches_torch("max", x, pool_size, strides, padding, device)


def test_max_pool_propagates_nan_as_torch(device):
    x = np.array([[1.0, np.nan, 2.0, 5.0], [0.0, 4.0, np.nan, np.nan]]).reshape(1, 2, 4, 1)
    out = mg.max_pool2d(mg.tensor(x, device=device), (2, 2)).numpy().reshape(-1)
    expected, _ = torch_pool("max", x, (2, 2), None, "valid")
    np.testing.assert_array_equal(out, expected.reshape(-1))
    assert np.isnan(out).all()


def test_max_pool_of_minus_infinity_keeps_the_gradient_inside_the_image(device):
    x = mg.full((1, 3, 3, 1), -np.inf, dtype="float64", device=device, requires_grad=True)
    mg.max_pool2d(x, 2, padding="same").sum().backward()
    assert x.grad.numpy().sum() == 4  # every window's gradient reached a real cell


def test_avg_pool_same_leaves_the_padding_out_of_the_mean(device):
    x = mg.ones(1, 3, 3, 1, device=device)
    np.testing.assert_array_equal(mg.avg_pool2d(x, 2, padding="same").numpy(), 1.0)


# --- the backends' max-pool kernels ----------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("window, strides, padding", [
    ((2, 2), (2, 2), ((0, 0), (0, 0))), ((3, 3), (2, 2), ((1, 1), (0, 1))),
    ((3, 2), (1, 1), ((1, 1), (1, 0)))])
def test_max_pool_kernels_of_every_backend(window, strides, padding, dtype, device):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, (2, 6, 7, 3)).astype(dtype)  # many ties
    x[0, 0, 0, 0] = np.nan
    out_hw = tuple((s + sum(p) - k) // st + 1 for s, k, st, p in
                   zip(x.shape[1:3], window, strides, padding))
    # torch with the same padding of -inf (PyTorch pads symmetrically only, so pad by hand)
    border = (padding[1][0], padding[1][1], padding[0][0], padding[0][1])
    tx = torch.tensor(np.ascontiguousarray(x.transpose(0, 3, 1, 2)), requires_grad=True)
    expected = F.max_pool2d(F.pad(tx, border, value=-float("inf")), window, strides)
    grad = rng.standard_normal(expected.shape).astype(dtype)
    expected.backward(torch.tensor(grad))
    expected = expected.detach().permute(0, 2, 3, 1).numpy()
    grad = grad.transpose(0, 2, 3, 1)
    for backend, (forward, backward) in kernel_implementations(device, "max_pool2d",
                                                               "max_pool2d_backward"):
        out, argmax = forward(backend.asarray(x), window, strides, padding, out_hw)
        np.testing.assert_array_equal(backend.to_numpy(out), expected)
        grad_x = backward(backend.asarray(grad), argmax, x.shape, window, strides, padding)
        np.testing.assert_allclose(backend.to_numpy(grad_x),
                                   tx.grad.permute(0, 2, 3, 1).numpy(), rtol=1e-6)


# --- global average pooling ------------------------------------------------------------------


def test_global_avg_pool_gradient_matches_finite_differences(device):
    x = mg.randn(2, 3, 4, 5, dtype="float64", device=device, requires_grad=True)
    assert mg.testing.gradcheck(mg.global_avg_pool2d, x)
    assert mg.testing.gradcheck(lambda x: mg.global_avg_pool2d(x, keepdims=True), x)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_global_avg_pool_matches_torch(dtype, device):
    x = np.random.default_rng(0).standard_normal((3, 5, 4, 6)).astype(dtype)
    tx = mg.tensor(x, device=device, requires_grad=True)
    out = mg.global_avg_pool2d(tx)
    assert out.shape == (3, 6)
    reference = torch.tensor(np.ascontiguousarray(x.transpose(0, 3, 1, 2)), requires_grad=True)
    expected = F.adaptive_avg_pool2d(reference, 1).flatten(1)
    grad = np.random.default_rng(1).standard_normal((3, 6)).astype(dtype)
    expected.backward(torch.tensor(grad))
    assert_close(out.numpy(), expected.detach().numpy(), dtype, "output")
    out.backward(mg.tensor(grad, device=device))
    assert_close(tx.grad.numpy(), reference.grad.permute(0, 2, 3, 1).numpy(), dtype, "d input")


# --- dtypes and errors -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("pool", [
    lambda x: mg.max_pool2d(x, 3, 2, "same"), lambda x: mg.avg_pool2d(x, 3, 2, "same"),
    mg.global_avg_pool2d], ids=["max", "avg", "global"])
def test_pools_keep_the_dtype_in_outputs_and_gradients(pool, dtype, device):
    x = mg.randn(2, 5, 5, 3, dtype=dtype, device=device, requires_grad=True)
    out = pool(x)
    assert out.dtype == dtype
    out.sum().backward()
    assert x.grad.dtype == dtype


def test_max_pool_of_float16_gives_the_exact_maxima(device):
    x = np.random.default_rng(0).standard_normal((2, 4, 4, 3)).astype(np.float16)
    out = mg.max_pool2d(mg.tensor(x, device=device)).numpy()
    np.testing.assert_array_equal(out, x.reshape(2, 2, 2, 2, 2, 3).max(axis=(2, 4)))


@pytest.mark.parametrize("pool", [mg.max_pool2d, mg.avg_pool2d])
def test_pools_reject_bad_arguments(pool):
    x = mg.zeros(1, 4, 4, 2)
    with pytest.raises(ValueError, match='padding must be "valid" or "same", got 1'):
        pool(x, 2, padding=1)
    with pytest.raises(ValueError, match=r"window 5x5 is larger than the input 4x4"):
        pool(x, 5)
    with pytest.raises(ValueError, match=r"expected input of shape \(N, H, W, C\), got "
                                         r"\(4, 4, 2\).*batch axis"):
        pool(mg.zeros(4, 4, 2))
    with pytest.raises(ValueError, match="pool_size must be >= 1"):
        pool(x, 0)
