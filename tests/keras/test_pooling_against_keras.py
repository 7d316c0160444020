"""Pooling layers against Keras 3 (torch backend) on identical inputs, and against TensorFlow's
rule where Keras 3's torch backend has a bug: with "same" padding that is uneven (more padding
after than before), its average pooling counts padded cells in the mean. TensorFlow, Keras 2 and
minigrad average over the real cells only; the reference below computes that rule in NumPy."""

import math
import os

import numpy as np
import pytest

from minigrad import nn

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

CASES = [((2, 2), None, "same"), ((3, 3), (2, 2), "same"), ((2, 3), (1, 2), "valid"),
         ((3, 2), (2, 3), "same"), ((3, 3), (1, 1), "same"), ((2, 2), (3, 3), "valid")]


def tensorflow_average_pool(x, pool, strides, padding):
    """TensorFlow's avg_pool on (N, H, W, C): SAME pads (total // 2) before, the rest after,
    and divides each window's sum by the number of real cells in it."""
    strides = strides or pool
    out, pads = [], []
    for size, k, s in zip(x.shape[1:3], pool, strides):
        n = math.ceil(size / s) if padding == "same" else (size - k) // s + 1
        total = max((n - 1) * s + k - size, 0) if padding == "same" else 0
        out.append(n)
        pads.append(total // 2)
    result = np.zeros((x.shape[0], *out, x.shape[3]), np.float64)
    for i in range(out[0]):
        for j in range(out[1]):
            top, left = i * strides[0] - pads[0], j * strides[1] - pads[1]
            rows = slice(max(top, 0), min(top + pool[0], x.shape[1]))
            cols = slice(max(left, 0), min(left + pool[1], x.shape[2]))
            result[:, i, j] = x[:, rows, cols].mean(axis=(1, 2))
    return result


@pytest.mark.parametrize("pool, strides, padding", CASES)
def test_max_pooling_equals_keras(pool, strides, padding):
    x = np.random.default_rng(0).normal(size=(2, 5, 7, 3)).astype(np.float32)
    expected = keras.ops.convert_to_numpy(
        keras.layers.MaxPooling2D(pool, strides=strides, padding=padding)(x))
    np.testing.assert_array_equal(
        nn.MaxPooling2D(pool, strides=strides, padding=padding)(x).numpy(), expected)


@pytest.mark.parametrize("pool, strides, padding", CASES)
def test_average_pooling_follows_tensorflow_and_keras_where_keras_is_right(pool, strides,
                                                                           padding):
    x = np.random.default_rng(1).normal(size=(2, 5, 7, 3)).astype(np.float32)
    ours = nn.AveragePooling2D(pool, strides=strides, padding=padding)(x).numpy()
    reference = tensorflow_average_pool(x.astype(np.float64), pool, strides, padding)
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-6)
    theirs = keras.ops.convert_to_numpy(
        keras.layers.AveragePooling2D(pool, strides=strides, padding=padding)(x))
    uneven = (pool, strides, padding) == ((3, 2), (2, 3), "same")
    if uneven:  # Keras 3's torch backend counts the padded cells: its known bug
        assert not np.allclose(ours, theirs, rtol=1e-5)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
