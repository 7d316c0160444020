"""Finding, downloading and verifying dataset files.

A dataset named ``name`` (``"mnist"``, ``"cifar10"``, ...) is looked for, in order, in

1. ``<root>/<name>/`` where ``root`` is the ``root=`` argument of ``load_data`` or, when that
   is None, the environment variable ``MINIGRAD_DATA``;
2. ``<cache>/<name>/`` where ``cache`` is ``$MINIGRAD_CACHE`` or ``~/.cache/minigrad``.

When a file is in neither place it is downloaded from its canonical URL (into ``<root>/<name>/``
when ``root=`` was given, else into the cache), checksum-verified, and written atomically. Every
file is verified against its published checksum each time it is loaded, so a corrupt or
tampered copy is detected and named.

Offline: ``download=False`` (an argument of every ``load_data``) or the environment variable
``MINIGRAD_OFFLINE=1`` means no download is ever tried; a missing file is then an error that
says which files to put where. With downloads on, a host that cannot be reached is tried once
(a connection attempt of at most :data:`CONNECT_TIMEOUT` seconds) and then skipped for every
other file, so an unplugged machine fails in seconds, not after every URL's read timeout.
"""

import hashlib
import os
import socket
import urllib.parse
import urllib.request
from pathlib import Path

from .. import console
from ..io.atomic import atomic_write_bytes
from ..io.regular_file import UnreadableFileError, open_regular_file

__all__ = ["DatasetError", "data_roots", "cache_dir", "locate", "find_file", "download",
           "downloads_allowed", "file_hash", "verify_file", "verify_bytes", "CONNECT_TIMEOUT",
           "READ_TIMEOUT"]

#: Seconds to wait for a host to accept a connection before it counts as unreachable.
CONNECT_TIMEOUT = 5
#: Seconds a started download may go without receiving data.
READ_TIMEOUT = 30


class DatasetError(OSError):
    """A dataset file is corrupt, truncated, tampered with or not in the expected format.
    The message names the file."""


def data_roots(name, root=None):
    """The folders searched for dataset ``name``, in order (they need not exist)."""
    folders = []
    base = root if root is not None else os.environ.get("MINIGRAD_DATA")
    if base:
        folders.append(Path(base) / name)
    folders.append(cache_dir(name))
    return folders


def cache_dir(name=None):
    """The writable cache folder (``$MINIGRAD_CACHE`` or ``~/.cache/minigrad``), or its
    subfolder ``name``. Not created here."""
    base = os.environ.get("MINIGRAD_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                              "minigrad")
    return Path(base) / name if name else Path(base)


def file_hash(path, algorithm="md5"):
    """The hex digest of a file, read in 1 MiB chunks. Only a regular file is read (a FIFO
    would wait for a writer, a device never end): anything else is a :class:`DatasetError`."""
    digest = hashlib.new(algorithm)
    try:
        file, _ = open_regular_file(path)
    except UnreadableFileError as error:
        raise DatasetError(str(error)) from None
    with file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_bytes(data, what, md5=None, sha256=None):
    """Raise :class:`DatasetError` naming ``what`` unless ``data`` has one of the checksums
    given (each argument is a hex string or a collection of accepted hex strings)."""
    for algorithm, expected in (("md5", md5), ("sha256", sha256)):
        if expected is None:
            continue
        accepted = {expected} if isinstance(expected, str) else set(expected)
        actual = hashlib.new(algorithm, data).hexdigest()
        if actual not in accepted:
            raise DatasetError(f"{what} is corrupt: its {algorithm} is {actual}, expected "
                               f"{' or '.join(sorted(accepted))} (delete it and load again, or "
                               "replace it with a good copy)")


def verify_file(path, md5=None, sha256=None):
    """Raise :class:`DatasetError` naming ``path`` unless the file has one of the checksums."""
    for algorithm, expected in (("md5", md5), ("sha256", sha256)):
        if expected is None:
            continue
        accepted = {expected} if isinstance(expected, str) else set(expected)
        actual = file_hash(path, algorithm)
        if actual not in accepted:
            raise DatasetError(f"{path} is corrupt: its {algorithm} is {actual}, expected "
                               f"{' or '.join(sorted(accepted))} (delete it and load again, or "
                               "replace it with a good copy)")


def find_file(name, filename, root=None):
    """The first existing ``<folder>/<filename>`` of :func:`data_roots`, or None."""
    for folder in data_roots(name, root):
        path = folder / filename
        if path.exists():
            return path
    return None


def downloads_allowed(download=True):
    """False when ``download`` is False or the environment variable ``MINIGRAD_OFFLINE`` is set
    to anything but ``""``, ``"0"``, ``"false"``, ``"no"`` or ``"off"``."""
    offline = os.environ.get("MINIGRAD_OFFLINE", "").strip().lower()
    return bool(download) and offline in ("", "0", "false", "no", "off")


def _unreachable_reason(url):
    """Why the host of ``url`` cannot be reached (a short string), or None when it accepts a
    connection within :data:`CONNECT_TIMEOUT` seconds (or the URL is not http(s))."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT).close()
    except OSError as error:  # name resolution, refused, unreachable network, timeout
        return f"host {parts.hostname} unreachable ({error or type(error).__name__})"
    return None


def download(urls, path, md5=None, sha256=None, progress=True, unreachable=None):
    """Fetch the first URL of ``urls`` that answers, check its checksum and write it to ``path``
    atomically (the folder is created). Returns ``path``; raises :class:`OSError` (listing the
    URLs tried and why each failed) when none could be fetched.

    ``unreachable``: a dict ``{host: reason}`` shared between calls; hosts found unreachable
    are added and later URLs on them are skipped without another attempt."""
    path = Path(path)
    unreachable = {} if unreachable is None else unreachable
    errors = []
    for url in urls:
        host = urllib.parse.urlsplit(url).hostname
        if host in unreachable:
            errors.append(f"{url}: skipped, {unreachable[host]}")
            continue
        reason = _unreachable_reason(url)
        if reason is not None:
            unreachable[host] = reason
            errors.append(f"{url}: {reason}")
            continue
        try:
            with urllib.request.urlopen(url, timeout=READ_TIMEOUT) as response:
                total = response.headers.get("Content-Length") if response.headers else None
                chunks = []
                bar_class = console.bar_class()
                with bar_class(total=int(total) if total else None, unit="B", unit_scale=True,
                               desc=path.name, disable=not progress or None,
                               leave=False) as bar:
                    for chunk in iter(lambda: response.read(1 << 20), b""):
                        chunks.append(chunk)
                        bar.update(len(chunk))
            data = b"".join(chunks)
        except (OSError, ValueError) as error:  # URLError, timeouts, HTTP errors are OSErrors
            errors.append(f"{url}: {error}")
            continue
        verify_bytes(data, f"the download of {path.name} from {url}", md5=md5, sha256=sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
        return path
    raise OSError(f"could not download {path.name}: " + "; ".join(errors))


_download = download  # locate's argument ``download`` (a flag) hides the function's name


def locate(name, files, root=None, what=None, progress=True, download=True):
    """The paths of ``files`` (``{filename: (urls, md5, sha256)}``) for dataset ``name``: found
    in one folder of :func:`data_roots`, or downloaded (unless ``download`` is False or
    ``MINIGRAD_OFFLINE`` is set: see :func:`downloads_allowed`). Checksums are verified here.

    With no local copy and no download, the :class:`FileNotFoundError` says which files to put
    where.
    """
    folders = data_roots(name, root)
    for folder in folders:
        if all((folder / filename).exists() for filename in files):
            break
    else:
        folder = Path(root) / name if root is not None else cache_dir(name)
        missing = [filename for filename in files if not (folder / filename).exists()]
        if not downloads_allowed(download):
            why = "download=False" if not download else "MINIGRAD_OFFLINE is set"
            raise FileNotFoundError(_missing_message(what or name, name, files, folders,
                                                     f"downloads are off ({why})"))
        failures = []
        unreachable = {}
        for filename in missing:
            urls, md5, sha256 = files[filename]
            try:
                _download(urls, folder / filename, md5=md5, sha256=sha256, progress=progress,
                          unreachable=unreachable)
            except DatasetError:
                raise
            except OSError as error:
                failures.append(str(error))
        if failures:
            raise FileNotFoundError(_missing_message(
                what or name, name, files, folders, "the download failed",
                f" Download errors: {' | '.join(failures)}"))
    paths = [folder / filename for filename in files]
    for path, (urls, md5, sha256) in zip(paths, files.values()):
        verify_file(path, md5=md5, sha256=sha256)
    return paths


def _missing_message(what, name, files, folders, reason, details=""):
    return (f"{what}: no local copy, and {reason}. Put the files {', '.join(files)} into the "
            f"folder {Path('<MINIGRAD_DATA>') / name} and set the environment variable "
            f"MINIGRAD_DATA (or pass root=) to that parent folder. Searched: "
            f"{', '.join(str(f) for f in folders)}.{details}")
