"""Reading a file only when it is a regular file of a bounded size.

``open(path).read()`` on a FIFO waits for a writer forever, and on ``/dev/zero`` (or a symlink
to it) reads until memory runs out. Model and dataset files are always regular files, so
anything else is refused before a byte is read.
"""

import os
import stat


class UnreadableFileError(OSError):
    """A path that is not a regular file, or a file larger than the caller allows. The message
    names the path and what it is."""


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def file_kind(mode):
    """What ``mode`` (an ``st_mode``) describes, in words: ``"a FIFO (named pipe)"``, ..."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def open_regular_file(path, max_bytes=None):
    """``(file object opened for binary reading, its size in bytes)`` for a regular file.

    The path is opened without blocking (a FIFO does not wait for a writer) and checked with
    ``fstat`` on the open descriptor, so a file swapped in between cannot slip through.
    Raises FileNotFoundError when nothing is there, PermissionError when it may not be read,
    and :class:`UnreadableFileError` for a directory, FIFO, device or socket, or a file over
    ``max_bytes``.
    """
    path = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags)
    except (FileNotFoundError, PermissionError):
        raise
    except OSError as error:  # a directory, a socket (ENXIO), ...: say what it is
        try:
            kind = file_kind(os.stat(path).st_mode)
        except OSError:
            raise error from None
        raise UnreadableFileError(f"{path} is {kind}, not a regular file") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFileError(f"{path} is {file_kind(info.st_mode)}, not a regular file")
        if max_bytes is not None and info.st_size > max_bytes:
            raise UnreadableFileError(f"{path} has {info.st_size} bytes, more than the "
                                      f"{max_bytes} allowed")
        if hasattr(os, "set_blocking"):
            os.set_blocking(descriptor, True)
        file = os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise
    return file, info.st_size


def read_regular_file(path, max_bytes=None):
    """The bytes of the regular file ``path`` (at most ``max_bytes``, when given).

    Reads as many bytes as ``fstat`` reported, never more, so a file that keeps growing while
    it is read cannot make this read without end (what it held at the start is returned, and a
    file that shrank meanwhile comes back shorter: the caller's format checks see it).
    Raises as :func:`open_regular_file`.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.bin"
    >>> _ = path.write_bytes(b"abc")
    >>> mg.io.read_regular_file(path)
    b'abc'
    """
    file, size = open_regular_file(path, max_bytes)
    with file:
        return file.read(size)
