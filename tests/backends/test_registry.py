"""Finding backends by device name; the CUDA backend is lazy and fails clearly."""

import subprocess
import sys

import pytest

import minigrad as mg
from minigrad.backends import get_backend


def test_cpu_is_the_default():
    assert get_backend(None).name == "cpu" and get_backend("CPU") is get_backend("cpu")


def test_unknown_device_is_named():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        get_backend("tpu")
    with pytest.raises(ValueError, match="one GPU"):
        get_backend("cuda:1")


def test_importing_minigrad_does_not_import_cupy_or_numba():
    code = ("import sys, minigrad as mg; x = mg.ones(3, requires_grad=True); (x * 2).sum()."
            "backward(); print('cupy' in sys.modules, 'numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.skipif(mg.cuda.is_available(), reason="a GPU is usable here")
def test_asking_for_cuda_without_a_gpu_says_what_is_missing():
    with pytest.raises(RuntimeError, match="device 'cuda'.*(CuPy|GPU)"):
        mg.zeros(2, device="cuda")
    assert mg.cuda.is_available() is False
