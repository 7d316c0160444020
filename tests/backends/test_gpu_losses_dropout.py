"""cuda_kernels/softmax_cross_entropy.cu and dropout.cu: the fused softmax cross-entropy against
the CPU backend (dense targets and integer labels, huge logits, one class, leading axes), and
the dropout masks against a Python model of their generator (seeded, reproducible, the kept
fraction). Run emulated on the CPU (g++) and on a GPU when there is one (see conftest.py)."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd.tensor import Tensor
from minigrad.backends import get_backend

cpu = get_backend("cpu")
TOLERANCES = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}
# logits shapes (..., C): a batch, leading axes, one class, more rows than a thread block
SHAPES = [(8, 10), (3, 4, 7), (6, 1), (300, 5)]


def _suffix(dtype):
    return "f32" if dtype == np.float32 else "f64"


def _logits(rng, shape, dtype, scale=3.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


@pytest.mark.parametrize("scale", [3.0, 1e4])  # 1e4: the max shift keeps everything finite
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_sparse_softmax_cross_entropy_matches_the_cpu(gpu, shape, dtype, scale):
    rng = np.random.default_rng(0)
    x = _logits(rng, shape, dtype, scale)
    labels = rng.integers(0, shape[-1], shape[:-1])
    grad = rng.standard_normal(shape[:-1]).astype(dtype)
    loss, saved = cpu.sparse_softmax_cross_entropy(x, labels)
    got_loss, got_saved = gpu.sparse_softmax_cross_entropy(gpu.asarray(x), gpu.asarray(labels))
    got_loss = gpu.to_numpy(got_loss)
    assert got_loss.dtype == dtype and got_loss.shape == shape[:-1]
    assert np.isfinite(got_loss).all()
    np.testing.assert_allclose(got_loss, loss, rtol=TOLERANCES[dtype]["rtol"],
                               atol=TOLERANCES[dtype]["atol"] * scale)
    expected = cpu.sparse_softmax_cross_entropy_backward(saved, labels, grad)
    got = gpu.to_numpy(gpu.sparse_softmax_cross_entropy_backward(
        got_saved, gpu.asarray(labels), gpu.asarray(grad)))
    assert got.dtype == dtype and got.shape == shape
    np.testing.assert_allclose(got, expected, **TOLERANCES[dtype])
    assert gpu.launched == [f"sparse_softmax_cross_entropy_{_suffix(dtype)}",
                            f"sparse_softmax_cross_entropy_backward_{_suffix(dtype)}"]


@pytest.mark.parametrize("scale", [3.0, 1e4])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_dense_softmax_cross_entropy_matches_the_cpu(gpu, shape, dtype, scale):
    rng = np.random.default_rng(1)
    x = _logits(rng, shape, dtype, scale)
    targets = rng.uniform(0, 1, shape).astype(dtype)  # not normalized: sum(t) matters
    grad = rng.standard_normal(shape[:-1]).astype(dtype)
    loss, saved = cpu.softmax_cross_entropy(x, targets)
    got_loss, got_saved = gpu.softmax_cross_entropy(gpu.asarray(x), gpu.asarray(targets))
    got_loss = gpu.to_numpy(got_loss)
    np.testing.assert_allclose(got_loss, loss, rtol=TOLERANCES[dtype]["rtol"] * 10,
                               atol=TOLERANCES[dtype]["atol"] * scale * shape[-1])
    expected = cpu.softmax_cross_entropy_backward(saved, targets, grad)
    got = gpu.to_numpy(gpu.softmax_cross_entropy_backward(got_saved, gpu.asarray(targets),
                                                          gpu.asarray(grad)))
    np.testing.assert_allclose(got, expected, **TOLERANCES[dtype])
    assert gpu.launched == [f"softmax_cross_entropy_{_suffix(dtype)}",
                            f"softmax_cross_entropy_backward_{_suffix(dtype)}"]


@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("sparse", [True, False])
def test_the_losses_run_on_the_kernels_with_a_class_axis_and_sample_weights(gpu, sparse,
                                                                           reduction):
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((5, 4, 6)).astype(np.float32)  # classes on axis 1
    labels = rng.integers(0, 4, (5, 6))
    weight = rng.uniform(0, 2, (5, 6)).astype(np.float32)
    results = []
    for backend in (cpu, gpu):
        x = Tensor._make(backend.asarray(logits), backend, True)
        if sparse:
            loss = mg.sparse_categorical_crossentropy(
                Tensor._make(backend.asarray(labels), backend), x, from_logits=True, axis=1,
                sample_weight=Tensor._make(backend.asarray(weight), backend),
                reduction=reduction)
        else:
            one_hot = np.moveaxis(np.eye(4, dtype=np.float32)[labels], -1, 1)
            loss = mg.categorical_crossentropy(
                Tensor._make(backend.asarray(one_hot), backend), x, from_logits=True, axis=1,
                sample_weight=Tensor._make(backend.asarray(weight), backend),
                reduction=reduction)
        (loss * 2.0).sum().backward()
        results.append((backend.to_numpy(loss.data), backend.to_numpy(x.grad.data)))
    for want, got in zip(*results):
        assert got.dtype == want.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    kernel = "sparse_softmax_cross_entropy" if sparse else "softmax_cross_entropy"
    assert gpu.launched == [f"{kernel}_f32", f"{kernel}_backward_f32"]


# --- dropout ------------------------------------------------------------------------------

def _splitmix_uniforms(key, offset, n):
    """dropout.cu's u_k, in Python integers: splitmix64 output number offset + k + 1 of the
    stream ``key``, its top 53 bits over 2^53."""
    mask = 2 ** 64 - 1
    out = np.empty(n)
    for k in range(n):
        z = (key + (offset + k + 1) * 0x9E3779B97F4A7C15) & mask
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        out[k] = (z >> 11) / 2.0 ** 53
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_mask_is_the_documented_counter_based_hash(gpu, dtype):
    rng = np.random.default_rng(3)
    keep = 0.7
    x = rng.standard_normal((3, 5, 7)).astype(dtype)
    key = gpu._dropout_key
    first, mask = gpu.dropout(gpu.asarray(x), keep)
    second, _ = gpu.dropout(gpu.asarray(x), keep)  # the next call draws the next numbers
    for out, offset in ((first, 0), (second, x.size)):
        kept = (_splitmix_uniforms(key, offset, x.size) < keep).reshape(x.shape)
        expected = x * (kept.astype(dtype) / dtype(keep))  # the CPU's arithmetic
        np.testing.assert_array_equal(gpu.to_numpy(out), expected)
    np.testing.assert_array_equal(gpu.to_numpy(mask), (gpu.to_numpy(first) != 0))

    grad = rng.standard_normal(x.shape).astype(dtype)
    got = gpu.to_numpy(gpu.dropout_backward(gpu.asarray(grad), mask, keep))
    np.testing.assert_array_equal(got, grad * (gpu.to_numpy(mask).astype(dtype) / dtype(keep)))
    assert gpu.launched == [f"dropout_forward_{_suffix(dtype)}"] * 2 + [
        f"dropout_backward_{_suffix(dtype)}"]


def test_dropout_is_reproducible_from_the_seed_and_keeps_the_expected_fraction(gpu):
    x = gpu.asarray(np.ones(200_000, dtype=np.float32))
    gpu.seed(7)
    a, mask_a = gpu.dropout(x, 0.8)
    b, _ = gpu.dropout(x, 0.8)
    gpu.seed(7)
    again, _ = gpu.dropout(x, 0.8)
    gpu.seed(8)
    other, _ = gpu.dropout(x, 0.8)
    a, b, again, other = (gpu.to_numpy(v) for v in (a, b, again, other))
    np.testing.assert_array_equal(a, again)
    assert not np.array_equal(a, b) and not np.array_equal(a, other)
    kept = gpu.to_numpy(mask_a).mean()
    assert abs(kept - 0.8) < 0.005  # 5 standard deviations
    assert set(np.unique(a)) == {np.float32(0), np.float32(1) / np.float32(0.8)}
    np.testing.assert_allclose(a.mean(), 1.0, atol=0.01)  # inverted: the mean is unchanged


def test_dropout_op_on_the_kernels_scales_and_routes_the_gradient(gpu):
    x = Tensor._make(gpu.asarray(np.arange(1.0, 1001.0)), gpu, True)
    y = mg.dropout(x, 0.25)
    y.sum().backward()
    out, grad = gpu.to_numpy(y.data), gpu.to_numpy(x.grad.data)
    kept = out != 0
    np.testing.assert_allclose(out[kept], np.arange(1.0, 1001.0)[kept] / 0.75)
    np.testing.assert_array_equal(grad, np.where(kept, 1 / 0.75, 0.0))
    assert gpu.launched == ["dropout_forward_f64", "dropout_backward_f64"]
