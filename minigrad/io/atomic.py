"""Writing a file so that a crash never leaves it half-written, and cleaning up after the
writers that were killed.

The data goes into a temporary file ``.minigrad-<pid>-<host>-<random>.tmp`` in the folder of
the target, which is flushed to disk and renamed over the target. A writer holds an exclusive
``flock`` on its temporary file while it writes, so another process can tell a temporary file
being written now (locked) from one left by a killed save (unlocked). Every write first
removes the temporary files of earlier writers in that folder that are unlocked and either
belong to a process of this host that no longer runs or are older than
:data:`STALE_AFTER_SECONDS`; files of other users, links and anything locked are left alone.
"""

import hashlib
import os
import re
import secrets
import socket
import stat
import time

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; stale files are then recognised by age only
    fcntl = None

#: A temporary file older than this (seconds since its last write) whose writer cannot be
#: identified (another host, an older minigrad) counts as left behind, if no one locks it.
STALE_AFTER_SECONDS = 3600
PREFIX, SUFFIX = ".minigrad-", ".tmp"
_OURS = re.compile(r"^\.minigrad-(\d+)-([0-9a-f]{8})-[0-9a-f]+\.tmp$")


def atomic_write_bytes(path, data):
    """Write ``data`` to ``path`` atomically: into a temporary file in the same folder, flushed
    to disk, then renamed over ``path``. A crash before the rename leaves the previous file (if
    any) intact; readers never see a partial file.

    A ``path`` that is a symbolic link is written through: its target gets the new contents
    and the link stays. A file that exists keeps its permission bits (and its owner and group
    where this user may set them); a new file gets the permissions ``open()`` would give it
    (``0o666`` less the umask). Temporary files left by killed writers in the folder are
    removed first (see the module's documentation).
    """
    path = os.fspath(path)
    target = os.path.realpath(path)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save {path!r}: the folder {folder!r} does not exist")
    remove_stale_temporaries(folder)
    descriptor, temporary = _create_temporary(folder)
    try:
        with os.fdopen(descriptor, "wb") as file:
            _copy_permissions(target, file.fileno())
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
            os.replace(temporary, target)  # still locked: nobody removes it before the rename
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    _sync_folder(folder)


def _create_temporary(folder):
    """``(descriptor, path)`` of a new, empty, locked temporary file in ``folder``. Created
    with mode 0o666 so that the umask (and a default ACL) applies as to any new file."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | \
        getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        name = f"{PREFIX}{os.getpid()}-{_host_tag()}-{secrets.token_hex(6)}{SUFFIX}"
        temporary = os.path.join(folder, name)
        try:
            descriptor = os.open(temporary, flags, 0o666)
        except FileExistsError:
            continue
        if fcntl is not None:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # a file system without locks: the age rule still protects it
                pass
        return descriptor, temporary
    raise FileExistsError(f"cannot create a temporary file in {folder!r}")


def _copy_permissions(target, descriptor):
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return
    if not hasattr(os, "fchmod"):
        return
    os.fchmod(descriptor, stat.S_IMODE(info.st_mode) & 0o777)  # no set-id bits carried over
    if (info.st_uid, info.st_gid) != (os.geteuid(), os.getegid()):
        try:
            os.fchown(descriptor, info.st_uid, info.st_gid)
        except OSError:  # only root may give a file away; a group we are not in is refused
            pass


def _sync_folder(folder):
    """Make the rename itself durable (not possible on every platform)."""
    try:
        directory = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(directory)
    except OSError:
        pass
    finally:
        os.close(directory)


def _host_tag():
    """8 hex digits naming this host, so a process id is only judged on its own host."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _process_gone(pid):
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: it runs, as another user
        return False
    return False


def remove_stale_temporaries(folder, max_age=STALE_AFTER_SECONDS):
    """Remove the temporary files that killed writers left in ``folder``; returns their names.

    A ``.minigrad-*.tmp`` file is removed when it is a regular file of this user, no process
    holds its lock, and either its name says it was made by a process of this host that has
    ended, or it was last written more than ``max_age`` seconds ago. Errors are ignored (a
    cleanup never fails a save).
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        name = entry.name
        if not (name.startswith(PREFIX) and name.endswith(SUFFIX)):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode) or hasattr(os, "geteuid") and \
                info.st_uid != os.geteuid():
            continue
        match = _OURS.match(name)
        ended = fcntl is not None and match is not None and match[2] == _host_tag() and \
            _process_gone(int(match[1]))
        if (ended or now - info.st_mtime > max_age) and _remove_unlocked(entry.path, info):
            removed.append(name)
    return removed


def _remove_unlocked(path, info):
    """Unlink ``path`` if it is still the file ``info`` describes and nobody holds its lock."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) |
                             getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    try:
        if fcntl is not None:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a live writer: OSError
        now = os.fstat(descriptor)
        if (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino):
            return False
        os.unlink(path)
        return True
    except OSError:
        return False
    finally:
        os.close(descriptor)
