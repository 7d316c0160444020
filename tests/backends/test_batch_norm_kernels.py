"""The batch-norm backward kernels of the kernel table: the CPU's Numba loops against NumPy,
and the CUDA backend's (CuPy calls; emulated with NumPy standing in, see conftest.py) against
the CPU."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from minigrad.backends import get_backend

cpu = get_backend("cpu")
DTYPES = [np.float32, np.float64]


def _problem(rng, rows, features, dtype):
    grad, x = (rng.standard_normal((rows, features)).astype(dtype) for _ in range(2))
    x += dtype(3)  # a mean far from 0, as a conv output has
    vectors = [rng.standard_normal(features).astype(dtype) for _ in range(4)]
    return grad, x, vectors


@settings(deadline=None, max_examples=30)
@given(rows=st.integers(1, 70), features=st.integers(1, 9), dtype=st.sampled_from(DTYPES))
def test_cpu_kernels_equal_numpy(rows, features, dtype):
    rng = np.random.default_rng(rows * 10 + features)
    grad, x, (mean, per_centered, mean_grad, scale) = _problem(rng, rows, features, dtype)
    sum_grad, sum_product = cpu.batch_norm_backward_sums(grad, x, mean)
    tolerance = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12,
                                                                            atol=1e-12)
    assert sum_grad.dtype == dtype and sum_product.dtype == dtype
    exact = grad.astype(np.float64)
    np.testing.assert_allclose(sum_grad, exact.sum(axis=0), **tolerance)
    np.testing.assert_allclose(sum_product, (exact * (x.astype(np.float64) - mean)).sum(axis=0),
                               **tolerance)
    out = np.full_like(grad, np.nan)
    got = cpu.batch_norm_input_grad(grad, x, mean, per_centered, mean_grad, scale, out)
    assert got is out
    np.testing.assert_allclose(out, (grad - mean_grad - (x - mean) * per_centered) * scale,
                               **tolerance)


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_cuda_backend_equals_the_cpu(gpu, dtype):
    rng = np.random.default_rng(2)
    grad, x, vectors = _problem(rng, 37, 5, dtype)
    want_sums = cpu.batch_norm_backward_sums(grad, x, vectors[0])
    got_sums = gpu.batch_norm_backward_sums(gpu.asarray(grad), gpu.asarray(x),
                                            gpu.asarray(vectors[0]))
    tolerance = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-11,
                                                                            atol=1e-11)
    for got, want in zip(got_sums, want_sums):
        np.testing.assert_allclose(gpu.to_numpy(got), want, **tolerance)
    want = cpu.batch_norm_input_grad(grad, x, *vectors, np.empty_like(grad))
    out = gpu.asarray(np.empty_like(grad))
    got = gpu.batch_norm_input_grad(gpu.asarray(grad), gpu.asarray(x),
                                    *(gpu.asarray(v) for v in vectors), out)
    np.testing.assert_allclose(gpu.to_numpy(got), want, **tolerance)
