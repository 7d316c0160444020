"""MNIST and Fashion-MNIST: the real files (when $MINIGRAD_DATA is set) and generated IDX files
(parsing, checksums, truncation, missing files, download from a file:// URL)."""

import gzip
import hashlib
import struct

import numpy as np
import pytest

import minigrad as mg
from minigrad.datasets import DatasetError, fashion_mnist, mnist
from minigrad.datasets.idx import parse_idx


def idx_bytes(array):
    array = np.asarray(array, dtype=np.uint8)
    return struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + \
        struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_fake_mnist(folder, n_train=5, n_test=3):
    """Four small IDX gz files; returns the arrays and {filename: md5}."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    sums = {}
    for name, array in arrays.items():
        data = gzip.compress(idx_bytes(array), mtime=0)
        (folder / name).write_bytes(data)
        sums[name] = hashlib.md5(data).hexdigest()
    return arrays, sums


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch):
    arrays, sums = write_fake_mnist(tmp_path / "root" / "mnist")
    monkeypatch.setattr(mnist, "FILES", sums)
    return tmp_path / "root", arrays


# --- the real files -------------------------------------------------------------------------------
def test_real_mnist_shapes_dtypes_mean_and_label_counts(data_root):
    (x_train, y_train), (x_test, y_test) = mnist.load_data(root=data_root)
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert round(x_train.mean() / 255, 4) == 0.1307
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265,
                                             5851, 5949]
    assert np.bincount(y_test).sum() == 10000 and y_test.max() == 9


def test_real_mnist_found_through_the_environment_variable(data_root, monkeypatch):
    monkeypatch.setenv("MINIGRAD_DATA", str(data_root))
    (x_train, _), _ = mnist.load_data()
    assert x_train.shape == (60000, 28, 28)


# --- generated files ------------------------------------------------------------------------------
def test_generated_files_parse_to_the_arrays_written(fake_mnist):
    root, arrays = fake_mnist
    (x_train, y_train), (x_test, y_test) = mnist.load_data(root=root)
    np.testing.assert_array_equal(x_train, arrays["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(y_train, arrays["train-labels-idx1-ubyte.gz"])
    np.testing.assert_array_equal(x_test, arrays["t10k-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(y_test, arrays["t10k-labels-idx1-ubyte.gz"])
    assert x_train.dtype == y_train.dtype == np.uint8


def test_a_corrupt_file_is_named_by_the_checksum_error(fake_mnist):
    root, _ = fake_mnist
    path = root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=r"t10k-labels-idx1-ubyte\.gz is corrupt: its md5"):
        mnist.load_data(root=root)


def test_the_published_checksums_reject_a_file_that_is_not_the_real_one(tmp_path):
    write_fake_mnist(tmp_path / "mnist")
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz is corrupt"):
        mnist.load_data(root=tmp_path)


def test_truncated_idx_data_is_reported():
    good = idx_bytes(np.zeros((2, 28, 28)))
    with pytest.raises(DatasetError, match=r"labels\.idx has 1000 bytes.*\(2, 28, 28\) needs 1584"):
        parse_idx(good[:1000], "labels.idx")
    with pytest.raises(DatasetError, match="not an IDX file"):
        parse_idx(b"\x1f\x8b\x08\x00garbage", "x.idx")


def test_a_truncated_gzip_file_is_named(fake_mnist, monkeypatch):
    root, _ = fake_mnist
    path = root / "mnist" / "train-images-idx3-ubyte.gz"
    data = path.read_bytes()[:200]
    path.write_bytes(data)
    monkeypatch.setitem(mnist.FILES, path.name, hashlib.md5(data).hexdigest())
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz could not be decompressed"):
        mnist.load_data(root=root)


def test_missing_files_offline_say_which_files_go_where(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        mnist.load_data(root=tmp_path / "nothing")
    message = str(info.value)
    for name in mnist.FILES:
        assert name in message
    assert "MINIGRAD_DATA" in message and "mnist" in message


def test_download_from_a_url_into_root_is_verified_and_then_found_locally(tmp_path, monkeypatch):
    arrays, sums = write_fake_mnist(tmp_path / "server")
    monkeypatch.setattr(mnist, "FILES", sums)
    monkeypatch.setattr(mnist, "MIRRORS", ["http://unreachable.invalid/",
                                           (tmp_path / "server").as_uri() + "/"])
    (x_train, _), _ = mnist.load_data(root=tmp_path / "root")
    np.testing.assert_array_equal(x_train, arrays["train-images-idx3-ubyte.gz"])
    assert sorted(p.name for p in (tmp_path / "root" / "mnist").iterdir()) == sorted(sums)
    monkeypatch.setattr(mnist, "MIRRORS", [])     # now it is local: no download needed
    mnist.load_data(root=tmp_path / "root")


def test_download_without_root_goes_to_the_cache(tmp_path, monkeypatch):
    _, sums = write_fake_mnist(tmp_path / "server")
    monkeypatch.setattr(mnist, "FILES", sums)
    monkeypatch.setattr(mnist, "MIRRORS", [(tmp_path / "server").as_uri() + "/"])
    monkeypatch.delenv("MINIGRAD_DATA", raising=False)
    mnist.load_data()
    assert (tmp_path / "cache" / "mnist" / "train-labels-idx1-ubyte.gz").exists()


def test_a_corrupt_download_is_rejected_and_not_written(tmp_path, monkeypatch):
    _, sums = write_fake_mnist(tmp_path / "server")
    sums["t10k-images-idx3-ubyte.gz"] = "0" * 32
    monkeypatch.setattr(mnist, "FILES", sums)
    monkeypatch.setattr(mnist, "MIRRORS", [(tmp_path / "server").as_uri() + "/"])
    with pytest.raises(DatasetError, match="download of t10k-images-idx3-ubyte.gz.*is corrupt"):
        mnist.load_data(root=tmp_path / "root")
    assert not (tmp_path / "root" / "mnist" / "t10k-images-idx3-ubyte.gz").exists()


def test_fashion_mnist_reads_its_own_folder(tmp_path, monkeypatch):
    arrays, sums = write_fake_mnist(tmp_path / "fashion_mnist")
    monkeypatch.setattr(fashion_mnist, "FILES", sums)
    (x_train, y_train), (x_test, y_test) = mg.datasets.fashion_mnist.load_data(root=tmp_path)
    np.testing.assert_array_equal(y_test, arrays["t10k-labels-idx1-ubyte.gz"])
    assert x_train.shape == (5, 28, 28) and len(fashion_mnist.CLASS_NAMES) == 10
