"""Atomic writes: permissions and symlinks of the file replaced, and the temporary files of
killed writers removed -- never one that a live writer holds."""

import os
import signal
import subprocess
import sys
import time

import pytest

from minigrad.io import atomic
from minigrad.io.atomic import atomic_write_bytes, remove_stale_temporaries

posix_only = pytest.mark.skipif(os.name != "posix", reason="permissions, flock and kill are POSIX")


def temporaries(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".minigrad-"))


@posix_only
def test_an_existing_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new" and (path.stat().st_mode & 0o777) == 0o640


@posix_only
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_the_permissions_open_would_give(tmp_path, umask):
    previous = os.umask(umask)
    try:
        atomic_write_bytes(tmp_path / "new.bin", b"x")
        with open(tmp_path / "plain.bin", "wb") as file:
            file.write(b"x")
    finally:
        os.umask(previous)
    mode = (tmp_path / "new.bin").stat().st_mode & 0o777
    assert mode == (tmp_path / "plain.bin").stat().st_mode & 0o777 == 0o666 & ~umask


@posix_only
def test_a_symlink_is_written_through_to_its_target(tmp_path):
    (tmp_path / "store").mkdir()
    target = tmp_path / "store" / "v1.safetensors"
    target.write_bytes(b"old")
    os.chmod(target, 0o604)
    link = tmp_path / "current.safetensors"
    link.symlink_to(target)
    atomic_write_bytes(link, b"new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() == b"new" and (target.stat().st_mode & 0o777) == 0o604
    assert temporaries(tmp_path) == [] and temporaries(tmp_path / "store") == []


@posix_only
def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.bin"
    link.symlink_to(tmp_path / "later.bin")
    atomic_write_bytes(link, b"data")
    assert link.is_symlink() and (tmp_path / "later.bin").read_bytes() == b"data"


# --- temporary files of killed writers ------------------------------------------------------
WRITER = """
import os, signal, sys, time
from minigrad.io import atomic
descriptor, path = atomic._create_temporary(sys.argv[1])
os.write(descriptor, b"half a model")
print(path, flush=True)
if sys.argv[2] == "die":
    os.kill(os.getpid(), signal.SIGKILL)
time.sleep(60)
"""


def start_writer(folder, mode):
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(folder), mode],
                               stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline().strip()
    return process, os.path.basename(line)


@posix_only
def test_a_killed_save_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    process, name = start_writer(tmp_path, "die")
    assert process.wait(timeout=30) == -signal.SIGKILL
    assert temporaries(tmp_path) == [name]
    atomic_write_bytes(tmp_path / "model.safetensors", b"new")
    assert temporaries(tmp_path) == []


@posix_only
def test_a_live_writers_temporary_is_never_removed_even_when_old(tmp_path):
    process, name = start_writer(tmp_path, "stay")
    try:
        old = time.time() - 10 * atomic.STALE_AFTER_SECONDS
        os.utime(tmp_path / name, (old, old))
        atomic_write_bytes(tmp_path / "model.safetensors", b"new")
        assert remove_stale_temporaries(tmp_path, max_age=0) == []
        assert temporaries(tmp_path) == [name]
    finally:
        process.kill()
        process.wait()
    assert remove_stale_temporaries(tmp_path) == [name]  # its writer has ended: gone


@posix_only
def test_unknown_temporaries_go_only_when_old_and_unlocked(tmp_path):
    fresh, old = tmp_path / ".minigrad-a1b2c3d4.tmp", tmp_path / ".minigrad-zz99xx00.tmp"
    fresh.write_bytes(b"x")
    old.write_bytes(b"x")
    long_ago = time.time() - 2 * atomic.STALE_AFTER_SECONDS
    os.utime(old, (long_ago, long_ago))
    (tmp_path / ".minigrad-link.tmp").symlink_to(old)       # links are never followed
    (tmp_path / "notes.tmp").write_bytes(b"mine")            # not a minigrad name
    # our name, this host, a process that is not ours to judge (pid 1 runs): kept while fresh
    alive = tmp_path / f".minigrad-1-{atomic._host_tag()}-abcdef.tmp"
    alive.write_bytes(b"x")
    assert remove_stale_temporaries(tmp_path) == [old.name]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [fresh.name, ".minigrad-link.tmp", "notes.tmp", alive.name])


def test_a_failed_write_removes_its_temporary(tmp_path, monkeypatch):
    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(tmp_path / "f.bin", b"x")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic_write_bytes(tmp_path / "no" / "f.bin", b"x")
