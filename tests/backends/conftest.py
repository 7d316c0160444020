"""The backends whose CUDA kernels the kernel tests run: ``"emulated"`` (the ``.cu`` files
compiled by g++ for the CPU, NumPy standing in for CuPy: runs wherever g++ is) and ``"cuda"``
(the real GPU: runs where one is usable). Each records the kernels it launched, so a test can
check that the kernel ran and not the xp fallback."""

import pytest

import minigrad as mg

from .cuda_emulation import EmulatedCUDABackend, EmulatedKernels, gxx_available


@pytest.fixture(scope="session")
def emulated_kernels(tmp_path_factory):
    if not gxx_available():
        pytest.skip("g++ not found: the CUDA kernels are tested without a GPU by compiling them "
                    "as host C++ with g++ (apt-get install g++)")
    return EmulatedKernels(tmp_path_factory.mktemp("cuda_emulation"))


def _recording(load_kernel, launched):
    def load(file_name, function_name):
        kernel = load_kernel(file_name, function_name)

        def launch(grid, block, args):
            launched.append(function_name)
            return kernel(grid, block, args)

        return launch

    return load


@pytest.fixture(params=["emulated", "cuda"])
def gpu(request):
    """A CUDA backend (emulated, or the real one) with ``gpu.launched``: the names of the kernels
    launched so far."""
    if request.param == "cuda":
        if not mg.cuda.is_available():
            pytest.skip("no usable GPU (CuPy missing or no device visible): the kernels are "
                        "tested on the GPU only where one is present")
        from minigrad.backends.cuda import CUDABackend

        backend = CUDABackend()
    else:
        backend = EmulatedCUDABackend(request.getfixturevalue("emulated_kernels"))
    backend.launched = []
    backend.load_kernel = _recording(backend.load_kernel, backend.launched)
    backend.seed(0)
    return backend
