"""Packed arrays (a bitmask of the nonzero entries plus their values): any numeric array comes
back exactly, the parts are checked against each other, and the file format around them is
the ordinary one."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigrad.io import ModelFileError, read_tensor_file, write_tensor_file
from minigrad.io.packed_arrays import pack_arrays, unpack_arrays

DTYPES = ["float32", "float64", "float16", "int8", "int64", "uint8", "bool"]


def sparse_arrays(dtype):
    values = hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0,
                                                max_side=7),
                        elements=hnp.from_dtype(np.dtype(dtype), allow_nan=False)
                        if dtype != "bool" else st.booleans())
    return st.tuples(values, st.floats(0, 1)).map(_zero_out)


def _zero_out(pair):
    array, fraction = pair
    array = array.copy()
    array.ravel()[np.random.default_rng(0).random(array.size) < fraction] = 0
    return array


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(DTYPES).flatmap(sparse_arrays))
def test_any_array_comes_back_exactly(array):
    packed, entry = pack_arrays({"a": array, "other": np.arange(3)}, ["a"])
    assert "a" not in packed and packed["packed/a/bits"].dtype == np.uint8
    back = unpack_arrays(packed, {"packed": entry}, "f")
    assert back["a"].dtype == array.dtype and back["a"].shape == array.shape
    np.testing.assert_array_equal(back["a"], array)
    np.testing.assert_array_equal(back["other"], np.arange(3))


def test_the_packed_size_is_a_bit_per_entry_plus_the_kept_values(tmp_path):
    weight = np.random.default_rng(0).standard_normal((200, 100)).astype(np.float32)
    weight[np.abs(weight) < np.quantile(np.abs(weight), 0.8)] = 0
    packed, entry = pack_arrays({"w": weight}, ["w"])
    assert packed["packed/w/bits"].nbytes == 20000 // 8
    assert packed["packed/w/values"].nbytes == 4000 * 4
    write_tensor_file(tmp_path / "p.safetensors", packed, {"packed": entry})
    arrays, metadata = read_tensor_file(tmp_path / "p.safetensors")
    np.testing.assert_array_equal(unpack_arrays(arrays, metadata, "p")["w"], weight)


def test_a_file_without_packed_arrays_is_returned_as_it_is():
    arrays = {"w": np.ones(3)}
    assert unpack_arrays(arrays, {}, "f") is arrays


def _broken(change):
    packed, entry = pack_arrays({"w": np.array([[0.0, 1.0], [2.0, 0.0], [3.0, 0.0]],
                                               dtype=np.float32)}, ["w"])
    entry = json.loads(entry)
    change(packed, entry)
    return packed, {"packed": json.dumps(entry)}


@pytest.mark.parametrize("change, message", [
    (lambda p, e: p.__setitem__("packed/w/values", p["packed/w/values"][:2]),
     "needs 3 values of dtype float32"),
    (lambda p, e: p.__setitem__("packed/w/values", p["packed/w/values"].astype(np.float64)),
     "needs 3 values of dtype float32"),
    (lambda p, e: p.pop("packed/w/bits"), "needs a uint8 bitmask of 1 bytes"),
    (lambda p, e: e["w"].update(shape=[3, 4]), "needs a uint8 bitmask of 2 bytes"),
    (lambda p, e: e["w"].update(shape=[2, -3]), "must give a shape"),
    (lambda p, e: e["w"].update(dtype="<U4"), "is not numeric"),
    (lambda p, e: e["w"].update(dtype="nonsense"), "unknown dtype"),
    (lambda p, e: e["w"].pop("dtype"), "unknown dtype None"),
    (lambda p, e: p.__setitem__("packed/w/bits", p["packed/w/bits"] | 1),
     "bits set past its 6 entries"),
    (lambda p, e: p.__setitem__("w", np.zeros(6)), "stored both packed and in full"),
    (lambda p, e: p.__setitem__("packed/v/bits", np.zeros(1, np.uint8)),
     "packed parts of no listed array: packed/v/bits"),
])
def test_inconsistent_parts_are_an_error_naming_the_file_and_the_array(change, message):
    arrays, metadata = _broken(change)
    with pytest.raises(ModelFileError, match=message) as error:
        unpack_arrays(arrays, metadata, "model.safetensors")
    assert str(error.value).startswith("model.safetensors: ")


def test_a_list_that_is_not_json_is_an_error():
    with pytest.raises(ModelFileError, match="not JSON"):
        unpack_arrays({}, {"packed": "{"}, "m")
