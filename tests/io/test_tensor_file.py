"""The file format alone (no model): named arrays and metadata round trip, and every damaged,
foreign or future file is refused with its name."""

import json
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad.io import (ModelFileError, checksum, join_arrays, read_tensor_file, split_arrays,
                         write_tensor_file)

DTYPES = st.sampled_from([np.float16, np.float32, np.float64, np.int8, np.int32, np.int64,
                          np.uint8, np.bool_])
ARRAYS = st.dictionaries(st.text("abcxyz/_0123456789", min_size=1, max_size=12),
                         DTYPES.flatmap(lambda d: hnp.arrays(d, hnp.array_shapes(min_dims=0,
                                                                                max_side=4))),
                         max_size=4)


@settings(max_examples=30, deadline=None)
@given(arrays=ARRAYS, note=st.text(max_size=20))
def test_arrays_and_metadata_round_trip(tmp_path_factory, arrays, note):
    path = tmp_path_factory.mktemp("f") / "file.safetensors"
    write_tensor_file(path, arrays, {"note": note})
    read, metadata = read_tensor_file(path)
    assert metadata["note"] == note and metadata["format"] == "minigrad"
    assert metadata["format_version"] == "2" and len(metadata["sha256"]) == 64
    assert sorted(read) == sorted(arrays)
    for name, array in arrays.items():
        assert read[name].dtype == array.dtype and read[name].shape == array.shape
        np.testing.assert_array_equal(read[name], array)


def test_checksum_sees_names_dtypes_shapes_and_values():
    base = {"a": np.arange(6, dtype=np.float32)}
    variants = [{"b": base["a"]}, {"a": base["a"].astype(np.float64)},
                {"a": base["a"].reshape(2, 3)}, {"a": base["a"] + 1}]
    assert len({checksum(v) for v in variants} | {checksum(base)}) == 5


def write(tmp_path, name="f.safetensors"):
    path = tmp_path / name
    write_tensor_file(path, {"w": np.arange(16, dtype=np.float32)}, {"content": "weights"})
    return path


def test_flipped_array_bits_fail_the_checksum(tmp_path):
    path = write(tmp_path)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="f.safetensors: corrupt"):
        read_tensor_file(path)


@pytest.mark.parametrize("cut", [0, 5, 8, 40, -4])
def test_a_cut_file_is_refused_with_its_name(tmp_path, cut):
    path = write(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:cut])
    with pytest.raises(ModelFileError, match="f.safetensors"):
        read_tensor_file(path)


def rewrite_metadata(path, **changes):
    data = path.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    header["__metadata__"].update(changes)
    new_header = json.dumps(header).encode()
    new_header += b" " * (-len(new_header) % 8)
    path.write_bytes(struct.pack("<Q", len(new_header)) + new_header + data[8 + size:])


def test_another_format_version_is_refused(tmp_path):
    path = write(tmp_path)
    rewrite_metadata(path, format_version="99")
    with pytest.raises(ModelFileError, match="format version '99' is not supported"):
        read_tensor_file(path)


def test_a_safetensors_file_from_elsewhere_is_refused(tmp_path):
    from safetensors.numpy import save_file

    path = tmp_path / "other.safetensors"
    save_file({"w": np.zeros(3, dtype=np.float32)}, str(path))
    with pytest.raises(ModelFileError, match="other.safetensors: not a minigrad model file"):
        read_tensor_file(path)


def test_a_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        read_tensor_file(tmp_path / "nope.safetensors")


def test_nested_state_splits_into_json_and_arrays_and_joins_back():
    state = {"step": np.int64(3), "lr": 0.5, "moments": [mg.ones(2, 3), np.zeros(4)],
             "groups": [{"params": [0, 1], "nesterov": True}]}
    arrays = {}
    as_json = split_arrays(state, "optimizer", arrays)
    json.dumps(as_json)  # nothing left that JSON cannot hold
    assert sorted(arrays) == ["optimizer/moments/0", "optimizer/moments/1"]
    joined = join_arrays(json.loads(json.dumps(as_json)), arrays)
    assert joined["step"] == 3 and joined["groups"] == state["groups"]
    np.testing.assert_array_equal(joined["moments"][0], np.ones((2, 3), np.float32))
    np.testing.assert_array_equal(joined["moments"][1], np.zeros(4))
