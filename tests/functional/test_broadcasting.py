"""Binary ops broadcast as NumPy does, over random compatible shapes: the value is NumPy's, and
each input's gradient has that input's shape and sums the upstream gradient over every output
element the input element was broadcast to."""

import numpy as np
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import minigrad as mg

from ._specs import hypothesis_settings, unbroadcast_reference

# op -> (minigrad fn, NumPy value, NumPy d(out)/da, d(out)/db), all elementwise on broadcast
# arrays; the inputs are drawn so that no op sits on a kink (b != 0, a > 0 for pow, a != b).
BINARY = {
    "add": (mg.add, np.add, lambda a, b: np.ones_like(a), lambda a, b: np.ones_like(b)),
    "sub": (mg.sub, np.subtract, lambda a, b: np.ones_like(a), lambda a, b: -np.ones_like(b)),
    "mul": (mg.mul, np.multiply, lambda a, b: b, lambda a, b: a),
    "div": (mg.div, np.divide, lambda a, b: 1 / b, lambda a, b: -a / b ** 2),
    "pow": (mg.pow, np.power, lambda a, b: b * a ** (b - 1), lambda a, b: a ** b * np.log(a)),
    "maximum": (mg.maximum, np.maximum, lambda a, b: (a > b) * 1.0, lambda a, b: (b > a) * 1.0),
    "minimum": (mg.minimum, np.minimum, lambda a, b: (a < b) * 1.0, lambda a, b: (b < a) * 1.0),
}

SETTINGS = hypothesis_settings(max_examples=50)
shapes = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3)


def _inputs(seed, a_shape, b_shape):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 2.0, a_shape)  # positive: a valid base for pow
    b = rng.choice([-1.0, 1.0], b_shape) * rng.uniform(0.5, 2.0, b_shape)  # away from 0
    return a, b


@SETTINGS
@given(op=st.sampled_from(sorted(BINARY)), shapes=shapes, seed=st.integers(0, 2 ** 16))
def test_binary_ops_broadcast_value_and_gradients(op, shapes, seed, device):
    fn, value, d_da, d_db = BINARY[op]
    (a_shape, b_shape), out_shape = shapes
    a_np, b_np = _inputs(seed, a_shape, b_shape)
    a = mg.tensor(a_np, device=device, requires_grad=True)
    b = mg.tensor(b_np, device=device, requires_grad=True)
    out = fn(a, b)
    assert out.shape == out_shape
    np.testing.assert_allclose(out.numpy(), value(a_np, b_np), rtol=1e-12)

    g = np.random.default_rng(seed + 1).standard_normal(out_shape)
    out.backward(g)
    a_full, b_full = np.broadcast_arrays(a_np, b_np)
    assert a.grad.shape == a_shape and b.grad.shape == b_shape
    np.testing.assert_allclose(a.grad.numpy(), unbroadcast_reference(g * d_da(a_full, b_full),
                                                                     a_shape), rtol=1e-10)
    np.testing.assert_allclose(b.grad.numpy(), unbroadcast_reference(g * d_db(a_full, b_full),
                                                                     b_shape), rtol=1e-10)


@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=4, max_side=3),
       seed=st.integers(0, 2 ** 16))
def test_where_broadcasts_condition_and_both_branches(shapes, seed, device):
    (c_shape, a_shape, b_shape), out_shape = shapes
    rng = np.random.default_rng(seed)
    condition = rng.random(c_shape) < 0.5
    a_np, b_np = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    a = mg.tensor(a_np, device=device, requires_grad=True)
    b = mg.tensor(b_np, device=device, requires_grad=True)
    out = mg.where(condition, a, b)
    np.testing.assert_array_equal(out.numpy(), np.where(condition, a_np, b_np))

    g = rng.standard_normal(out_shape)
    out.backward(g)
    chosen = np.broadcast_to(condition, out_shape)
    np.testing.assert_allclose(a.grad.numpy(), unbroadcast_reference(g * chosen, a_shape))
    np.testing.assert_allclose(b.grad.numpy(), unbroadcast_reference(g * ~chosen, b_shape))


@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=1, min_dims=0, max_dims=3, max_side=3),
       lead=st.lists(st.integers(1, 3), max_size=2), seed=st.integers(0, 2 ** 16))
def test_broadcast_to_sums_the_gradient_over_the_copies(shapes, lead, seed, device):
    (shape,), _ = shapes
    target = tuple(lead) + tuple(s if s != 1 else 3 for s in shape)
    rng = np.random.default_rng(seed)
    x_np = rng.standard_normal(shape)
    x = mg.tensor(x_np, device=device, requires_grad=True)
    out = mg.broadcast_to(x, target)
    np.testing.assert_array_equal(out.numpy(), np.broadcast_to(x_np, target))
    g = rng.standard_normal(target)
    out.backward(g)
    np.testing.assert_allclose(x.grad.numpy(), unbroadcast_reference(g, shape))


def test_one_input_used_twice_gets_both_gradients(device):
    x = mg.tensor([[1.0, 2.0, 3.0]], dtype="float64", device=device, requires_grad=True)
    (x * x.T).sum().backward()  # (1, 3) * (3, 1): x_i x_j summed over i, j = (sum x)^2
    np.testing.assert_allclose(x.grad.numpy(), [[12.0, 12.0, 12.0]])


def test_unbroadcast_reference_is_right():
    """The tests' own reference, on a case worked out by hand."""
    full = np.arange(12.0).reshape(2, 2, 3)
    np.testing.assert_array_equal(unbroadcast_reference(full, (2, 1)),
                                  [[0 + 1 + 2 + 6 + 7 + 8], [3 + 4 + 5 + 9 + 10 + 11]])
    np.testing.assert_array_equal(unbroadcast_reference(full, ()), 66.0)


def test_where_with_two_numbers_takes_the_default_float(device):
    x = mg.tensor([-1.0, 2.0, 0.5], device=device)
    chosen = mg.where(x > 0, 1.0, 0.0)
    assert chosen.dtype == mg.float32 and chosen.device == device
    np.testing.assert_array_equal(chosen.numpy(), [0.0, 1.0, 1.0])
