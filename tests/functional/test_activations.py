"""Activations at extreme inputs: finite, correct to the last digits in the tails (where a naive
formula overflows or cancels), and with the right gradient; plus their parameters' meaning."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg

from ._specs import NO_TORCH, hypothesis_settings

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


# --- the activations Keras users name by string ----------------------------------------------

def _gelu_reference(x):
    return x * 0.5 * math.erfc(-x / math.sqrt(2))  # Python floats: exact to double precision


@pytest.mark.parametrize("dtype, points", [
    ("float64", [-30.0, -10.0, -5.0, -3.0, -1.0, -1e-3, 0.5, 3.0, 10.0]),
    ("float32", [-12.0, -6.0, -3.1546097, -3.0, -1.0, 0.5, 3.0]),
])
def test_gelu_keeps_its_relative_accuracy_in_the_left_tail(dtype, points, device, no_warnings):
    """Phi(x) through erfc, not 1 + erf(x / sqrt 2): at x = -3.15 in float32 the latter keeps
    four digits (PyTorch's vectorized float32 gelu gives -0.00253445 for -0.00253493). In
    float32 the rounding of x / sqrt(2) alone costs about 2 (x^2 / 2) 6e-8 relatively (1e-5 at
    x = -12)."""
    y, grad = _value_and_grad(mg.gelu, points, dtype, device)
    expected = [_gelu_reference(float(np.asarray(p, dtype))) for p in points]
    np.testing.assert_allclose(y, expected, rtol=1e-13 if dtype == "float64" else 2e-5, atol=0)
    assert np.isfinite(grad).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, big, small", [
    # f(1e4), f(-1e4) and the gradients there
    ("gelu", (1e4, 1.0), (0.0, 0.0)),
    ("gelu_tanh", (1e4, 1.0), (0.0, 0.0)),
    ("silu", (1e4, 1.0), (0.0, 0.0)),
    ("selu", (1.0507009873554805e4, 1.0507009873554805), (-1.7580993408473766, 0.0)),
    ("relu6", (6.0, 0.0), (0.0, 0.0)),
    ("hard_sigmoid", (1.0, 0.0), (0.0, 0.0)),
    ("hard_silu", (1e4, 1.0), (0.0, 0.0)),
    ("softsign", (1e4 / (1 + 1e4), 1 / (1 + 1e4) ** 2), (-1e4 / (1 + 1e4), 1 / (1 + 1e4) ** 2)),
    ("mish", (1e4, 1.0), (0.0, 0.0)),
])
def test_new_activations_at_plus_minus_1e4(name, big, small, dtype, device, no_warnings):
    fn = {"gelu_tanh": lambda x: mg.gelu(x, approximate=True)}.get(name, getattr(mg, name, None))
    y, grad = _value_and_grad(fn, [1e4, -1e4], dtype, device)
    np.testing.assert_allclose(y, [big[0], small[0]], rtol=1e-6, atol=0)
    np.testing.assert_allclose(grad, [big[1], small[1]], rtol=1e-6, atol=1e-12)
    assert y.dtype == grad.dtype == dtype


@pytest.mark.parametrize("name", ["gelu", "silu", "selu", "relu6", "hard_sigmoid", "hard_silu",
                                  "softsign", "mish"])
def test_new_activations_keep_float16(name, device, no_warnings):
    x = mg.tensor([-2.0, -0.5, 0.5, 2.0], dtype="float16", device=device, requires_grad=True)
    y = getattr(mg, name)(x)
    y.sum().backward()
    assert y.dtype == x.grad.dtype == mg.float16
    expected = getattr(mg, name)(mg.tensor([-2.0, -0.5, 0.5, 2.0], dtype="float64")).numpy()
    np.testing.assert_allclose(y.numpy().astype(float), expected, rtol=2e-3, atol=1e-3)


@pytest.mark.parametrize("alias, name", [("swish", "silu"), ("hard_swish", "hard_silu")])
def test_keras_aliases_are_the_same_functions(alias, name):
    assert getattr(mg, alias) is getattr(mg, name)


def test_hard_sigmoid_and_hard_silu_follow_keras_3(device):
    """Keras 3: hard_sigmoid(x) = relu6(x + 3) / 6 (tf.keras 2 had clip(0.2 x + 0.5, 0, 1));
    hard_silu(x) = x hard_sigmoid(x); gradients at the inner points."""
    y, grad = _value_and_grad(mg.hard_sigmoid, [-4.0, -1.5, 0.0, 1.5, 4.0], "float64", device)
    np.testing.assert_allclose(y, [0.0, 0.25, 0.5, 0.75, 1.0], rtol=1e-15)
    np.testing.assert_allclose(grad, [0.0, 1 / 6, 1 / 6, 1 / 6, 0.0], rtol=1e-15)
    y, grad = _value_and_grad(mg.hard_silu, [-4.0, -1.5, 1.5, 4.0], "float64", device)
    np.testing.assert_allclose(y, [0.0, -0.375, 1.125, 4.0], rtol=1e-15)
    np.testing.assert_allclose(grad, [0.0, 0.0, 1.0, 1.0], rtol=1e-15, atol=1e-15)


def test_gelu_takes_pytorchs_spelling_of_approximate():
    x = mg.tensor([0.7, -1.3], dtype="float64")
    np.testing.assert_array_equal(mg.gelu(x, approximate="tanh").numpy(),
                                  mg.gelu(x, approximate=True).numpy())
    np.testing.assert_array_equal(mg.gelu(x, approximate="none").numpy(), mg.gelu(x).numpy())
    with pytest.raises(ValueError, match="approximate must be True/False.*got 'erf'"):
        mg.gelu(x, approximate="erf")


# --- property: any shape, any float dtype, values from the tails to the kinks ------------------

_TORCH_ACTIVATIONS = {
    "gelu": lambda T, a: T.nn.functional.gelu(a),
    "gelu_tanh": lambda T, a: T.nn.functional.gelu(a, approximate="tanh"),
    "silu": lambda T, a: T.nn.functional.silu(a),
    "selu": lambda T, a: T.nn.functional.selu(a),
    "relu6": lambda T, a: T.nn.functional.relu6(a),
    "hard_sigmoid": lambda T, a: T.nn.functional.hardsigmoid(a),
    "hard_silu": lambda T, a: T.nn.functional.hardswish(a),
    "softsign": lambda T, a: T.nn.functional.softsign(a),
    "mish": lambda T, a: T.nn.functional.mish(a),
}


def _ours(name):
    return (lambda x: mg.gelu(x, approximate=True)) if name == "gelu_tanh" else getattr(mg, name)


@hypothesis_settings(max_examples=60)
@given(name=st.sampled_from(sorted(_TORCH_ACTIVATIONS)), dtype=st.sampled_from(["float32",
                                                                               "float64"]),
       values=hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
                         elements=st.one_of(st.floats(-60, 60), st.sampled_from(
                             [0.0, -3.0, 3.0, 6.0, -1e4, 1e4]))))
def test_new_activations_match_torch_for_any_shape_and_value(name, dtype, values, device):
    """Kinks included (0, +-3, 6: PyTorch's gradient conventions there) and large magnitudes."""
    torch = pytest.importorskip("torch", reason=NO_TORCH)
    x = mg.tensor(values, dtype=dtype, device=device, requires_grad=True)
    y = _ours(name)(x)
    y.sum().backward()
    t = torch.tensor(values, dtype=getattr(torch, dtype), requires_grad=True)
    expected = _TORCH_ACTIVATIONS[name](torch, t)
    expected.sum().backward()
    assert y.shape == x.shape and y.dtype == x.grad.dtype == dtype
    tolerance = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-10,
                                                                           atol=1e-12)
    np.testing.assert_allclose(y.numpy(), expected.detach().numpy(), **tolerance)
    if name == "hard_sigmoid":  # PyTorch's backward multiplies by a float32 1/6, in float64 too
        tolerance = dict(rtol=1e-7, atol=0)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), **tolerance)
