"""The CPU emulation of CUDA kernels (tests/backends/cuda_emulation) catches what it promises
to: wrong argument types, overlapping arrays, writes outside an array or into a const one, and
kernels whose result depends on the order of their threads."""

import numpy as np
import pytest

from .cuda_emulation import EmulatedKernels, gxx_available

pytestmark = pytest.mark.skipif(not gxx_available(), reason="g++ not found: the CUDA kernels "
                                "are emulated on the CPU by compiling them as host C++")

SOURCE = r"""
extern "C" __global__ void add_one(const double* __restrict__ x, double* __restrict__ out,
                                   long long n) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k < n) out[k] = x[k] + 1.0;
}

extern "C" __global__ void writes_one_too_far(double* __restrict__ out, long long n) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k <= n) out[k] = 1.0;  // the bug: <= instead of <
}

extern "C" __global__ void prefix_sum_race(double* __restrict__ x, long long n) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k > 0 && k < n) x[k] += x[k - 1];  // reads what another thread writes
}

extern "C" __global__ void atomic_total(const float* __restrict__ x, float* __restrict__ total,
                                        long long n) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k < n) atomicAdd(total, x[k]);
}

extern "C" __global__ void scales_a_const_input(const double* __restrict__ x, long long n) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k < n) const_cast<double*>(x)[k] *= 2.0;  // the bug: writes what it declares const
}
"""


@pytest.fixture
def kernels(tmp_path):
    (tmp_path / "toy.cu").write_text(SOURCE)
    return EmulatedKernels(tmp_path / "build", kernel_dir=tmp_path)


def test_a_launch_runs_every_thread_of_every_block(kernels):
    x, out = np.arange(1000.0), np.zeros(1000)
    kernels.load("toy.cu", "add_one")((4,), (256,), (x, out, np.int64(1000)))
    np.testing.assert_array_equal(out, x + 1)


def test_arguments_of_the_wrong_type_are_refused(kernels):
    add_one = kernels.load("toy.cu", "add_one")
    x, out = np.arange(4.0), np.zeros(4)
    with pytest.raises(TypeError, match=r"double\* __restrict__ out needs a float64 array, got "
                                        r"float32"):
        add_one((1,), (4,), (x, out.astype(np.float32), np.int64(4)))
    with pytest.raises(TypeError, match="long long n needs a int64, got int"):
        add_one((1,), (4,), (x, out, 4))
    with pytest.raises(ValueError, match="must be C-contiguous"):
        add_one((1,), (4,), (np.arange(8.0)[::2], out, np.int64(4)))
    with pytest.raises(ValueError, match="overlap"):
        add_one((1,), (4,), (out, out, np.int64(4)))


def test_a_write_outside_an_array_fails_the_launch(kernels):
    with pytest.raises(AssertionError, match="wrote outside"):
        kernels.load("toy.cu", "writes_one_too_far")((1,), (32,), (np.zeros(10), np.int64(10)))


def test_a_write_into_a_const_array_fails_the_launch(kernels):
    x = np.ones(8)
    with pytest.raises(AssertionError, match="wrote into const double"):
        kernels.load("toy.cu", "scales_a_const_input")((1,), (8,), (x, np.int64(8)))
    np.testing.assert_array_equal(x, 1.0)


def test_a_race_between_threads_shows_up_in_a_shuffled_order(kernels):
    results = []
    for shuffle in (0, 1, 2):
        kernels.shuffle = shuffle
        x = np.ones(64)
        kernels.load("toy.cu", "prefix_sum_race")((1,), (64,), (x, np.int64(64)))
        results.append(x)
    np.testing.assert_array_equal(results[0], np.arange(1.0, 65.0))  # in order it "works"
    assert any(not np.array_equal(results[0], shuffled) for shuffled in results[1:])


def test_atomic_add_adds_every_thread_once(kernels):
    total = np.zeros(1, dtype=np.float32)
    kernels.load("toy.cu", "atomic_total")((2,), (256,), (np.ones(300, np.float32), total,
                                                          np.int64(300)))
    assert total[0] == 300
