"""Reading tar.gz members with bounded memory: sizes and types are checked from the headers
before anything is read, and no header may make tarfile read more than the limit at once."""

import gzip
import hashlib
import io
import os
import tarfile
import tracemalloc

import pytest

from minigrad.datasets import DatasetError, cifar10, imdb
from minigrad.datasets.archives import tar_members

MiB = 2 ** 20


def tar_gz(path, entries, level=6):
    """Write a tar.gz of ``entries``: (TarInfo, bytes or a file object or None)."""
    with gzip.open(path, "wb", compresslevel=level) as raw, \
            tarfile.open(fileobj=raw, mode="w|") as archive:
        for info, data in entries:
            archive.addfile(info, io.BytesIO(data) if isinstance(data, bytes) else data)


def info(name, size=0, kind=tarfile.REGTYPE, target=""):
    member = tarfile.TarInfo(name)
    member.size, member.type, member.linkname = size, kind, target
    return member


class Zeros(io.RawIOBase):
    """``size`` zero bytes, produced as they are read."""

    def __init__(self, size):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        self.left -= count
        return count


def wanted(name):
    return name.endswith("data_batch_1")


def test_wanted_members_are_read_and_others_skipped(tmp_path):
    path = tmp_path / "a.tar.gz"
    tar_gz(path, [(info("x/notes", 5), b"hello"), (info("x/data_batch_1", 3), b"abc")])
    assert [(m.name, data) for m, data in tar_members(path, wanted, 10)] == \
        [("x/data_batch_1", b"abc")]


def test_a_member_larger_than_the_limit_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "big.tar.gz"
    tar_gz(path, [(info("x/data_batch_1", 64 * MiB), Zeros(64 * MiB))], level=1)
    assert path.stat().st_size < MiB  # a small archive that inflates to 64 MiB
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match=r"data_batch_1 has 67108864 bytes, more than "
                                               r"the 1048576"):
            list(tar_members(path, wanted, MiB))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * MiB


def test_a_header_that_claims_a_gibibyte_is_refused_without_reading(tmp_path):
    # The archive's data ends long before the 1 GiB it announces: only the header is seen.
    path = tmp_path / "claims.tar.gz"
    path.write_bytes(gzip.compress(info("x/data_batch_1", 2 ** 30).tobuf() + bytes(4096)))
    with pytest.raises(DatasetError, match="1073741824 bytes"):
        list(tar_members(path, wanted, MiB))


def test_an_extended_header_that_claims_a_gibibyte_is_refused(tmp_path):
    # tarfile reads a pax header whole, in one read of the size it claims.
    path = tmp_path / "pax.tar.gz"
    path.write_bytes(gzip.compress(info("././@PaxHeader", 2 ** 30, tarfile.XHDTYPE).tobuf()
                                   + bytes(4096)))
    with pytest.raises(DatasetError, match="asks to read 1073741824 bytes at once"):
        list(tar_members(path, wanted, MiB))


@pytest.mark.parametrize("kind, target, words", [
    (tarfile.SYMTYPE, "/dev/zero", "a symbolic link"), (tarfile.LNKTYPE, "x/other",
                                                        "a hard link"),
    (tarfile.CHRTYPE, "", "a character device"), (tarfile.FIFOTYPE, "", "a FIFO"),
    (tarfile.DIRTYPE, "", "a directory")])
def test_a_wanted_member_that_is_not_a_regular_file_is_refused(tmp_path, kind, target, words):
    path = tmp_path / "odd.tar.gz"
    tar_gz(path, [(info("x/other", 1), b"a"), (info("x/data_batch_1", 0, kind, target), None)])
    with pytest.raises(DatasetError, match=f"x/data_batch_1 is {words}, expected a regular"):
        list(tar_members(path, wanted, MiB))


def test_a_truncated_archive_is_named(tmp_path):
    path = tmp_path / "cut.tar.gz"
    tar_gz(path, [(info("x/data_batch_1", 3000), os.urandom(3000))])
    path.write_bytes(path.read_bytes()[:1500])
    with pytest.raises(DatasetError, match="cut.tar.gz is not a readable tar.gz"):
        list(tar_members(path, wanted, MiB))


# --- the loaders use it ------------------------------------------------------------------------
def test_cifar10_refuses_an_oversized_member_before_reading_it(tmp_path):
    (tmp_path / "cifar10").mkdir()
    path = tmp_path / "cifar10" / cifar10.TARBALL
    path.write_bytes(gzip.compress(info("cifar-10-batches-py/data_batch_1", 2 ** 30).tobuf()))
    with pytest.raises(DatasetError, match="data_batch_1 has 1073741824 bytes"):
        cifar10.load_data(root=tmp_path, download=False)


def test_cifar10_refuses_a_member_twice(tmp_path):
    (tmp_path / "cifar10").mkdir()
    tar_gz(tmp_path / "cifar10" / cifar10.TARBALL,
           [(info("cifar-10-batches-py/test_batch", 1), b"a")] * 2)
    with pytest.raises(DatasetError, match="holds test_batch twice"):
        cifar10.load_data(root=tmp_path, download=False)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_cifar10_folder_members_must_be_regular_files(tmp_path):
    folder = tmp_path / "cifar10" / cifar10.FOLDER
    folder.mkdir(parents=True)
    os.mkfifo(folder / "data_batch_1")  # reading it would wait for a writer forever
    with pytest.raises(DatasetError, match="data_batch_1 is a FIFO"):
        cifar10.load_data(root=tmp_path, download=False)
    os.unlink(folder / "data_batch_1")
    os.symlink("/dev/zero", folder / "data_batch_1")  # reading it would never end
    with pytest.raises(DatasetError, match="data_batch_1 is a character device"):
        cifar10.load_data(root=tmp_path, download=False)


def test_imdb_refuses_an_oversized_review(tmp_path, monkeypatch):
    folder = tmp_path / "imdb"
    folder.mkdir()
    (folder / imdb.WORD_INDEX).write_text("{}")
    monkeypatch.setattr(imdb, "WORD_INDEX_MD5", hashlib.md5(b"{}").hexdigest())
    path = folder / "aclImdb_v1.tar.gz"
    path.write_bytes(gzip.compress(info("aclImdb/train/pos/0_9.txt", 2 ** 30).tobuf()))
    monkeypatch.setattr(imdb, "TARBALLS", {"aclImdb_v1.tar.gz": hashlib.md5(
        path.read_bytes()).hexdigest()})
    with pytest.raises(DatasetError, match="0_9.txt has 1073741824 bytes"):
        imdb.load_data(root=tmp_path, download=False)
