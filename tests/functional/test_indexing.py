"""Indexing (getitem) with NumPy semantics, and its gradient: each input element gets the sum of
the upstream gradient over every output element that was read from it, so repeated integer
indices add up (a scatter-add), and unselected elements get 0."""

import numpy as np
import pytest

import minigrad as mg

from ._specs import INDEX_KEYS

SHAPE = (4, 5)

KEYS = dict(INDEX_KEYS, **{
    "list_repeats": [3, 3, 1, 3],
    "nested_list": [[0, 0], [3, 0]],
    "negative_step": (slice(None, None, -1), slice(4, 0, -2)),
    "ellipsis_array": (Ellipsis, np.array([1, 1, 1])),
    "newaxis_and_array": (None, np.array([2, 2]), slice(1, 3)),
    "broadcast_arrays": (np.array([[0], [2]]), np.array([1, 1, 3])),
    "int_scalar_and_slice": (-1, slice(1, None)),
    "mask_list": [True, False, False, True],
    "empty_array": np.array([], dtype=np.int64),
})


def _gradient_reference(key, g):
    """Label every input element, index the labels with the same key to learn which element
    each output position read, and add the upstream gradient per label."""
    labels = np.arange(np.prod(SHAPE)).reshape(SHAPE)[key]
    return np.bincount(np.ravel(labels), weights=np.ravel(g),
                       minlength=int(np.prod(SHAPE))).reshape(SHAPE)


@pytest.mark.parametrize("key", KEYS.values(), ids=KEYS.keys())
def test_getitem_value_and_gradient(key, device):
    rng = np.random.default_rng(0)
    values = rng.standard_normal(SHAPE)
    x = mg.tensor(values, dtype="float64", device=device, requires_grad=True)
    out = x[key]
    np.testing.assert_array_equal(out.numpy(), values[key])
    g = rng.standard_normal(out.shape)
    out.backward(g)
    np.testing.assert_allclose(x.grad.numpy(), _gradient_reference(key, g), rtol=1e-14)


def test_repeated_indices_add_their_gradients(device):
    x = mg.tensor([10.0, 20.0, 30.0], device=device, requires_grad=True)
    x[[0, 2, 0, 0, -3]].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 0.0, 1.0])


def test_index_tensors_work_like_arrays(device):
    x = mg.tensor(np.arange(20.0).reshape(SHAPE), device=device, requires_grad=True)
    rows = mg.tensor([1, 1, 3], device=device)
    np.testing.assert_array_equal(x[rows].numpy(), np.arange(20.0).reshape(SHAPE)[[1, 1, 3]])
    x[rows, mg.tensor(2, device=device)].sum().backward()
    expected = np.zeros(SHAPE)
    expected[1, 2], expected[3, 2] = 2.0, 1.0
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_mask_from_a_comparison(device):
    values = np.array([[1.0, -2.0, 3.0], [-4.0, 5.0, -6.0]])
    x = mg.tensor(values, device=device, requires_grad=True)
    positive = x[x > 0]
    np.testing.assert_array_equal(positive.numpy(), [1.0, 3.0, 5.0])
    positive.backward(mg.tensor([1.0, 2.0, 3.0], device=device))
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]])


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_many_repeated_rows_scatter_add(dtype, device):
    """An embedding-style lookup: 300 row indices (some negative) into 10 rows, enough to take
    the backends' compiled scatter-add path, checked against a plain Python loop."""
    rng = np.random.default_rng(1)
    rows = rng.integers(-10, 10, 300)
    table = mg.tensor(rng.standard_normal((10, 3)), dtype=dtype, device=device,
                      requires_grad=True)
    picked = table[rows]
    g = rng.standard_normal(picked.shape).astype(dtype)
    picked.backward(mg.tensor(g, dtype=dtype, device=device))

    expected = np.zeros((10, 3))
    for i, row in enumerate(rows):
        expected[row] += g[i].astype(np.float64)
    assert table.grad.dtype == dtype
    tolerance = {"float16": 2e-2, "float32": 1e-5, "float64": 1e-12}[dtype]
    np.testing.assert_allclose(table.grad.numpy(), expected, rtol=tolerance, atol=tolerance)


def test_iterating_a_tensor_indexes_its_rows(device):
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], device=device, requires_grad=True)
    total = None
    for i, row in enumerate(x):
        total = row * i if total is None else total + row * i
    total.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
