"""CIFAR-10 (Krizhevsky, 2009): 60,000 32x32 colour images in 10 classes, from the "python
version" tarball, unpickled with a restricted unpickler (a tampered file cannot run code)."""

import os
from pathlib import Path

import numpy as np

from ..io.regular_file import UnreadableFileError, read_regular_file
from .archives import tar_members
from .files import DatasetError, data_roots, locate, verify_bytes
from .safe_pickle import safe_loads

URLS = ["https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]
TARBALL = "cifar-10-python.tar.gz"
#: md5 of the canonical tarball (checked on download).
TARBALL_MD5 = "c58f30108f718f92721af3b95e74349a"
FOLDER = "cifar-10-batches-py"

#: The published md5 of each member file, checked on every load (so a repacked tarball with
#: the same members is accepted, and a corrupted member is not).
MEMBERS = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}

#: The largest member file read (a batch of 10,000 images is about 31 MB): a tarball or
#: folder whose member claims more is refused before the member is read.
MAX_MEMBER_BYTES = 40 * 2 ** 20

#: The class names, by label.
CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck"]


def _read_members(source):
    """{member name: bytes} for the files of :data:`MEMBERS`, from the tarball or the extracted
    folder ``source``. Each is checked to be a regular file of at most
    :data:`MAX_MEMBER_BYTES` before it is read (its md5 can only be checked afterwards)."""
    found = {}
    if source.is_dir():
        for name in MEMBERS:
            path = source / name
            if os.path.lexists(path):
                try:
                    found[name] = (read_regular_file(path, MAX_MEMBER_BYTES), str(path))
                except UnreadableFileError as error:
                    raise DatasetError(f"{error} (expected a CIFAR-10 batch file)") from None
        return found
    for member, data in tar_members(source, lambda name: name.rsplit("/", 1)[-1] in MEMBERS,
                                    MAX_MEMBER_BYTES):
        name = member.name.rsplit("/", 1)[-1]
        if name in found:
            raise DatasetError(f"{source} holds {name} twice ({found[name][1]} and "
                               f"{member.name})")
        found[name] = (data, f"{source}:{member.name}")
    return found


def _batch(data, what):
    """(images (N, 32, 32, 3) uint8, labels (N,) uint8) from one batch pickle."""
    batch = safe_loads(data, what)
    if not isinstance(batch, dict):
        raise DatasetError(f"{what} holds a {type(batch).__name__}, expected a dict")
    batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    try:
        pixels, labels = batch["data"], batch["labels"]
    except KeyError as error:
        raise DatasetError(f"{what} has no {error} entry (keys: {sorted(batch)})") from None
    pixels = np.asarray(pixels)
    labels = np.asarray(labels)
    if pixels.dtype != np.uint8 or pixels.ndim != 2 or pixels.shape[1] != 3072 \
            or labels.shape != (len(pixels),):
        raise DatasetError(f"{what} holds data {pixels.dtype} {pixels.shape} and labels "
                           f"{labels.shape}; expected uint8 (N, 3072) and (N,)")
    images = pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, labels.astype(np.uint8)


def _source(root, download):
    for folder in data_roots("cifar10", root):
        if (folder / TARBALL).exists():
            return folder / TARBALL
        if (folder / FOLDER).is_dir():
            return folder / FOLDER
    (path,) = locate("cifar10", {TARBALL: (URLS, TARBALL_MD5, None)}, root, "CIFAR-10",
                     download=download)
    return path


def load_data(root=None, download=True):
    """CIFAR-10, as Keras's ``cifar10.load_data()`` returns it.

    Returns ``(x_train, y_train), (x_test, y_test)``: uint8 images in channels-last layout,
    ``(50000, 32, 32, 3)`` and ``(10000, 32, 32, 3)``; uint8 labels 0..9 of shape ``(50000, 1)``
    and ``(10000, 1)`` (see :data:`CLASS_NAMES`).

    Reads ``<root>/cifar10/cifar-10-python.tar.gz`` (the canonical tarball or a repack with the
    same member files) or the extracted ``<root>/cifar10/cifar-10-batches-py/`` folder; ``root``
    defaults to ``$MINIGRAD_DATA``, then the cache; otherwise downloads the tarball. Each of the
    seven member files is checked against its published md5.
    ``download=False`` (or the environment variable ``MINIGRAD_OFFLINE=1``) never downloads:
    a missing file is a FileNotFoundError saying which files to put where.
    """
    source = Path(_source(root, download))
    members = _read_members(source)
    missing = [name for name in MEMBERS if name not in members]
    if missing:
        raise DatasetError(f"{source} lacks {', '.join(missing)} (expected {FOLDER}/ with "
                           f"{', '.join(MEMBERS)})")
    for name, (data, what) in members.items():
        verify_bytes(data, what, md5=MEMBERS[name])
    train = [_batch(*members[f"data_batch_{i}"]) for i in range(1, 6)]
    x_train = np.ascontiguousarray(np.concatenate([images for images, _ in train]))
    y_train = np.concatenate([labels for _, labels in train]).reshape(-1, 1)
    x_test, y_test = _batch(*members["test_batch"])
    return (x_train, y_train), (np.ascontiguousarray(x_test), y_test.reshape(-1, 1))
