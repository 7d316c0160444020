"""The embedding op: a row lookup whose backward is a row scatter-add (repeated ids add up),
against NumPy, finite differences and PyTorch; dtypes and error messages."""

import numpy as np
import pytest

import minigrad as mg


@pytest.mark.parametrize("n_ids", [6, 300])  # below and above the Numba scatter threshold
def test_lookup_and_gradient_of_repeated_ids(n_ids, device):
    rng = np.random.default_rng(0)
    table = rng.standard_normal((10, 3))
    ids = rng.integers(0, 10, (2, n_ids // 2))
    ids[0, :2] = 7  # a repeat for certain
    weights = mg.tensor(table, device=device, requires_grad=True)
    out = mg.embedding(mg.tensor(ids, device=device), weights)
    np.testing.assert_array_equal(out.numpy(), table[ids])
    upstream = rng.standard_normal(out.shape)
    (out * mg.tensor(upstream, device=device)).sum().backward()
    expected = np.zeros_like(table)
    np.add.at(expected, ids.reshape(-1), upstream.reshape(-1, 3))
    np.testing.assert_allclose(weights.grad.numpy(), expected, rtol=1e-12)


def test_gradient_matches_finite_differences(device):
    weights = mg.randn(5, 4, dtype="float64", device=device, requires_grad=True)
    ids = mg.tensor([[0, 3, 3], [4, 0, 1]], device=device)
    assert mg.testing.gradcheck(lambda w: mg.embedding(ids, w), weights)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matches_torch_embedding(dtype):
    torch = pytest.importorskip("torch", reason="PyTorch not installed")
    rng = np.random.default_rng(1)
    table, ids = rng.standard_normal((50, 6)), rng.integers(0, 50, (8, 20))
    upstream = rng.standard_normal((8, 20, 6))
    weights = mg.tensor(table, dtype=dtype, requires_grad=True)
    out = mg.embedding(ids, weights)
    (out * mg.tensor(upstream, dtype=dtype)).sum().backward()
    weights_t = torch.tensor(table, dtype=getattr(torch, dtype), requires_grad=True)
    out_t = torch.nn.functional.embedding(torch.from_numpy(ids), weights_t)
    (out_t * torch.tensor(upstream, dtype=out_t.dtype)).sum().backward()
    np.testing.assert_array_equal(out.numpy(), out_t.detach().numpy())
    np.testing.assert_allclose(weights.grad.numpy(), weights_t.grad.numpy(), rtol=1e-5)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("id_dtype", ["int32", "int64", "uint8"])
def test_output_and_gradient_keep_the_table_dtype(dtype, id_dtype, device):
    weights = mg.randn(7, 2, dtype=dtype, device=device, requires_grad=True)
    out = mg.embedding(mg.tensor(np.array([[1, 6, 1]], dtype=id_dtype), device=device), weights)
    out.sum().backward()
    assert out.dtype.name == dtype and weights.grad.dtype.name == dtype
    np.testing.assert_array_equal(weights.grad.numpy()[:, 0], [0, 2, 0, 0, 0, 0, 1])


def test_ids_may_be_lists_or_arrays():
    weights = mg.randn(4, 2)
    np.testing.assert_array_equal(mg.embedding([3, 0], weights).numpy(),
                                  weights.numpy()[[3, 0]])
    assert mg.embedding(np.zeros((2, 0), dtype=np.int64), weights).shape == (2, 0, 2)


def test_float_ids_are_refused():
    with pytest.raises(TypeError, match=r"integer token ids, got dtype float32.*astype\('int64'\)"):
        mg.embedding(mg.tensor([[1.0, 2.0]]), mg.randn(4, 2))


@pytest.mark.parametrize("ids, found", [([[1, 10]], "from 1 to 10"), ([[-1, 3]], "from -1 to 3")])
def test_ids_out_of_range_name_the_range(ids, found):
    with pytest.raises(IndexError, match=rf"token ids must be in \[0, 10\) for a table of 10 "
                                         rf"rows, got ids {found}"):
        mg.embedding(mg.tensor(ids), mg.randn(10, 2))


def test_table_must_be_two_dimensional():
    with pytest.raises(ValueError, match=r"weights must be a \(V, D\) tensor, got \(10,\)"):
        mg.embedding([1], mg.randn(10))
