"""CIFAR-10: the real tarball (when $MINIGRAD_DATA is set) and generated tarballs in the real
pickle layout (parsing, member checksums, truncation, missing members, a malicious pickle)."""

import hashlib
import io
import os
import pickle
import tarfile

import numpy as np
import pytest

from minigrad.datasets import DatasetError, cifar10
from minigrad.datasets.safe_pickle import safe_loads

N = 4  # images per generated batch


def batch_pickle(seed, keys_as_bytes=True):
    rng = np.random.default_rng(seed)
    k = (lambda s: s.encode()) if keys_as_bytes else (lambda s: s)
    batch = {k("batch_label"): b"training batch", k("labels"): rng.integers(0, 10, N).tolist(),
             k("data"): rng.integers(0, 256, (N, 3072), dtype=np.uint8),
             k("filenames"): [b"img_%d.png" % i for i in range(N)]}
    return pickle.dumps(batch, protocol=2)


def write_tarball(path, members, extra=None):
    with tarfile.open(path, "w:gz") as archive:
        for name, data in {**members, **(extra or {})}.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def make_members():
    members = {f"data_batch_{i}": batch_pickle(i) for i in range(1, 6)}
    members["test_batch"] = batch_pickle(6, keys_as_bytes=False)
    members["batches.meta"] = pickle.dumps({b"label_names": [n.encode() for n in
                                                             cifar10.CLASS_NAMES]}, protocol=2)
    return members


@pytest.fixture
def fake_cifar(tmp_path, monkeypatch):
    members = make_members()
    monkeypatch.setattr(cifar10, "MEMBERS", {n: hashlib.md5(d).hexdigest()
                                             for n, d in members.items()})
    (tmp_path / "cifar10").mkdir()
    write_tarball(tmp_path / "cifar10" / cifar10.TARBALL, members)
    return tmp_path, members


# --- the real tarball -----------------------------------------------------------------------------
def test_real_cifar10_shapes_labels_and_pixels(data_root):
    (x_train, y_train), (x_test, y_test) = cifar10.load_data(root=data_root)
    assert x_train.shape == (50000, 32, 32, 3) and x_train.dtype == np.uint8
    assert x_test.shape == (10000, 32, 32, 3)
    assert y_train.shape == (50000, 1) and y_train.dtype == np.uint8 and y_test.shape == (10000, 1)
    assert y_train[:10, 0].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert y_test[:10, 0].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]
    assert np.bincount(y_train[:, 0]).tolist() == [5000] * 10
    assert np.bincount(y_test[:, 0]).tolist() == [1000] * 10
    channel_sums = x_train.reshape(-1, 3).sum(axis=0, dtype=np.int64)
    np.testing.assert_allclose(channel_sums / 255 / (50000 * 32 * 32), [0.4914, 0.4822, 0.4465],
                               atol=1e-4)
    # a published per-image raw-RGB sha256 (test image 0, channels-last bytes)
    assert hashlib.sha256(x_test[0].tobytes()).hexdigest() == \
        "af12e1241a1e7a0c9ba326825279bef5fe961ceb5f95212a99f9b1f22711f913"


# --- generated tarballs ---------------------------------------------------------------------------
def test_pixels_are_reordered_to_channels_last(fake_cifar):
    root, members = fake_cifar
    (x_train, y_train), (x_test, y_test) = cifar10.load_data(root=root)
    assert x_train.shape == (5 * N, 32, 32, 3) and y_train.shape == (5 * N, 1)
    raw = pickle.loads(members["data_batch_2"], encoding="bytes")
    row = raw[b"data"][1]                        # image 1 of batch 2 = training image N + 1
    image = x_train[N + 1]
    assert image[0, 0].tolist() == [row[0], row[1024], row[2048]]        # R, G, B of pixel (0,0)
    assert image[2, 5, 1] == row[1024 + 2 * 32 + 5]                     # G of pixel (2, 5)
    assert y_train[N:2 * N, 0].tolist() == raw[b"labels"]
    raw_test = pickle.loads(members["test_batch"], encoding="bytes")    # str keys work too
    assert y_test[:, 0].tolist() == raw_test["labels"] and y_test.dtype == np.uint8


def test_the_extracted_folder_is_accepted(fake_cifar):
    root, members = fake_cifar
    folder = root / "other" / "cifar10" / cifar10.FOLDER
    folder.mkdir(parents=True)
    for name, data in members.items():
        (folder / name).write_bytes(data)
    (a, _), _ = cifar10.load_data(root=root)
    (b, _), _ = cifar10.load_data(root=root / "other")
    np.testing.assert_array_equal(a, b)


def test_a_corrupted_member_is_named(fake_cifar):
    root, members = fake_cifar
    members["data_batch_3"] = members["data_batch_3"][:-40] + b"\0" * 40
    write_tarball(root / "cifar10" / cifar10.TARBALL, members)
    with pytest.raises(DatasetError, match=r"cifar-10-python\.tar\.gz:cifar-10-batches-py/"
                                           r"data_batch_3 is corrupt: its md5"):
        cifar10.load_data(root=root)


def test_a_truncated_tarball_is_named(fake_cifar):
    root, _ = fake_cifar
    path = root / "cifar10" / cifar10.TARBALL
    path.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(DatasetError, match="cifar-10-python.tar.gz is not a readable tar.gz"):
        cifar10.load_data(root=root)


def test_a_missing_member_is_named(fake_cifar):
    root, members = fake_cifar
    del members["test_batch"]
    write_tarball(root / "cifar10" / cifar10.TARBALL, members)
    with pytest.raises(DatasetError, match="lacks test_batch"):
        cifar10.load_data(root=root)


def test_no_copy_offline_says_where_to_put_the_tarball(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"cifar-10-python\.tar\.gz.*cifar10.*"
                                                "MINIGRAD_DATA"):
        cifar10.load_data(root=tmp_path)


class _RunsCode:
    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_malicious_pickle_with_matching_checksum_is_refused_and_runs_nothing(
        fake_cifar, monkeypatch):
    root, members = fake_cifar
    marker = root / "pwned"
    _RunsCode.marker = marker
    evil = pickle.dumps({b"data": _RunsCode(), b"labels": []}, protocol=2)
    members["data_batch_1"] = evil
    monkeypatch.setitem(cifar10.MEMBERS, "data_batch_1", hashlib.md5(evil).hexdigest())
    write_tarball(root / "cifar10" / cifar10.TARBALL, members)
    with pytest.raises(DatasetError, match=r"data_batch_1 is not a plain data pickle: it asks "
                                           r"for (posix|nt|os)\.system"):
        cifar10.load_data(root=root)
    assert not marker.exists()


def test_safe_loads_admits_arrays_dicts_lists_and_refuses_other_globals():
    value = {"a": np.arange(6, dtype=np.int16).reshape(2, 3), "b": [1, b"x", "y", 2.5]}
    for protocol in (2, 3, 4, 5):
        loaded = safe_loads(pickle.dumps(value, protocol=protocol), "x.pkl")
        np.testing.assert_array_equal(loaded["a"], value["a"])
        assert loaded["a"].dtype == np.int16 and loaded["b"] == value["b"]
    with pytest.raises(DatasetError, match="x.pkl .*asks for collections.OrderedDict"):
        safe_loads(pickle.dumps(__import__("collections").OrderedDict()), "x.pkl")
    with pytest.raises(DatasetError, match="x.pkl is not a valid data pickle"):
        safe_loads(pickle.dumps(value)[:30], "x.pkl")
