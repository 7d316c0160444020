"""softmax, log_softmax and logsumexp: what they mean, and that logits of +-1e4 (where exp
overflows) give finite, correct values and gradients."""

import math
import warnings

import numpy as np
import pytest

import minigrad as mg

# Rows: one huge logit; all huge; all hugely negative; two hugely negative logits 1 apart.
EXTREME = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4], [-1e4, -1e4, -1e4],
                    [-1e4, -1e4, -9999.0]])
E = math.e
EXPECTED_SOFTMAX = np.array([[1, 0, 0], [1 / 3] * 3, [1 / 3] * 3,
                             [1 / (2 + E), 1 / (2 + E), E / (2 + E)]])
EXPECTED_LOGSUMEXP = np.array([1e4, 1e4 + math.log(3), -1e4 + math.log(3),
                               -9999.0 + math.log(1 + 2 / E)])
TOLERANCES = {"float32": dict(rtol=1e-6, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-12)}


def _extreme(dtype, device):
    return mg.tensor(EXTREME, dtype=dtype, device=device, requires_grad=True)


def _upstream(shape, dtype, device):
    return mg.tensor(np.random.default_rng(0).standard_normal(shape), dtype=dtype, device=device)


@pytest.fixture
def no_warnings():
    """Overflow or invalid values in exp/log would show up as RuntimeWarnings: make them fail."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_of_huge_logits_is_finite_and_correct(dtype, device, no_warnings):
    x = _extreme(dtype, device)
    y = mg.softmax(x, axis=1)
    np.testing.assert_allclose(y.numpy(), EXPECTED_SOFTMAX, **TOLERANCES[dtype])
    g = _upstream(y.shape, dtype, device)
    y.backward(g)
    s, g = EXPECTED_SOFTMAX, g.numpy()
    expected_grad = s * (g - (g * s).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(x.grad.numpy(), expected_grad, **TOLERANCES[dtype])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_log_softmax_of_huge_logits_is_finite_and_correct(dtype, device, no_warnings):
    x = _extreme(dtype, device)
    y = mg.log_softmax(x, axis=-1)
    expected = EXTREME - EXPECTED_LOGSUMEXP[:, None]  # e.g. [0, -1e4, -2e4] for the first row
    np.testing.assert_allclose(y.numpy(), expected, **TOLERANCES[dtype])
    g = _upstream(y.shape, dtype, device)
    y.backward(g)
    g = g.numpy()
    expected_grad = g - EXPECTED_SOFTMAX * g.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(x.grad.numpy(), expected_grad, **TOLERANCES[dtype])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_of_huge_logits_is_finite_and_correct(dtype, keepdims, device, no_warnings):
    x = _extreme(dtype, device)
    y = mg.logsumexp(x, axis=1, keepdims=keepdims)
    assert y.shape == ((4, 1) if keepdims else (4,))
    np.testing.assert_allclose(y.numpy().reshape(4), EXPECTED_LOGSUMEXP, **TOLERANCES[dtype])
    g = _upstream(y.shape, dtype, device)
    y.backward(g)
    expected_grad = g.numpy().reshape(4, 1) * EXPECTED_SOFTMAX  # d logsumexp / dx = softmax
    np.testing.assert_allclose(x.grad.numpy(), expected_grad, **TOLERANCES[dtype])


def test_logsumexp_over_everything_of_huge_logits(device, no_warnings):
    x = mg.tensor([[1e4, 1e4], [-1e4, 1e4]], dtype="float64", device=device)
    np.testing.assert_allclose(mg.logsumexp(x).item(), 1e4 + math.log(3), rtol=1e-14)


def test_masked_logits_get_zero_probability_and_finite_gradients(device, no_warnings):
    """-inf logits (an attention mask) have probability 0, and their gradient is 0, not nan."""
    x = mg.tensor([[0.0, -math.inf, 1.0], [-math.inf, 2.0, -math.inf]], dtype="float64",
                  device=device, requires_grad=True)
    kept = np.isfinite(x.numpy())
    for fn in (mg.softmax, mg.log_softmax):
        x.grad = None
        mg.where(kept, fn(x), 0.0).sum().backward()  # log_softmax is -inf where masked
        assert np.isfinite(x.grad.numpy()).all(), fn.__name__
        assert (x.grad.numpy()[~kept] == 0).all(), fn.__name__
    probabilities = mg.softmax(x).numpy()
    np.testing.assert_allclose(probabilities, [[1 / (1 + E), 0, E / (1 + E)], [0, 1, 0]],
                               rtol=1e-14)
    np.testing.assert_allclose(mg.logsumexp(x, axis=1).numpy(), [math.log(1 + E), 2.0],
                               rtol=1e-14)


@pytest.mark.parametrize("axis", [0, 1, -1, 2])
def test_softmax_is_positive_and_sums_to_one_along_its_axis(axis, device):
    x = mg.randn(3, 4, 5, dtype="float64", device=device) * 5
    y = mg.softmax(x, axis=axis).numpy()
    assert (y > 0).all()
    np.testing.assert_allclose(y.sum(axis=axis), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.exp(mg.log_softmax(x, axis=axis).numpy()), y, rtol=1e-12)


def test_softmax_does_not_change_when_a_constant_is_added(device):
    x = mg.randn(4, 6, dtype="float64", device=device)
    np.testing.assert_allclose(mg.softmax(x + 1000.0).numpy(), mg.softmax(x).numpy(),
                               rtol=1e-10)


def test_logsumexp_is_log_of_sum_of_exp_for_moderate_values(device):
    values = np.random.default_rng(3).standard_normal((3, 4))
    x = mg.tensor(values, dtype="float64", device=device)
    np.testing.assert_allclose(mg.logsumexp(x, axis=(0, 1)).item(),
                               np.log(np.exp(values).sum()), rtol=1e-13)
    np.testing.assert_allclose(mg.logsumexp(x, axis=0).numpy(),
                               np.log(np.exp(values).sum(axis=0)), rtol=1e-13)


def test_dim_is_an_alias_of_axis(device):
    x = mg.randn(3, 4, device=device)
    np.testing.assert_array_equal(mg.softmax(x, dim=0).numpy(), mg.softmax(x, axis=0).numpy())
    np.testing.assert_array_equal(x.log_softmax(dim=0).numpy(), mg.log_softmax(x, 0).numpy())
    np.testing.assert_array_equal(x.logsumexp(dim=1).numpy(), mg.logsumexp(x, 1).numpy())
