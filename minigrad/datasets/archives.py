"""Reading members of a ``.tar.gz`` archive with bounded memory.

A dataset tarball is read before (CIFAR-10: instead of) checking it, so a crafted one must not
be able to make a reader allocate what it likes: a 1 MB archive can decompress to a 1 GiB
member. Here each wanted member is checked -- a regular file (not a link, a device or a FIFO)
of at most ``max_bytes`` -- from its header, before its data is read; and no single read from
the archive may exceed ``max_bytes``, which also bounds the extended headers (pax, GNU long
names) that :mod:`tarfile` reads whole, in one read, at the size the archive claims (up to
1 MiB is always allowed for those).
"""

import gzip
import tarfile
import zlib

from .files import DatasetError

_KINDS = (("issym", "a symbolic link"), ("islnk", "a hard link"), ("ischr", "a character device"),
          ("isblk", "a block device"), ("isfifo", "a FIFO"), ("isdir", "a directory"))


#: Reads of up to this many bytes are always allowed (tar blocks; ordinary pax headers).
_MIN_READ = 2 ** 20


def member_kind(member):
    """What a tar member is, in words (``"a symbolic link"``, ...)."""
    return next((name for test, name in _KINDS if getattr(member, test)()), "not a regular file")


class _BoundedReads:
    """A file object that refuses any single read of more than ``limit`` bytes."""

    def __init__(self, file, limit, what):
        self.file, self.limit, self.what = file, limit, what

    def read(self, size=-1):
        if size is None or size < 0 or size > self.limit:
            raise DatasetError(f"{self.what}: the archive asks to read "
                               f"{'all of it' if size is None or size < 0 else size} bytes at "
                               f"once (a header or member larger than the {self.limit} bytes "
                               "allowed)")
        return self.file.read(size)

    def seek(self, offset, whence=0):
        return self.file.seek(offset, whence)

    def tell(self):
        return self.file.tell()


def tar_members(source, wanted, max_bytes):
    """Yield ``(member, data)`` for each member of the tar.gz file ``source`` whose name
    ``wanted(name)`` accepts, in archive order, reading at most ``max_bytes`` per member.

    A wanted member that is not a regular file, or is larger than ``max_bytes``, raises
    :class:`~minigrad.datasets.DatasetError` naming it, before any of it is read; so does a
    truncated or corrupt archive. Members not wanted are skipped without being kept.
    """
    try:
        with open(source, "rb") as raw, gzip.GzipFile(fileobj=raw) as unzipped, \
                tarfile.open(fileobj=_BoundedReads(unzipped, max(max_bytes, _MIN_READ), source),
                             mode="r:") as archive:
            for member in archive:
                if not wanted(member.name):
                    continue
                what = f"{source}:{member.name}"
                if not member.isfile():
                    raise DatasetError(f"{what} is {member_kind(member)}, expected a regular "
                                       "file")
                if member.size > max_bytes:
                    raise DatasetError(f"{what} has {member.size} bytes, more than the "
                                       f"{max_bytes} this file can have")
                yield member, archive.extractfile(member).read(member.size)
    except DatasetError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise DatasetError(f"{source} is not a readable tar.gz archive (truncated or corrupt): "
                           f"{error}") from error
