"""Finding backends by device name; the CUDA backend is lazy and fails clearly."""

import subprocess
import sys

import pytest

import minigrad as mg
from minigrad.backends import get_backend, split_device_and_dtype


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


@pytest.mark.parametrize("device, dtype, expected", [
    ("float64", None, (None, "float64")), ("int32", None, (None, "int32")),
    ("cpu", None, ("cpu", None)), ("CUDA", "float16", ("CUDA", "float16")),
    ("gpu", None, ("gpu", None)), ("cuda:1", None, ("cuda:1", None)),
    (None, "float64", (None, "float64")), (None, None, (None, None))])
def test_to_arguments_split_into_device_and_dtype(device, dtype, expected):
    assert split_device_and_dtype(device, dtype) == expected


def test_tensors_and_modules_read_to_arguments_alike():
    t = mg.ones(2).to("float64")
    layer = mg.nn.Dense(2)
    layer(mg.ones(1, 3))
    layer.to("float64")
    assert t.dtype == layer.kernel.dtype == mg.float64
    assert mg.ones(2).to("cpu", "float16").dtype == layer.to("cpu", "float16").kernel.dtype
