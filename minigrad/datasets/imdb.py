"""IMDB movie-review sentiment (Maas et al., 2011), encoded as Keras's ``imdb.load_data`` does.

Sources, in order of preference, in ``<root>/imdb/`` (``root`` defaults to ``$MINIGRAD_DATA``)
or the cache:

1. Keras's ``imdb.npz`` (word ranks per review). Its arrays of lists are pickles, so they are
   read with the restricted unpickler of :mod:`minigrad.datasets.safe_pickle`
   (NumPy's own pickle loading is never switched on).
2. The raw reviews: ``aclImdb_v1_repack.tar.gz`` (the team's deterministic repack),
   ``aclImdb_v1.tar.gz`` (the canonical tarball) or an extracted ``aclImdb/`` folder, together
   with ``imdb_word_index.json``. Each review is tokenized as Keras's text preprocessing does
   (``<br />`` removed, lowercased, punctuation ``!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~`` removed,
   split on whitespace; apostrophes kept) and each word replaced by its rank in the word index.
   Words not in the index become ``oov_char``. Reviews are ordered by split, positive before
   negative, then by file id (``train/pos/0_9.txt`` first); Keras's seeded shuffle follows.

   The result is close to, but not byte-identical with, Keras's ``imdb.npz``: the tokenization
   and the review order that produced that file are not published and cannot be reproduced
   from the raw text. The same seed therefore gives a different (equally random) order.

   Parsing 50,000 reviews takes a while, so the ranks are cached in the cache folder as an
   ``.npz`` of flat integer arrays (``allow_pickle=False``), keyed by the source's checksum.

With no local copy, ``imdb.npz`` is downloaded (``imdb_word_index.json`` too, for
:func:`get_word_index`).
"""

import hashlib
import io
import json
import re
import zipfile
import zlib

import numpy as np

from ..io.atomic import atomic_write_bytes
from ..io.regular_file import UnreadableFileError, read_regular_file
from .archives import tar_members
from .files import DatasetError, cache_dir, data_roots, locate, verify_file
from .safe_pickle import safe_loads

BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
NPZ = "imdb.npz"
#: sha256 of Keras's ``imdb.npz``.
NPZ_SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX = "imdb_word_index.json"
WORD_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"
#: The raw-review tarballs accepted, with their md5 sums.
TARBALLS = {
    "aclImdb_v1_repack.tar.gz": "251d0b173a1295e3b4d1e57bae237a96",
    "aclImdb_v1.tar.gz": "7c2ac02c03563afcf9b574c7e56c153a",
}
FOLDER = "aclImdb"
#: The largest review file read (the longest IMDB review has about 14 KB).
MAX_REVIEW_BYTES = 2 ** 20
#: Bumped whenever the tokenization changes, so that old caches are not used.
TOKENIZER_VERSION = 1

_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_TABLE = str.maketrans(_FILTERS, " " * len(_FILTERS))
_REVIEW = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")


def tokenize(text):
    """The words of a review as Keras's ``text_to_word_sequence`` splits them, after removing
    the ``<br />`` line breaks of the IMDB reviews.

    >>> mg.datasets.imdb.tokenize("A great film!<br /><br />Don't miss it.")
    ['a', 'great', 'film', "don't", 'miss', 'it']
    """
    return text.replace("<br />", " ").lower().translate(_TABLE).split()


def get_word_index(root=None, download=True):
    """The word index, ``{word: rank}`` with rank 1 for the most frequent word ("the"), read
    from ``imdb_word_index.json`` (md5-checked) as Keras's ``imdb.get_word_index()``.

    In the sequences of :func:`load_data` a word of rank ``r`` is ``r + index_from``.
    ``download=False`` (or the environment variable ``MINIGRAD_OFFLINE=1``) never downloads:
    a missing file is a FileNotFoundError saying which files to put where.
    """
    (path,) = locate("imdb", {WORD_INDEX: ([BASE_URL + WORD_INDEX], WORD_INDEX_MD5, None)},
                     root, "the IMDB word index", download=download)
    with open(path, encoding="utf-8") as file:
        return json.load(file)


# --- reading the sources: each gives {"train"/"test": (ranks, offsets, labels)} ---
def _pack(sequences):
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    ranks = np.fromiter((w for s in sequences for w in s), dtype=np.int32, count=int(offsets[-1]))
    return ranks, offsets


def _read_npy_member(archive, name, what):
    data = archive.read(name)
    file = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(file)
        header = np.lib.format.read_array_header_1_0 if version == (1, 0) \
            else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = header(file)
    except ValueError as error:
        raise DatasetError(f"{what} is not a .npy array: {error}") from error
    if not dtype.hasobject:
        return np.load(io.BytesIO(data), allow_pickle=False)
    array = safe_loads(file.read(), what, encoding="latin1")
    if not isinstance(array, np.ndarray) or array.shape != shape:
        raise DatasetError(f"{what} should hold an array of shape {shape}, got "
                           f"{type(array).__name__}")
    return array


def _read_npz(path):
    """Keras's imdb.npz: x_train/x_test arrays of lists of ranks, y_train/y_test labels."""
    try:
        with zipfile.ZipFile(path) as archive:
            arrays = {key: _read_npy_member(archive, key + ".npy", f"{path}:{key}.npy")
                      for key in ("x_train", "y_train", "x_test", "y_test")}
    except (zipfile.BadZipFile, KeyError, zlib.error, EOFError) as error:
        raise DatasetError(f"{path} is not a readable imdb.npz: {error}") from error
    splits = {}
    for split in ("train", "test"):
        x, y = arrays["x_" + split], arrays["y_" + split]
        if len(x) != len(y):
            raise DatasetError(f"{path}: x_{split} has {len(x)} reviews but y_{split} has "
                               f"{len(y)} labels")
        ranks, offsets = _pack([list(map(int, s)) for s in x])
        splits[split] = ranks, offsets, np.asarray(y)
    return splits


def _reviews(source):
    """(split, label, id, text) for every labelled review of a tarball or aclImdb/ folder.
    Each review is checked to be a regular file of at most :data:`MAX_REVIEW_BYTES` first."""
    if source.is_dir():
        for path in source.glob("*/*/*.txt"):
            match = _REVIEW.search(path.relative_to(source.parent).as_posix())
            if match:
                try:
                    data = read_regular_file(path, MAX_REVIEW_BYTES)
                except UnreadableFileError as error:
                    raise DatasetError(f"{error} (expected a review)") from None
                yield match[1], match[2], int(match[3]), _text(data, path)
        return
    for member, data in tar_members(source, _REVIEW.search, MAX_REVIEW_BYTES):
        match = _REVIEW.search(member.name)
        yield match[1], match[2], int(match[3]), _text(data, f"{source}:{member.name}")


def _text(data, what):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DatasetError(f"{what} is not UTF-8 text: {error}") from None


def _parse_raw(source, word_index):
    found = {(split, label): {} for split in ("train", "test") for label in ("pos", "neg")}
    get = word_index.get
    for split, label, number, text in _reviews(source):
        found[split, label][number] = [get(word, 0) for word in tokenize(text)]
    splits = {}
    for split in ("train", "test"):
        sequences, labels = [], []
        for label, value in (("pos", 1), ("neg", 0)):
            reviews = found[split, label]
            if not reviews:
                raise DatasetError(f"{source} has no reviews in {FOLDER}/{split}/{label}/")
            sequences += [reviews[number] for number in sorted(reviews)]
            labels += [value] * len(reviews)
        ranks, offsets = _pack(sequences)
        splits[split] = ranks, offsets, np.array(labels, dtype=np.int64)
    return splits


def _folder_key(folder):
    digest = hashlib.md5()
    for path in sorted(folder.glob("*/*/*.txt")):
        digest.update(f"{path.relative_to(folder)}:{path.stat().st_size}\n".encode())
    return digest.hexdigest()


def _cached_raw(source, source_key, word_index_path):
    """The parsed raw reviews, from the cache when a cache for this source exists."""
    path = cache_dir("imdb") / (f"imdb-ranks-{source_key[:16]}-{WORD_INDEX_MD5[:8]}"
                                f"-v{TOKENIZER_VERSION}.npz")
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as cached:
                return {split: tuple(cached[f"{split}_{part}"] for part in
                                     ("ranks", "offsets", "labels"))
                        for split in ("train", "test")}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            pass  # a damaged cache is rebuilt
    with open(word_index_path, encoding="utf-8") as file:
        splits = _parse_raw(source, json.load(file))
    buffer = io.BytesIO()
    np.savez(buffer, **{f"{split}_{part}": array for split, arrays in splits.items()
                        for part, array in zip(("ranks", "offsets", "labels"), arrays)})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buffer.getvalue())
    except OSError:
        pass  # a read-only cache only costs time
    return splits


def _load_splits(root, download):
    for folder in data_roots("imdb", root):
        if (folder / NPZ).exists():
            verify_file(folder / NPZ, sha256=NPZ_SHA256)
            return _read_npz(folder / NPZ)
        raw = [folder / name for name in TARBALLS if (folder / name).exists()]
        if not raw and (folder / FOLDER).is_dir():
            raw = [folder / FOLDER]
        if raw:
            source = raw[0]
            index = folder / WORD_INDEX
            if not index.exists():
                raise FileNotFoundError(f"{source} needs the word index {WORD_INDEX} next to it "
                                        f"in {folder} (from {BASE_URL + WORD_INDEX})")
            verify_file(index, md5=WORD_INDEX_MD5)
            if source.is_dir():
                key = _folder_key(source)
            else:
                verify_file(source, md5=TARBALLS[source.name])
                key = TARBALLS[source.name]
            return _cached_raw(source, key, index)
    (path,) = locate("imdb", {NPZ: ([BASE_URL + NPZ], None, NPZ_SHA256)}, root,
                     f"IMDB (the files {NPZ}, or {', '.join(TARBALLS)} or {FOLDER}/ with "
                     f"{WORD_INDEX})", download=download)
    return _read_npz(path)


# --- Keras's encoding ---
def load_data(root=None, num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1,
              oov_char=2, index_from=3, download=True):
    """The IMDB reviews as sequences of word ids, as Keras's ``imdb.load_data()``.

    Returns ``(x_train, y_train), (x_test, y_test)``: ``x`` 1-D object arrays of 25,000 lists
    of ints, ``y`` int64 arrays of 0 (negative) / 1 (positive). Each review is
    ``[start_char] + [rank + index_from, ...]``, shuffled with ``np.random.RandomState(seed)``.

    num_words: keep the ``num_words - 1`` most frequent ids; rarer words become ``oov_char``
    (dropped when ``oov_char`` is None). skip_top: ids below it become ``oov_char`` too (the
    most frequent words, and the ``start_char`` itself, as in Keras). maxlen: drop reviews with
    ``maxlen`` or more ids. Words missing from the word index become ``oov_char`` as well.

    See the module documentation for where the data comes from and how the encoding from the
    raw reviews relates to Keras's ``imdb.npz``. Pad the lists with :func:`pad_sequences
    <minigrad.datasets.pad_sequences>`.
    ``download=False`` (or the environment variable ``MINIGRAD_OFFLINE=1``) never downloads:
    a missing file is a FileNotFoundError saying which files to put where.
    """
    splits = _load_splits(root, download)
    rng = np.random.RandomState(seed)
    prepared = {}
    for split in ("train", "test"):     # Keras shuffles train, then test, with one generator
        ranks, offsets, labels = splits[split]
        order = np.arange(len(labels))
        rng.shuffle(order)
        prepared[split] = _encode(ranks, offsets, order, start_char, index_from, oov_char, maxlen)
        prepared[split] = prepared[split] + (np.asarray(labels)[order][prepared[split][2]],)
    if maxlen and any(len(prepared[s][3]) == 0 for s in prepared):
        raise ValueError(f"after filtering for sequences shorter than maxlen={maxlen}, no "
                         "sequence was kept; increase maxlen")
    if not num_words:
        num_words = max(int(prepared[s][0].max(initial=0)) for s in prepared)
    result = []
    for split in ("train", "test"):
        ids, offsets, _, labels = prepared[split]
        keep = (ids >= skip_top) & (ids < num_words)
        if oov_char is not None:
            ids = np.where(keep, ids, oov_char)
        else:
            ids, offsets = ids[keep], np.concatenate([[0], np.cumsum(keep)])[offsets]
        x = np.empty(len(offsets) - 1, dtype=object)
        bounds = offsets.tolist()
        for i in range(len(x)):
            x[i] = ids[bounds[i]:bounds[i + 1]].tolist()
        result.append((x, labels))
    return tuple(result)


def _encode(ranks, offsets, order, start_char, index_from, oov_char, maxlen):
    """Flat ids and offsets of the reviews in ``order``: ranks shifted by ``index_from``, words
    outside the index (rank 0) as ``oov_char`` or dropped, ``start_char`` in front; and the
    mask of the reviews kept by ``maxlen``."""
    ranks = np.asarray(ranks, dtype=np.int64)
    offsets = np.asarray(offsets, dtype=np.int64)
    starts, lengths = offsets[:-1][order], np.diff(offsets)[order]
    review = np.repeat(np.arange(len(lengths)), lengths)       # the review of each word
    first = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    words = ranks[np.repeat(starts - first, lengths) + np.arange(len(review))]
    ids = np.where(words > 0, words + (index_from or 0), -1)
    if oov_char is not None:
        ids[ids < 0] = oov_char
    else:
        keep = ids >= 0
        ids, review = ids[keep], review[keep]
        lengths = np.bincount(review, minlength=len(lengths))
    if start_char is not None:             # one start_char before each review's words
        position = np.arange(len(ids)) + review + 1
        with_start = np.full(len(ids) + len(lengths), start_char, dtype=np.int64)
        with_start[position] = ids
        ids, lengths = with_start, lengths + 1
    kept = lengths < maxlen if maxlen else np.ones(len(lengths), dtype=bool)
    if not kept.all():
        ids, lengths = ids[np.repeat(kept, lengths)], lengths[kept]
    return ids, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64), kept
