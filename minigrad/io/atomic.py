"""Writing a file so that a crash never leaves it half-written."""

import os
import tempfile


def atomic_write_bytes(path, data):
    """Write ``data`` to ``path`` atomically: into a temporary file in the same folder, flushed
    to disk, then renamed over ``path``. A crash before the rename leaves the previous file (if
    any) intact; readers never see a partial file."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save {path!r}: the folder {folder!r} does not exist")
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".minigrad-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        directory = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(directory)
    except OSError:
        pass
    finally:
        os.close(directory)
