"""Activations at extreme inputs: finite, correct to the last digits in the tails (where a naive
formula overflows or cancels), and with the right gradient; plus their parameters' meaning."""

import math
import warnings

import numpy as np
import pytest

import minigrad as mg

TOLERANCES = {"float16": dict(rtol=1e-3, atol=0), "float32": dict(rtol=1e-6, atol=0),
              "float64": dict(rtol=1e-13, atol=0)}


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _sigmoid_reference(x):
    return 1 / (1 + math.exp(-x))  # Python floats: exact enough for |x| < 700


def _value_and_grad(fn, values, dtype, device):
    x = mg.tensor(values, dtype=dtype, device=device, requires_grad=True)
    y = fn(x)
    y.sum().backward()
    return y.numpy(), x.grad.numpy()


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_sigmoid_saturates_at_plus_minus_1e4(dtype, device, no_warnings):
    y, grad = _value_and_grad(mg.sigmoid, [1e4, -1e4], dtype, device)
    np.testing.assert_array_equal(y, [1.0, 0.0])
    np.testing.assert_array_equal(grad, [0.0, 0.0])
    assert y.dtype == grad.dtype == dtype


@pytest.mark.parametrize("dtype, points", [
    ("float64", [-700.0, -100.0, -40.0, -30.0, -10.0, -1.0, 0.0, 1.0, 10.0, 30.0]),
    ("float32", [-80.0, -40.0, -20.0, -5.0, 0.0, 5.0, 15.0]),
])
def test_sigmoid_is_accurate_in_both_tails(dtype, points, device, no_warnings):
    """sigmoid(-40) is 4.2e-18, not 0: log(sigmoid(x)) must stay finite there."""
    y, grad = _value_and_grad(mg.sigmoid, points, dtype, device)
    expected = np.array([_sigmoid_reference(p) for p in points])
    np.testing.assert_allclose(y, expected, **TOLERANCES[dtype])
    # The gradient s (1 - s) comes from the saved output s: relative accuracy where s is small,
    # but for large x (s rounded near 1) only to the dtype's epsilon, as in PyTorch.
    left = np.array(points) <= 0
    expected_grad = expected * (1 - expected)
    np.testing.assert_allclose(grad[left], expected_grad[left], **TOLERANCES[dtype])
    np.testing.assert_allclose(grad[~left], expected_grad[~left], rtol=0,
                               atol=np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_tanh_saturates_at_plus_minus_1e4(dtype, device, no_warnings):
    y, grad = _value_and_grad(mg.tanh, [1e4, -1e4], dtype, device)
    np.testing.assert_array_equal(y, [1.0, -1.0])
    np.testing.assert_array_equal(grad, [0.0, 0.0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softplus_at_large_magnitudes(dtype, device, no_warnings):
    """With the threshold out of the way, log(1 + e^x) itself must not overflow at 1e4, nor
    lose the tiny value e^x at -50."""
    points = [1e4, 50.0, -50.0, -1e4]
    y, grad = _value_and_grad(lambda x: mg.softplus(x, threshold=math.inf), points, dtype,
                              device)
    tiny = math.exp(-50.0)  # log(1 + e^-50) = e^-50 to double precision
    np.testing.assert_allclose(y, [1e4, 50.0, tiny, 0.0], **TOLERANCES[dtype])
    np.testing.assert_allclose(grad, [1.0, 1.0, _sigmoid_reference(-50.0), 0.0],
                               **TOLERANCES[dtype])


def test_softplus_threshold_switches_to_the_identity(device):
    # beta * x = 6 > threshold 5: exactly x (PyTorch's rule), although log(1 + e^6) / 2 > 3.
    y, grad = _value_and_grad(lambda x: mg.softplus(x, beta=2.0, threshold=5.0), [3.0, 2.0],
                              "float64", device)
    np.testing.assert_allclose(y, [3.0, math.log1p(math.exp(4.0)) / 2], rtol=1e-14)
    np.testing.assert_allclose(grad, [1.0, _sigmoid_reference(4.0)], rtol=1e-14)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_elu_at_large_magnitudes(dtype, device, no_warnings):
    y, grad = _value_and_grad(lambda x: mg.elu(x, alpha=1.5), [1e4, -1e4, -1.0], dtype, device)
    np.testing.assert_allclose(y, [1e4, -1.5, 1.5 * math.expm1(-1.0)], **TOLERANCES[dtype])
    np.testing.assert_allclose(grad, [1.0, 0.0, 1.5 * math.exp(-1.0)], **TOLERANCES[dtype])


def test_leaky_relu_scales_negative_inputs_by_the_slope(device):
    y, grad = _value_and_grad(lambda x: mg.leaky_relu(x, 0.2), [-2.0, 3.0], "float64", device)
    np.testing.assert_allclose(y, [-0.4, 3.0], rtol=1e-15)
    np.testing.assert_allclose(grad, [0.2, 1.0], rtol=1e-15)
