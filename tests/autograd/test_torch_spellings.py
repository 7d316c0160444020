"""PyTorch spellings on Tensor that cost nothing beside the NumPy/Keras ones: ``t.size`` is
NumPy's int and ``t.size()`` / ``t.size(dim)`` PyTorch's answers; ``f"{t:.3f}"`` on a
single-element tensor. (``keepdim=`` is tested with the reductions, ``clone`` and ``cat`` with
the ops.)"""

import copy
import json
import pickle

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import array_shapes

import minigrad as mg

from ..functional._specs import NO_TORCH, hypothesis_settings

torch = pytest.importorskip("torch", reason=NO_TORCH)


# --- size: NumPy's int, PyTorch's method -------------------------------------------------------

def test_size_is_the_number_of_elements_as_an_int():
    t = mg.zeros(2, 3, 4)
    assert t.size == 24 and isinstance(t.size, int)
    assert t.size * 2 == 48 and t.size // 4 == 6 and type(t.size + 0) is int
    assert repr(t.size) == "24" and str(t.size) == "24" and f"{t.size:5d}" == "   24"
    assert sum(p.size for p in (t, mg.ones(3))) == 27
    assert hash(t.size) == hash(24) and {t.size: "x"}[24] == "x"
    assert np.zeros(t.size).shape == (24,) and list(range(t.size))[-1] == 23
    assert json.dumps({"n": t.size}) == '{"n": 24}'
    for clone in (pickle.loads(pickle.dumps(t.size)), copy.copy(t.size), copy.deepcopy(t.size)):
        assert clone == 24 and type(clone) is int
    assert mg.zeros(0, 3).size == 0 and mg.tensor(1.0).size == 1


def test_size_called_is_the_shape_and_one_dimension_as_torch():
    t = mg.zeros(2, 3, 4)
    x = torch.zeros(2, 3, 4)
    assert t.size() == tuple(x.size()) == (2, 3, 4)
    for dim in range(-3, 3):
        assert t.size(dim) == x.size(dim) == t.shape[dim]
        assert t.size(dim=dim) == x.size(dim=dim)
    assert t.size(np.int64(1)) == 3
    assert mg.tensor(5.0).size() == ()


@given(shape=array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4), data=st.data())
@hypothesis_settings()
def test_size_agrees_with_numpy_and_torch_for_any_shape(shape, data):
    t = mg.zeros(shape)
    assert t.size == np.zeros(shape).size == torch.zeros(shape).numel()
    assert t.size() == tuple(torch.zeros(shape).size())
    if shape:
        dim = data.draw(st.integers(-len(shape), len(shape) - 1))
        assert t.size(dim) == torch.zeros(shape).size(dim)


def test_size_of_a_dimension_out_of_range_is_an_index_error_as_torch():
    t = mg.zeros(2, 3)
    for dim in (2, -3):
        with pytest.raises(IndexError):
            torch.zeros(2, 3).size(dim)
        with pytest.raises(IndexError, match=rf"size\({dim}\): dimension out of range for a "
                                             r"tensor of shape \(2, 3\) \(expected -2 to 1\)"):
            t.size(dim)
    with pytest.raises(IndexError, match=r"size\(0\): a 0-d tensor has no dimensions; size\(\) "
                                         r"is \(\)"):
        mg.tensor(1.0).size(0)
    with pytest.raises(TypeError):
        t.size(1.5)


def test_size_follows_the_tensor_it_was_read_from():
    t = mg.zeros(2, 3)
    size = t.size
    t = t.reshape(3, 2)
    assert size() == (2, 3) and t.size() == (3, 2)


# --- format: a single-element tensor formats as its Python number --------------------------

@pytest.mark.parametrize("spec", [".3f", ".2e", "+.1f", ">10.4g", "%", "g"])
def test_format_of_a_zero_dimensional_tensor_matches_torch(spec):
    value = 3.14159
    assert format(mg.tensor(value, dtype="float64"), spec) == \
        format(torch.tensor(value, dtype=torch.float64), spec)
    assert f"{mg.tensor(value, dtype='float64'):{spec}}" == format(value, spec)


def test_an_empty_spec_is_str_also_for_a_single_element():
    # Python's rule format(x, "") == str(x), so f"{t}" shows a tensor; torch gives "3.5" here.
    assert f"{mg.tensor(3.5)}" == str(mg.tensor(3.5)) == "tensor(3.5)"
    assert f"{torch.tensor(3.5)}" == "3.5"


def test_format_of_integer_and_bool_tensors():
    assert f"{mg.tensor(42):05d}" == f"{torch.tensor(42):05d}" == "00042"
    assert f"{mg.tensor(7, dtype='uint8'):x}" == "7"
    assert f"{mg.tensor(True):d}" == "1"
    with pytest.raises(ValueError, match="Unknown format code 'd'"):
        f"{mg.tensor(2.5):d}"  # the Python float's own error, as in torch


def test_format_of_any_single_element_tensor():
    # torch formats 0-d tensors only; minigrad any single element (item() does the same).
    assert f"{mg.tensor([[2.5]]):.2f}" == "2.50"
    loss = (mg.tensor([1.0, 2.0], requires_grad=True) ** 2).mean()
    assert f"loss {loss:.3f}" == "loss 2.500"


def test_format_of_a_larger_tensor_needs_an_empty_spec():
    t = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert f"{t}" == format(t, "") == str(t) == repr(t)
    with pytest.raises(TypeError, match=r"format spec '\.3f' needs a single-element tensor \(it "
                                        r"formats t\.item\(\)\), but this tensor has shape "
                                        r"\(2, 2\); format its elements \(t\.tolist\(\)\)"):
        f"{t:.3f}"
    with pytest.raises(TypeError, match=r"shape \(0,\)"):
        format(mg.zeros(0), ".1f")
