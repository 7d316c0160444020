"""dtype spellings and PyTorch-like promotion rules."""

import numpy as np
import pytest

from minigrad import dtypes


@pytest.mark.parametrize("spelling, expected", [
    ("float32", np.float32), (np.float64, np.float64), (np.dtype("float16"), np.float16),
    (float, np.float32), (int, np.int64), (bool, np.bool_), ("int32", np.int32)])
def test_as_dtype(spelling, expected):
    assert dtypes.as_dtype(spelling) == np.dtype(expected)


@pytest.mark.parametrize("a, b, expected", [
    ("float32", "float64", "float64"), ("int64", "float32", "float32"),
    ("float16", "int32", "float16"), ("int32", "int64", "int64"), ("bool", "float16", "float16")])
def test_result_dtype_keeps_floats_beside_integers(a, b, expected):
    assert dtypes.result_dtype(np.dtype(a), np.dtype(b)) == np.dtype(expected)
    assert dtypes.result_dtype(np.dtype(b), np.dtype(a)) == np.dtype(expected)


@pytest.mark.parametrize("dtype, expected", [
    ("float16", "float32"), ("float32", "float32"), ("float64", "float64"), ("int64", "int64")])
def test_compute_dtype_widens_only_float16(dtype, expected):
    assert dtypes.compute_dtype(np.dtype(dtype)) == np.dtype(expected)
