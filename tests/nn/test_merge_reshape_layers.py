"""Merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate) and the
reshaping layers (Reshape, Permute): values, float64 gradient checks, Keras 3 on the same
inputs, masks and errors."""

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn

MERGES = {
    "Add": (nn.Add, lambda xs: sum(xs)),
    "Subtract": (nn.Subtract, lambda xs: xs[0] - xs[1]),
    "Multiply": (nn.Multiply, lambda xs: np.prod(xs, axis=0)),
    "Average": (nn.Average, lambda xs: np.mean(xs, axis=0)),
    "Maximum": (nn.Maximum, lambda xs: np.max(xs, axis=0)),
    "Minimum": (nn.Minimum, lambda xs: np.min(xs, axis=0)),
}


def arrays(count, shape, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for _ in range(count)]


@pytest.mark.parametrize("name", sorted(MERGES))
@given(count=st.integers(2, 4), shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       seed=st.integers(0, 1000))
@settings(max_examples=15, deadline=None)
def test_merge_layers_compute_their_formula(name, count, shape, seed):
    cls, formula = MERGES[name]
    count = 2 if name == "Subtract" else count
    xs = arrays(count, (2, *shape), seed, np.float32)
    out = cls()([mg.tensor(x) for x in xs])
    assert out.dtype == mg.float32
    np.testing.assert_allclose(out.numpy(), formula(np.stack(xs)), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(MERGES))
def test_merge_layer_gradients_check_numerically(name):
    cls, _ = MERGES[name]
    count = 2 if name == "Subtract" else 3
    xs = [mg.tensor(x, requires_grad=True) for x in arrays(count, (3, 4))]
    layer = cls()
    assert mg.testing.gradcheck(lambda *ts: layer(list(ts)), *xs)


@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_concatenate_joins_along_the_axis_and_checks_gradients(axis):
    rng = np.random.default_rng(0)
    shapes = {-1: [(2, 3, 4), (2, 3, 1)], 1: [(2, 1, 4), (2, 5, 4)], 2: [(2, 3, 2), (2, 3, 3)]}
    xs = [mg.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes[axis]]
    layer = nn.Concatenate(axis=axis)
    np.testing.assert_array_equal(layer(xs).numpy(),
                                  np.concatenate([x.numpy() for x in xs], axis=axis))
    assert mg.testing.gradcheck(lambda *ts: layer(list(ts)), *xs)


def test_merge_layers_say_what_is_wrong():
    with pytest.raises(ValueError, match=r"add\w* \(Add\) needs inputs of one shape, got "
                                         r"\(2, 3\), \(2, 4\)"):
        nn.Add()([mg.ones(2, 3), mg.ones(2, 4)])
    with pytest.raises(ValueError, match=r"needs at least 2 inputs, got 1"):
        nn.Multiply()([mg.ones(2, 3)])
    with pytest.raises(ValueError, match=r"Subtract\) needs exactly 2 inputs, got 3"):
        nn.Subtract()([mg.ones(2, 3)] * 3)
    with pytest.raises(TypeError, match=r"expects a list of tensors, got Tensor"):
        nn.Add()(mg.ones(2, 3))
    with pytest.raises(ValueError, match=r"shapes agree except on axis -1"):
        nn.Concatenate()([mg.ones(2, 3), mg.ones(3, 3)])
    with pytest.raises(ValueError, match=r"not the batch axis"):
        nn.Concatenate(axis=0)([mg.ones(2, 3), mg.ones(3, 3)])


def test_merge_mask_is_the_and_of_the_input_masks():
    a = mg.tensor(np.array([[True, True, False]]))
    b = mg.tensor(np.array([[False, True, True]]))
    layer = nn.Add()
    assert layer.compute_mask([mg.ones(1, 3, 2)] * 2, [a, b]).tolist() == [[False, True, False]]
    assert layer.compute_mask([mg.ones(1, 3, 2)] * 2, [a, None]).tolist() == [[True, True, False]]
    assert layer.compute_mask([mg.ones(1, 3, 2)] * 2, [None, None]) is None


def test_reshape_and_permute():
    x = mg.tensor(np.arange(24.0).reshape(2, 12), requires_grad=True)
    np.testing.assert_array_equal(nn.Reshape((3, -1))(x).numpy(),
                                  np.arange(24.0).reshape(2, 3, 4))
    assert mg.testing.gradcheck(lambda t: nn.Reshape((2, 2, 3))(t), x)
    y = mg.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    np.testing.assert_array_equal(nn.Permute((2, 1))(y).numpy(),
                                  np.arange(24.0).reshape(2, 3, 4).transpose(0, 2, 1))
    assert mg.testing.gradcheck(lambda t: nn.Permute((2, 1))(t), y)
    assert nn.Reshape((4, 3)).get_config()["target_shape"] == [4, 3]


def test_reshape_and_permute_say_what_is_wrong():
    with pytest.raises(ValueError, match=r"cannot reshape samples of shape \(12,\) \(12 values\) "
                                         r"to \(5, -1\)"):
        nn.Reshape((5, -1))(mg.ones(2, 12))
    with pytest.raises(ValueError, match="at most one -1"):
        nn.Reshape((-1, -1))
    with pytest.raises(ValueError, match=r"permutation of 1..2, got \(0, 1\)"):
        nn.Permute((0, 1))
    with pytest.raises(ValueError, match=r"expected inputs with 2 axes after the batch axis"):
        nn.Permute((2, 1))(mg.ones(2, 3))


def test_against_keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras", reason="Keras 3 not installed (pip install keras; it "
                                                "runs on the torch backend)")
    xs = arrays(3, (2, 3, 4), 1, np.float32)
    pairs = [(nn.Add(), keras.layers.Add()), (nn.Multiply(), keras.layers.Multiply()),
             (nn.Average(), keras.layers.Average()), (nn.Maximum(), keras.layers.Maximum()),
             (nn.Minimum(), keras.layers.Minimum()),
             (nn.Concatenate(axis=1), keras.layers.Concatenate(axis=1))]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours([mg.tensor(x) for x in xs]).numpy(),
                                   keras.ops.convert_to_numpy(theirs(xs)), rtol=1e-6)
    np.testing.assert_allclose(nn.Subtract()([mg.tensor(x) for x in xs[:2]]).numpy(),
                               keras.ops.convert_to_numpy(keras.layers.Subtract()(xs[:2])))
    np.testing.assert_array_equal(nn.Reshape((-1, 2))(mg.tensor(xs[0])).numpy(),
                                  keras.ops.convert_to_numpy(keras.layers.Reshape((-1, 2))(xs[0])))
    np.testing.assert_array_equal(nn.Permute((2, 1))(mg.tensor(xs[0])).numpy(),
                                  keras.ops.convert_to_numpy(keras.layers.Permute((2, 1))(xs[0])))
