"""The Tensor: construction, dtypes, conversion, repr, devices."""

import numpy as np
import pytest

import minigrad as mg


def test_python_floats_become_float32_and_ints_int64():
    assert mg.tensor([1.0, 2.0]).dtype == mg.float32
    assert mg.tensor([1, 2]).dtype == mg.int64
    assert mg.tensor(True).dtype == mg.bool_
    assert mg.tensor(3.5).shape == ()


def test_numpy_arrays_keep_their_dtype_unless_one_is_given():
    assert mg.tensor(np.zeros(2, dtype=np.float64)).dtype == mg.float64
    assert mg.tensor(np.zeros(2, dtype=np.float64), dtype="float16").dtype == mg.float16
    assert mg.tensor([1, 2], dtype=np.float32).dtype == np.float32


def test_dtype_spellings_are_equal():
    t = mg.zeros(2, dtype="float64")
    assert t.dtype == mg.float64
    assert t.dtype == np.float64
    assert t.dtype == "float64"


def test_tensor_copies_its_data():
    array = np.zeros(3, dtype=np.float32)
    t = mg.tensor(array)
    array[0] = 5
    assert t.numpy()[0] == 0
    u = mg.tensor(t)
    u.data[1] = 7
    assert t.numpy()[1] == 0


def test_from_numpy_shares_memory():
    array = np.zeros(3, dtype=np.float32)
    t = mg.from_numpy(array)
    array[0] = 5
    assert t.numpy()[0] == 5


def test_non_numeric_data_is_rejected_with_its_dtype():
    with pytest.raises(TypeError, match="numeric data.*strings"):
        mg.tensor(["a", "b"])
    with pytest.raises(TypeError, match="numeric data.*Python objects"):
        mg.tensor([object()])
    with pytest.raises(TypeError, match="complex"):
        mg.tensor(np.ones(2, dtype=np.complex64))


def test_ragged_lists_are_rejected():
    with pytest.raises(ValueError, match="rectangular"):
        mg.tensor([[1.0, 2.0], [3.0]])


def test_unknown_dtype_is_rejected():
    with pytest.raises(TypeError, match="not a dtype"):
        mg.zeros(2, dtype="floot32")
    with pytest.raises(TypeError, match="'complex128' is not supported"):
        mg.zeros(2, dtype="complex128")


def test_only_float_tensors_can_require_grad():
    with pytest.raises(TypeError, match="floating-point.*int64"):
        mg.tensor([1, 2], requires_grad=True)
    t = mg.tensor([1, 2])
    with pytest.raises(TypeError, match="floating-point"):
        t.requires_grad = True


def test_properties():
    t = mg.zeros(2, 3, requires_grad=True)
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and t.numel() == 6
    assert t.device == "cpu" and t.is_leaf and t.grad_fn is None and t.requires_grad
    assert len(t) == 2


def test_item_tolist_and_array_protocol():
    t = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert t[1, 0].item() == 3.0
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    np.testing.assert_array_equal(np.asarray(t), [[1, 2], [3, 4]])
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert float(t[0, 1]) == 2.0
    with pytest.raises(ValueError, match=r"single-element.*\(2, 2\)"):
        t.item()


def test_repr_shows_values_dtype_and_graph():
    assert repr(mg.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(mg.tensor([1.0], dtype="float64")) == "tensor([1.], dtype=float64)"
    x = mg.tensor([1.0], requires_grad=True)
    assert repr(x) == "tensor([1.], requires_grad=True)"
    assert repr(x * 2) == "tensor([2.], grad_fn=<Mul>)"


def test_detach_shares_data_but_leaves_the_graph():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).detach()
    assert not y.requires_grad and y.grad_fn is None
    (y * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_numpy_scalars_on_the_left_give_tensors():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = np.float32(2.0) * x
    assert isinstance(y, mg.Tensor) and y.requires_grad


def test_to_dtype_is_differentiable():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x.to("float64")
    assert y.dtype == mg.float64
    (y * y).sum().backward()
    assert x.grad.dtype == mg.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_to_same_device_returns_the_tensor():
    x = mg.ones(2)
    assert x.to("cpu") is x and x.cpu() is x


def test_to_cuda_round_trip(device):
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(device)
    assert y.device == device
    (y * y).sum().backward()
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_casting_to_int_leaves_the_graph():
    x = mg.tensor([1.7, 2.2], requires_grad=True)
    y = x.long()
    assert y.dtype == mg.int64 and not y.requires_grad
    assert y.tolist() == [1, 2]


def test_bool_of_a_multi_element_tensor_is_ambiguous():
    with pytest.raises(ValueError, match="ambiguous"):
        bool(mg.ones(2))
    assert bool(mg.ones(1))


def test_tensors_are_hashable_by_identity():
    a, b = mg.ones(2), mg.ones(2)
    assert len({a, b}) == 2


def test_iteration_yields_rows():
    rows = list(mg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert [r.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0]]
