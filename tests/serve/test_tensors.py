"""Request tensors to arrays and arrays to response tensors (minigrad.serve.tensors)."""

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .conftest import requires_serve_extra

requires_serve_extra()

from minigrad.serve.errors import ServeError  # noqa: E402
from minigrad.serve.tensors import (DATATYPES, TensorSpec, datatype_of, decode_input,  # noqa: E402
                                    encode_output)

NUMERIC = [name for name in DATATYPES if name != "BOOL"]


def spec_for(array, datatype=None, **extra):
    return {"name": "input", "shape": list(array.shape),
            "datatype": datatype or datatype_of(array.dtype), **extra}


def refused(spec, expected, binary=None):
    with pytest.raises(ServeError) as error:
        decode_input(spec, expected, binary)
    assert error.value.status == 400
    return error.value.message


@pytest.mark.parametrize("name", list(DATATYPES))
def test_datatype_names_round_trip(name):
    assert datatype_of(DATATYPES[name]) == name


def test_big_endian_dtypes_have_the_same_name():
    assert datatype_of(np.dtype(">f4")) == "FP32"


def test_unknown_dtype_is_refused():
    with pytest.raises(TypeError, match="complex64"):
        datatype_of(np.complex64)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(NUMERIC + ["BOOL"]).flatmap(lambda name: hnp.arrays(
    DATATYPES[name], hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4),
    elements={"allow_nan": False, "allow_infinity": False} if name.startswith("FP") else None)),
    st.booleans(), st.booleans())
def test_json_and_binary_round_trip(array, binary, nested):
    """What encode_output writes, decode_input reads back exactly, for every datatype."""
    datatype = datatype_of(array.dtype)
    expected = TensorSpec("input", datatype, [-1, *array.shape[1:]])
    entry, raw = encode_output("input", array, binary)
    if nested and not binary:
        entry["data"] = array.tolist()  # clients may nest the values as the shape
    decoded = decode_input(entry, expected, raw)
    assert decoded.dtype == array.dtype and decoded.shape == array.shape
    np.testing.assert_array_equal(decoded, array)


def test_binary_output_is_little_endian_bytes():
    entry, raw = encode_output("output", np.array([[1.5, -2.0]], dtype=np.float32), True)
    assert entry == {"name": "output", "datatype": "FP32", "shape": [1, 2],
                     "parameters": {"binary_data_size": 8}}
    assert raw == np.array([1.5, -2.0], dtype="<f4").tobytes()


def test_json_output_with_nan_asks_for_binary():
    with pytest.raises(ServeError, match="binary_data") as error:
        encode_output("output", np.array([[np.nan]], dtype=np.float32), False)
    assert error.value.status == 500


FP32_ROWS = TensorSpec("input", "FP32", [-1, 3])


@pytest.mark.parametrize("spec, message", [
    ({"name": "input", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]},
     "expected datatype FP32, got FP64"),
    ({"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]},
     r"expected shape \[-1, 3\].*got \[1, 4\]"),
    ({"name": "input", "shape": [3], "datatype": "FP32", "data": [1, 2, 3]},
     r"expected shape \[-1, 3\]"),
    ({"name": "input", "shape": [0, 3], "datatype": "FP32", "data": []}, "batch is empty"),
    ({"name": "input", "shape": [2, 3], "datatype": "FP32", "data": [1, 2, 3]},
     "holds 6 elements, 'data' has 3"),
    ({"name": "input", "shape": [1, 3], "datatype": "FP32", "data": ["1", "2", "3"]},
     "strings"),
    ({"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [True, False, True]},
     "booleans"),
    ({"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [[1, 2], [3]]},
     r"flat list of numbers or lists nested as the shape \[1, 3\]"),
    ({"name": "input", "shape": [2, 3], "datatype": "FP32", "data": [[1, 2], [3, 4], [5, 6]]},
     r"'data' is nested as \[3, 2\] but 'shape' is \[2, 3\]"),
    ({"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [[[1, 2, 3]]]},
     r"nested as \[1, 1, 3\] but 'shape' is \[1, 3\]"),
    ({"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [1.5, True, 0]},
     "mixes booleans with numbers"),
    ({"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [[1, 0, False]]},
     "mixes booleans with numbers"),
    ({"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [1, None, 0]}, "mixed"),
    ({"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [1, {}, 0]}, "mixed"),
    ({"name": "input", "shape": [10**15, 3], "datatype": "FP32", "data": [1, 2, 3]},
     "holds 3000000000000000 elements, 'data' has 3"),
    ({"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3],
      "parameters": {"binary_data_size": True}}, "'binary_data_size' must be an integer"),
    ({"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3],
      "parameters": []}, "'parameters' must be a JSON object"),
    ({"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [1e400, 0, 0]},
     "NaN or infinity"),
    ({"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [1e39, 0, 0]},
     "NaN or infinity"),
    ({"name": "input", "shape": [1, 3], "datatype": "FP32"}, "no 'data'"),
    ({"name": "input", "shape": "1,3", "datatype": "FP32", "data": [1, 2, 3]},
     "'shape' is missing or not a list"),
    ({"name": "input", "shape": [1, -3], "datatype": "FP32", "data": [1, 2, 3]},
     "integers >= 0"),
    ({"shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}, "'name' is missing"),
    ("input", "must be a JSON object"),
])
def test_bad_json_tensors_are_refused_with_the_reason(spec, message):
    text = refused(spec, FP32_ROWS)
    assert re.search(message, text), text


INT_IDS = TensorSpec("input", "INT32", [-1, 2])


@pytest.mark.parametrize("data, message", [
    ([1.5, 2], "fractional"), ([1, 2**40], "out of the range of INT32"),
    ([1, 2**70], "out of the range of INT32"), ([-(2**31) - 1, 0], "out of the range"),
    ([1, 2.0**70], "fractional"), ([[1, 2**70]], "out of the range"),
    ([[1], [2**70]], "nested as [2, 1]"), ([1, True], "mixes booleans with numbers"),
])
def test_integer_inputs_are_checked(data, message):
    spec = {"name": "input", "shape": [1, 2], "datatype": "INT32", "data": data}
    assert message in refused(spec, INT_IDS)


@pytest.mark.parametrize("datatype", ["INT64", "UINT64"])
def test_64_bit_integers_at_the_limits_are_exact(datatype):
    info = np.iinfo(DATATYPES[datatype])
    spec = {"name": "input", "shape": [1, 3], "datatype": datatype,
            "data": [info.min, info.max, info.max - 1]}
    decoded = decode_input(spec, TensorSpec("input", datatype, [-1, 3]))
    assert decoded.tolist() == [[info.min, info.max, info.max - 1]]
    spec["data"] = [0, info.max + 1, 0]
    assert "out of the range" in refused(spec, TensorSpec("input", datatype, [-1, 3]))


def test_huge_json_integers_for_a_float_model_are_refused_not_crashing():
    spec = {"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [10**400, 0, 0]}
    assert "out of the range of FP32" in refused(spec, FP32_ROWS)


def test_integer_inputs_at_the_limits_are_taken():
    info = np.iinfo(np.int32)
    spec = {"name": "input", "shape": [1, 2], "datatype": "INT32", "data": [info.min, info.max]}
    np.testing.assert_array_equal(decode_input(spec, INT_IDS), [[info.min, info.max]])


def test_binary_size_must_match_the_shape():
    raw = np.zeros(5, dtype="<f4").tobytes()
    spec = spec_for(np.zeros((2, 3), np.float32), parameters={"binary_data_size": len(raw)})
    assert "needs 24 bytes of binary data, got 20" in refused(spec, FP32_ROWS, raw)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_binary_non_finite_values_are_refused(bad):
    x = np.array([[0.0, bad, 1.0]], dtype=np.float32)
    spec = spec_for(x, parameters={"binary_data_size": x.nbytes})
    assert "NaN or infinity" in refused(spec, FP32_ROWS, x.tobytes())


def test_free_axes_take_any_size():
    spec = TensorSpec("input", "FP32", [-1, -1, 2])
    x = np.ones((3, 5, 2), np.float32)
    entry, _ = encode_output("input", x, False)
    assert decode_input(entry, spec).shape == (3, 5, 2)
    assert math.prod(decode_input(entry, spec).shape) == 30


def test_data_nested_deeper_than_numpy_allows_is_a_400():
    data = [1.0, 2.0, 3.0]
    for _ in range(100):
        data = [data]
    spec = {"name": "input", "shape": [1, 3], "datatype": "FP32", "data": data}
    assert "flat list of numbers or lists nested as the shape" in refused(spec, FP32_ROWS)


def test_a_huge_declared_shape_with_little_binary_data_is_refused_before_any_allocation():
    raw = np.zeros(3, dtype="<f4").tobytes()
    spec = {"name": "input", "shape": [10**15, 3], "datatype": "FP32",
            "parameters": {"binary_data_size": len(raw)}}
    assert "needs 12000000000000000 bytes of binary data, got 12" in refused(spec, FP32_ROWS,
                                                                             raw)


@settings(max_examples=40, deadline=None)
@given(hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=4), st.data())
def test_data_nested_as_another_shape_of_the_same_size_is_refused(shape, data):
    """Only flat data or data nested exactly as 'shape' is taken: the same values in another
    layout are a client's mistake, never silently reshaped."""
    other = data.draw(st.permutations(shape).map(tuple) | hnp.array_shapes(
        min_dims=2, max_dims=4, min_side=1, max_side=4).filter(
        lambda s: math.prod(s) == math.prod(shape)))
    values = np.arange(math.prod(shape), dtype=np.float32)
    expected = TensorSpec("input", "FP32", [-1, *shape[1:]])
    spec = {"name": "input", "shape": list(shape), "datatype": "FP32",
            "data": values.reshape(other).tolist()}
    if other == tuple(shape):
        np.testing.assert_array_equal(decode_input(spec, expected), values.reshape(shape))
    else:
        message = refused(spec, expected)
        assert f"nested as {list(other)} but 'shape' is {list(shape)}" in message
    spec["data"] = values.tolist()  # flat is always fine
    np.testing.assert_array_equal(decode_input(spec, expected), values.reshape(shape))
