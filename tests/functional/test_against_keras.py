"""Activations by name against Keras 3 itself (``keras.activations.get(name)``, torch backend):
the same values and the same input gradients for the same inputs, in float32 and float64.

Keras's meaning of a name is what ``Dense(activation=name)`` promises, so the comparison goes
through :func:`minigrad.nn.activations.get` too: ``"gelu"`` is exact, ``"leaky_relu"`` has slope
0.2 and ``"hard_sigmoid"`` is Keras 3's ``relu6(x + 3) / 6``. The gradients come from torch's
autograd through Keras's ops. Skips without Keras (``pip install keras``)."""

import os

import numpy as np
import pytest

import minigrad as mg

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras", reason="Keras 3 not installed (pip install keras; it runs "
                                            "on the torch backend)")
torch = pytest.importorskip("torch", reason="Keras's torch backend needs PyTorch")
if keras.backend.backend() != "torch":
    pytest.skip("these comparisons take gradients with torch: run with KERAS_BACKEND=torch",
                allow_module_level=True)

TOLERANCES = {"float32": dict(rtol=2e-6, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-14)}

#: Every name Keras users pass as activation= that minigrad knows, and the inputs to try: a
#: spread of values that stays away from the kinks (0, 6, -3, 3), plus large magnitudes.
NAMES = ["relu", "sigmoid", "tanh", "softmax", "elu", "softplus", "leaky_relu", "linear",
         "log_softmax", "gelu", "silu", "swish", "selu", "relu6", "hard_sigmoid", "hard_silu",
         "hard_swish", "softsign", "mish", "exponential"]


def _inputs(name):
    rng = np.random.default_rng(0)
    x = rng.uniform(-8, 8, (4, 5)) + 0.05
    x[np.abs(x) < 0.05] = 0.3  # away from the kink at 0 (the kinks at +-3 and 6 have measure 0)
    if name in ("exponential",):
        return x / 4
    x[0, :3] = [-30.0, 25.0, -15.0]  # tails: saturation, underflow to 0, the linear regimes
    return x


def _keras(name, x, upstream, dtype):
    t = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    y = keras.activations.get(name)(t)
    y.backward(torch.tensor(upstream, dtype=t.dtype))
    return y.detach().numpy(), t.grad.numpy()


def _minigrad(name, x, upstream, dtype):
    t = mg.tensor(x, dtype=dtype, requires_grad=True)
    y = mg.nn.activations.get(name)
    y = t if y is None else y(t)
    y.backward(mg.tensor(upstream, dtype=dtype))
    return y.numpy(), t.grad.numpy()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", NAMES)
def test_activation_by_name_matches_keras(name, dtype):
    x = _inputs(name)
    upstream = np.random.default_rng(1).standard_normal(x.shape)
    y, grad = _minigrad(name, x, upstream, dtype)
    expected_y, expected_grad = _keras(name, x, upstream, dtype)
    assert y.dtype == expected_y.dtype == dtype
    np.testing.assert_allclose(y, expected_y, err_msg="value", **TOLERANCES[dtype])
    tolerance = TOLERANCES[dtype]
    if name == "hard_sigmoid" and dtype == "float64":
        # Keras calls torch's hardsigmoid, whose backward multiplies by 1.0f / 6.0f (a float32
        # sixth) also in float64; minigrad's exact 1/6 differs from it by 3e-8, relatively.
        tolerance = dict(rtol=1e-7, atol=0)
    np.testing.assert_allclose(grad, expected_grad, err_msg="gradient", **tolerance)


def test_hard_sigmoid_is_keras_3s_not_tf_keras_2s():
    """Keras 3 changed hard_sigmoid from clip(0.2 x + 0.5, 0, 1) to relu6(x + 3) / 6: at 1.5,
    0.75 (Keras 3, followed here) rather than 0.8 (tf.keras 2); at 2.6, 0.9333 rather than 1."""
    x = np.array([1.5, 2.6, -2.6])
    y = mg.nn.activations.get("hard_sigmoid")(mg.tensor(x, dtype="float64")).numpy()
    np.testing.assert_allclose(y, (x + 3) / 6, rtol=1e-15)
    np.testing.assert_allclose(y, keras.ops.convert_to_numpy(
        keras.activations.hard_sigmoid(torch.tensor(x))), rtol=1e-15)


def test_gelu_by_name_is_exact_as_in_keras_and_the_tanh_form_differs():
    """keras.activations.gelu defaults to approximate=False (while keras.ops.gelu defaults to
    True): the name means the exact one. The two differ by up to 5e-4 near x = +-2, so the test
    can tell them apart."""
    x = np.linspace(-4, 4, 81)
    exact = mg.nn.activations.get("gelu")(mg.tensor(x, dtype="float64")).numpy()
    tanh_form = mg.gelu(mg.tensor(x, dtype="float64"), approximate=True).numpy()
    keras_exact = keras.ops.convert_to_numpy(keras.activations.gelu(torch.tensor(x)))
    keras_tanh = keras.ops.convert_to_numpy(
        keras.activations.gelu(torch.tensor(x), approximate=True))
    np.testing.assert_allclose(exact, keras_exact, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(tanh_form, keras_tanh, rtol=1e-13, atol=1e-15)
    assert np.abs(exact - tanh_form).max() > 1e-4


def test_the_comparison_can_fail():
    """PyTorch's leaky_relu slope (0.01) is not Keras's (0.2): the by-name check tells them
    apart."""
    x = np.array([[-2.0, 1.0]])
    y = mg.leaky_relu(mg.tensor(x)).numpy()
    expected = keras.ops.convert_to_numpy(keras.activations.get("leaky_relu")(torch.tensor(x)))
    assert not np.allclose(y, expected)
