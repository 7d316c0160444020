"""IMDB: the real raw reviews (when $MINIGRAD_DATA is set), generated imdb.npz files and
aclImdb trees, and Keras's encoding options checked against a transcription of Keras's code."""

import hashlib
import json
import os
import tarfile

import numpy as np
import pytest

from minigrad.datasets import DatasetError, imdb


def keras_reference(x_train, labels_train, x_test, labels_test, num_words=None, skip_top=0,
                    maxlen=None, seed=113, start_char=1, oov_char=2, index_from=3):
    """keras.datasets.imdb.load_data after reading the npz, transcribed line by line."""
    rng = np.random.RandomState(seed)
    indices = np.arange(len(x_train))
    rng.shuffle(indices)
    x_train, labels_train = x_train[indices], labels_train[indices]
    indices = np.arange(len(x_test))
    rng.shuffle(indices)
    x_test, labels_test = x_test[indices], labels_test[indices]
    if start_char is not None:
        x_train = [[start_char] + [w + index_from for w in x] for x in x_train]
        x_test = [[start_char] + [w + index_from for w in x] for x in x_test]
    elif index_from:
        x_train = [[w + index_from for w in x] for x in x_train]
        x_test = [[w + index_from for w in x] for x in x_test]
    else:
        x_train, x_test = [list(x) for x in x_train], [list(x) for x in x_test]
    if maxlen:
        keep = [i for i, x in enumerate(x_train) if len(x) < maxlen]
        x_train, labels_train = [x_train[i] for i in keep], labels_train[keep]
        keep = [i for i, x in enumerate(x_test) if len(x) < maxlen]
        x_test, labels_test = [x_test[i] for i in keep], labels_test[keep]
    xs = x_train + x_test
    labels = np.concatenate([labels_train, labels_test])
    if not num_words:
        num_words = max(max(x) for x in xs)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
    idx = len(x_train)
    return (xs[:idx], labels[:idx]), (xs[idx:], labels[idx:])


def object_array(lists):
    array = np.empty(len(lists), dtype=object)
    for i, item in enumerate(lists):
        array[i] = item
    return array


def random_reviews(rng, count):
    return object_array([rng.integers(1, 60, rng.integers(1, 12)).tolist() for _ in range(count)])


@pytest.fixture
def fake_npz(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    arrays = {"x_train": random_reviews(rng, 30), "y_train": rng.integers(0, 2, 30),
              "x_test": random_reviews(rng, 20), "y_test": rng.integers(0, 2, 20)}
    (tmp_path / "imdb").mkdir()
    path = tmp_path / "imdb" / "imdb.npz"
    np.savez(path, **arrays)        # object arrays: pickled, as in Keras's file
    monkeypatch.setattr(imdb, "NPZ_SHA256", hashlib.sha256(path.read_bytes()).hexdigest())
    return tmp_path, arrays


# --- generated imdb.npz ---
@pytest.mark.parametrize("options", [
    {}, {"num_words": 20}, {"num_words": 20, "skip_top": 5}, {"maxlen": 8},
    {"oov_char": None, "num_words": 30, "skip_top": 4}, {"start_char": None},
    {"start_char": None, "index_from": 0}, {"seed": 7, "index_from": 5, "oov_char": 3},
])
def test_npz_encoding_matches_keras(fake_npz, options):
    root, arrays = fake_npz
    (x_train, y_train), (x_test, y_test) = imdb.load_data(root=root, **options)
    (rx_train, ry_train), (rx_test, ry_test) = keras_reference(
        arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"], **options)
    assert x_train.dtype == object and x_train.ndim == 1
    assert [list(x) for x in x_train] == rx_train and [list(x) for x in x_test] == rx_test
    np.testing.assert_array_equal(y_train, ry_train)
    np.testing.assert_array_equal(y_test, ry_test)
    assert y_train.dtype == np.int64


def test_maxlen_that_keeps_nothing_is_an_error(fake_npz):
    root, _ = fake_npz
    with pytest.raises(ValueError, match="maxlen=1"):
        imdb.load_data(root=root, maxlen=1)


def test_a_corrupt_npz_is_named(fake_npz):
    root, _ = fake_npz
    path = root / "imdb" / "imdb.npz"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DatasetError, match=r"imdb\.npz is corrupt: its sha256"):
        imdb.load_data(root=root)


class _RunsCode:
    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_malicious_npz_is_refused_and_runs_nothing(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    _RunsCode.marker = marker
    evil = object_array([[1, 2], _RunsCode()])
    (tmp_path / "imdb").mkdir()
    path = tmp_path / "imdb" / "imdb.npz"
    np.savez(path, x_train=evil, y_train=np.zeros(2), x_test=evil, y_test=np.zeros(2))
    monkeypatch.setattr(imdb, "NPZ_SHA256", hashlib.sha256(path.read_bytes()).hexdigest())
    with pytest.raises(DatasetError, match=r"imdb\.npz:x_train\.npy is not a plain data pickle"):
        imdb.load_data(root=tmp_path)
    assert not marker.exists()


def test_no_copy_offline_lists_the_accepted_files(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        imdb.load_data(root=tmp_path)
    message = str(info.value)
    for name in ("imdb.npz", "aclImdb_v1_repack.tar.gz", "aclImdb_v1.tar.gz",
                 "imdb_word_index.json", "MINIGRAD_DATA"):
        assert name in message


# --- generated raw reviews ---
WORDS = {"the": 1, "and": 2, "a": 3, "film": 4, "great": 5, "bad": 6, "don't": 7, "it": 8}
REVIEWS = {
    "train/pos/1_9.txt": "A great film!<br /><br />Don't miss it.",
    "train/pos/0_10.txt": "Great, great, GREAT.",
    "train/neg/0_2.txt": "A bad film (the worst).",
    "test/pos/0_8.txt": "the film",
    "test/neg/0_1.txt": "bad bad",
    "train/unsup/0_0.txt": "not labelled",
}


def write_acl_tree(folder):
    for name, text in REVIEWS.items():
        path = folder / "aclImdb" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (folder / "imdb_word_index.json").write_text(json.dumps(WORDS))


@pytest.fixture
def fake_raw(tmp_path, monkeypatch):
    folder = tmp_path / "imdb"
    write_acl_tree(folder)
    monkeypatch.setattr(imdb, "WORD_INDEX_MD5", hashlib.md5(
        (folder / "imdb_word_index.json").read_bytes()).hexdigest())
    return tmp_path


def expected_raw():
    # order: pos by id, then neg by id; ids = rank + 3; unknown words ("miss", "worst") = 2;
    # "it" (11) is the largest id, and Keras's default num_words (the largest id) excludes it
    train = [[1, 8, 8, 8], [1, 6, 8, 7, 10, 2, 2], [1, 6, 9, 7, 4, 2]]
    test = [[1, 4, 7], [1, 9, 9]]
    return train, [1, 1, 0], test, [1, 0]


def check_raw(x_train, y_train, x_test, y_test, seed=113):
    train, labels_train, test, labels_test = expected_raw()
    rng = np.random.RandomState(seed)
    order = np.arange(3)
    rng.shuffle(order)
    assert list(x_train) == [train[i] for i in order]
    assert y_train.tolist() == [labels_train[i] for i in order]
    order = np.arange(2)
    rng.shuffle(order)
    assert list(x_test) == [test[i] for i in order]
    assert y_test.tolist() == [labels_test[i] for i in order] and y_test.dtype == np.int64


def test_an_extracted_acl_folder_is_tokenized_as_keras(fake_raw):
    (x_train, y_train), (x_test, y_test) = imdb.load_data(root=fake_raw)
    check_raw(x_train, y_train, x_test, y_test)


def test_a_tarball_gives_the_same_and_is_cached(fake_raw, monkeypatch, tmp_path):
    folder = fake_raw / "imdb"
    with tarfile.open(folder / "aclImdb_v1.tar.gz", "w:gz") as archive:
        archive.add(folder / "aclImdb", arcname="aclImdb")
    digest = hashlib.md5((folder / "aclImdb_v1.tar.gz").read_bytes()).hexdigest()
    monkeypatch.setattr(imdb, "TARBALLS", {"aclImdb_v1.tar.gz": digest})
    (x_train, y_train), (x_test, y_test) = imdb.load_data(root=fake_raw, seed=5)
    check_raw(x_train, y_train, x_test, y_test, seed=5)
    cached = list((tmp_path / "cache" / "imdb").glob(f"imdb-ranks-{digest[:16]}-*.npz"))
    assert len(cached) == 1
    with np.load(cached[0], allow_pickle=False) as arrays:  # plain arrays, no pickle
        assert arrays["train_offsets"].tolist() == [0, 3, 9, 14]
    monkeypatch.setattr(imdb, "_parse_raw", None)     # a second load must not parse again
    (again, _), _ = imdb.load_data(root=fake_raw, seed=5)
    assert list(again) == list(x_train)


def test_a_tarball_with_the_wrong_checksum_is_named(fake_raw):
    folder = fake_raw / "imdb"
    (folder / "aclImdb_v1_repack.tar.gz").write_bytes(b"not the repack")
    with pytest.raises(DatasetError, match=r"aclImdb_v1_repack\.tar\.gz is corrupt: its md5"):
        imdb.load_data(root=fake_raw)


def test_raw_reviews_need_the_word_index(fake_raw):
    (fake_raw / "imdb" / "imdb_word_index.json").unlink()
    with pytest.raises(FileNotFoundError, match="needs the word index imdb_word_index.json"):
        imdb.load_data(root=fake_raw)


def test_get_word_index_reads_the_json_and_checks_it(fake_raw, monkeypatch):
    assert imdb.get_word_index(root=fake_raw) == WORDS
    monkeypatch.setattr(imdb, "WORD_INDEX_MD5", "0" * 32)
    with pytest.raises(DatasetError, match="imdb_word_index.json is corrupt"):
        imdb.get_word_index(root=fake_raw)


def test_tokenize_follows_keras_text_to_word_sequence():
    assert imdb.tokenize("Hello,World! It's <br />a 10/10-film.\tReally") == \
        ["hello", "world", "it's", "a", "10", "10", "film", "really"]


# --- the real data ---
@pytest.fixture(scope="session")
def imdb_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("imdb_cache")


def test_real_imdb_from_the_raw_reviews(data_root, imdb_cache, monkeypatch):
    monkeypatch.setenv("MINIGRAD_CACHE", str(imdb_cache))
    (x_train, y_train), (x_test, y_test) = imdb.load_data(root=data_root, num_words=10000)
    assert x_train.shape == (25000,) and x_test.shape == (25000,) and x_train.dtype == object
    assert y_train.dtype == np.int64
    assert np.bincount(y_train).tolist() == [12500, 12500] == np.bincount(y_test).tolist()
    assert max(max(x) for x in x_train) == 9999 and all(x[0] == 1 for x in x_train[:100])
    # train/pos/576_10.txt is review 576 of our order; Keras's first training review is this one,
    # and its first words encode to the same ids as in Keras's imdb.npz
    order = np.arange(25000)
    np.random.RandomState(113).shuffle(order)
    position = int(np.flatnonzero(order == 576)[0])
    assert y_train[position] == 1
    assert x_train[position][:16] == [1, 14, 22, 16, 43, 530, 973, 1622, 1385, 65, 458, 4468,
                                      66, 3941, 4, 173]
    index = {rank + 3: word for word, rank in imdb.get_word_index(root=data_root).items()}
    assert " ".join(index[i] for i in x_train[position][1:8]) == \
        "this film was just brilliant casting location"
