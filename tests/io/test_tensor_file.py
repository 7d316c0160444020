"""The file format alone (no model): named arrays and metadata round trip, and every damaged,
foreign or future file is refused with its name."""

import json
import os
import struct
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad.io import (ModelFileError, checksum, file_errors, join_arrays, read_tensor_file,
                         split_arrays, write_tensor_file)

from . import _craft as craft

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


# --- the checksum covers the whole file -------------------------------------------------------
def test_every_byte_of_the_file_is_covered_by_the_checksum(tmp_path):
    """Flip one bit in every byte, one byte at a time: each file is refused."""
    path = tmp_path / "f.safetensors"
    write_tensor_file(path, {"w": np.arange(6, dtype=np.float32)}, {"content": "weights",
                                                                   "note": "epsilon=0.001"})
    good = path.read_bytes()
    rng = np.random.default_rng(0)
    for at in range(len(good)):
        data = bytearray(good)
        data[at] ^= 1 << int(rng.integers(8))
        path.write_bytes(bytes(data))
        with pytest.raises(ModelFileError, match="f.safetensors"):
            read_tensor_file(path)


def test_an_edited_metadata_value_fails_the_checksum(tmp_path):
    path = write(tmp_path)
    path.write_bytes(path.read_bytes().replace(b'"content":"weights"', b'"content":"weighTs"'))
    with pytest.raises(ModelFileError, match="f.safetensors: corrupt -- its contents do not "
                                             "match the checksum"):
        read_tensor_file(path)


def test_the_file_is_a_plain_safetensors_file(tmp_path):
    from safetensors.numpy import load_file

    path = write(tmp_path)
    np.testing.assert_array_equal(load_file(str(path))["w"], np.arange(16, dtype=np.float32))


def test_crafted_files_with_a_correct_checksum_are_checked_too(tmp_path):
    path = write(tmp_path)
    craft.rewrite(path, lambda header: None)  # re-signed by the test's own writer: accepted
    assert read_tensor_file(path)[0]["w"].shape == (16,)


def test_version_1_files_still_load_with_a_warning(tmp_path):
    from safetensors.numpy import save

    arrays = {"w": np.arange(4, dtype=np.float32)}
    path = tmp_path / "old.safetensors"
    metadata = {"content": "weights", "format": "minigrad", "format_version": "1",
                "sha256": checksum(arrays)}
    path.write_bytes(save(arrays, metadata=metadata))
    with pytest.warns(mg.io.ModelFileWarning, match="old.safetensors: written in format "
                                                    "version 1"):
        read, metadata = read_tensor_file(path)
    np.testing.assert_array_equal(read["w"], arrays["w"])
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="old.safetensors: corrupt"):
        read_tensor_file(path)


def entry(header, name="w"):
    return header[name]


@pytest.mark.parametrize("change, message", [
    (lambda h: entry(h).update(shape=[10 ** 12, 10 ** 12]), "needs 4000000000000000000000000 "
                                                            "bytes, its data_offsets span 64"),
    (lambda h: entry(h).update(shape=[-16]), "shape \\[-16\\]"),
    (lambda h: entry(h).update(shape=[True] * 16), "expected a list of sizes"),
    (lambda h: entry(h).update(data_offsets=[0, 10 ** 9]), "needs 64 bytes"),
    (lambda h: entry(h).update(dtype="F64", shape=[16]), "needs 128 bytes"),
    (lambda h: entry(h).update(dtype="C64"), "dtype 'C64'"),
    (lambda h: entry(h).update(dtype=None), "dtype None"),
    (lambda h: entry(h).update(data_offsets=[0]), "expected \\[start, end\\]"),
    (lambda h: entry(h).update(extra=1), "not {dtype, shape, data_offsets}"),
    (lambda h: h.update(w=[1]), "not {dtype, shape, data_offsets}"),
    (lambda h: h.update(v={"dtype": "F32", "shape": [16], "data_offsets": [0, 64]}),
     "starts at byte 0 of the data, expected 64 \\(a gap or an overlap\\)"),
    (lambda h: h.update(w={"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}),
     "describes 32 bytes of data, the file has 64"),
    (lambda h: h["__metadata__"].update(content=["weights"]), "not a table of strings"),
    (lambda h: h["__metadata__"].update(format="other"), "no minigrad format marker"),
])
def test_a_malformed_header_is_refused_even_with_a_correct_checksum(tmp_path, change, message):
    path = write(tmp_path)
    craft.rewrite(path, change)
    with pytest.raises(ModelFileError, match="f.safetensors: .*" + message):
        read_tensor_file(path)


@pytest.mark.parametrize("text, message", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("[1, 2]", "its header is a list"),
    ('{"a": 1, "a": 2}', "duplicate key 'a'"),
    ('{"a": 1', "unreadable header"),
    ('{"a": "\xff"}'.encode("latin1").decode("utf-8", "surrogateescape"), "unreadable header"),
])
def test_a_header_that_is_not_a_json_table_is_refused(tmp_path, text, message):
    path = tmp_path / "f.safetensors"
    raw = text.encode("utf-8", "surrogateescape")
    path.write_bytes(struct.pack("<Q", len(raw)) + raw)
    with pytest.raises(ModelFileError, match=f"f.safetensors: .*{message}"):
        read_tensor_file(path)


@pytest.mark.parametrize("size", [2 ** 63, 2 ** 64 - 1, 200 * 2 ** 20])
def test_a_header_size_beyond_the_file_is_refused(tmp_path, size):
    path = write(tmp_path)
    path.write_bytes(struct.pack("<Q", size) + path.read_bytes()[8:] + bytes(8))
    with pytest.raises(ModelFileError, match="f.safetensors: truncated"):
        read_tensor_file(path)


# --- only regular files are read ----------------------------------------------------------
def refused_within(seconds, path):
    """The ModelFileError that reading ``path`` raises, failing the test if it takes longer
    than ``seconds`` (a FIFO used to hang forever: the read runs in a daemon thread)."""
    result = []

    def read():
        try:
            read_tensor_file(path)
            result.append(None)
        except Exception as exc:  # noqa: BLE001 -- handed to the test
            result.append(exc)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(seconds)
    assert result, f"reading {path} did not return within {seconds} s"
    assert isinstance(result[0], ModelFileError), result[0]
    return result[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_at_once(tmp_path):
    os.mkfifo(tmp_path / "pipe.safetensors")
    error = refused_within(10, tmp_path / "pipe.safetensors")
    assert "pipe.safetensors is a FIFO (named pipe), not a regular file" in str(error)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_link_to_dev_zero_is_refused_at_once(tmp_path):
    os.symlink("/dev/zero", tmp_path / "zero.safetensors")
    error = refused_within(10, tmp_path / "zero.safetensors")
    assert "zero.safetensors is a character device" in str(error)


def test_a_folder_is_refused(tmp_path):
    (tmp_path / "dir.safetensors").mkdir()
    with pytest.raises(ModelFileError, match="dir.safetensors is a directory"):
        read_tensor_file(tmp_path / "dir.safetensors")


def test_file_errors_names_the_file_and_the_problem():
    with pytest.raises(ModelFileError, match=r"m.st: rebuilding: no entry 'config'"):
        with file_errors("m.st", "rebuilding"):
            {}["config"]
    with pytest.raises(ModelFileError, match=r"m.st: rebuilding: nested too deeply"):
        with file_errors("m.st", "rebuilding"):
            json.loads("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelFileError, match=r"m.st: rebuilding: ZeroDivisionError"):
        with file_errors("m.st", "rebuilding"):
            1 / 0
