"""Shared fixtures: the devices every test runs on, and the dataset folder."""

import os
from pathlib import Path

import pytest

import minigrad as mg
from minigrad.backends import cpu_threads

_CUDA_SKIP = pytest.mark.skip(reason="no usable GPU (CuPy missing or no device visible): "
                                     "the cuda backend is tested only where one is present")


def _device_params():
    cuda = pytest.param("cuda", marks=() if mg.cuda.is_available() else _CUDA_SKIP)
    return ["cpu", cuda]


@pytest.fixture(params=_device_params())
def device(request):
    """Each test that takes ``device`` runs on "cpu", and on "cuda" when a GPU is usable."""
    return request.param


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same random state."""
    mg.manual_seed(0)


@pytest.fixture(autouse=True)
def _blas_threads_given_back():
    """Every test starts with NumPy's BLAS on its own thread count: a convolution in an
    earlier test may have left it on one (minigrad.backends.cpu_threads), which changes the
    last bits of every later product (CI saw a benchmark's rerun differ by 6e-8)."""
    yield
    cpu_threads.restore_blas()


@pytest.fixture
def data_root():
    """The folder with the real datasets ($MINIGRAD_DATA), or skip with the reason."""
    root = os.environ.get("MINIGRAD_DATA")
    if not root or not Path(root).is_dir():
        pytest.skip("real datasets not available: set MINIGRAD_DATA to the folder that holds "
                    "mnist/, cifar10/ and imdb/")
    return Path(root)
