"""Finding, downloading and verifying dataset files.

A dataset named ``name`` (``"mnist"``, ``"cifar10"``, ...) is looked for, in order, in

1. ``<root>/<name>/`` where ``root`` is the ``root=`` argument of ``load_data`` or, when that
   is None, the environment variable ``MINIGRAD_DATA``;
2. ``<cache>/<name>/`` where ``cache`` is ``$MINIGRAD_CACHE`` or ``~/.cache/minigrad``.

When a file is in neither place it is downloaded from its canonical URL (into ``<root>/<name>/``
when ``root=`` was given, else into the cache), checksum-verified, and written atomically. Every
file is verified against its published checksum each time it is loaded, so a corrupt or
tampered copy is detected and named.
"""

import hashlib
import os
import urllib.request
from pathlib import Path

from ..io.atomic import atomic_write_bytes

__all__ = ["DatasetError", "data_roots", "cache_dir", "locate", "find_file", "download",
           "file_hash", "verify_file", "verify_bytes"]


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
    """The hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as file:
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


def download(urls, path, md5=None, sha256=None, progress=True):
    """Fetch the first URL of ``urls`` that answers, check its checksum and write it to ``path``
    atomically (the folder is created). Returns ``path``; raises :class:`OSError` (listing the
    URLs tried and why each failed) when none could be fetched."""
    from tqdm.auto import tqdm

    path = Path(path)
    errors = []
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                total = response.headers.get("Content-Length") if response.headers else None
                chunks = []
                with tqdm(total=int(total) if total else None, unit="B", unit_scale=True,
                          desc=path.name, disable=not progress or None, leave=False) as bar:
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


def locate(name, files, root=None, what=None, progress=True):
    """The paths of ``files`` (``{filename: (urls, md5, sha256)}``) for dataset ``name``: found
    in one folder of :func:`data_roots`, or downloaded. Checksums are verified here.

    Offline with no local copy, the :class:`FileNotFoundError` says which files to put where.
    """
    folders = data_roots(name, root)
    for folder in folders:
        if all((folder / filename).exists() for filename in files):
            break
    else:
        folder = Path(root) / name if root is not None else cache_dir(name)
        failures = []
        for filename, (urls, md5, sha256) in files.items():
            if (folder / filename).exists():
                continue
            try:
                download(urls, folder / filename, md5=md5, sha256=sha256, progress=progress)
            except DatasetError:
                raise
            except OSError as error:
                failures.append(str(error))
        if failures:
            wanted = ", ".join(files)
            searched = ", ".join(str(f) for f in folders)
            raise FileNotFoundError(
                f"{what or name}: no local copy and the download failed. Put the files {wanted} "
                f"into the folder {Path('<MINIGRAD_DATA>') / name} and set the environment "
                f"variable MINIGRAD_DATA (or pass root=) to that parent folder. Searched: "
                f"{searched}. Download errors: {' | '.join(failures)}")
    paths = [folder / filename for filename in files]
    for path, (urls, md5, sha256) in zip(paths, files.values()):
        verify_file(path, md5=md5, sha256=sha256)
    return paths
