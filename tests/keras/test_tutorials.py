"""The classic Keras tutorials, written against ``tf.keras`` (tests/keras/tutorials/), run
through ``minigrad.keras`` with exactly two textual changes -- ``import tensorflow as tf`` ->
``from minigrad import keras`` and ``tf.keras.`` -> ``keras.`` -- and learn.

Only the data is cut small: ``keras.datasets.<name>.load_data`` is replaced for the test by a few
hundred or thousand samples, real MNIST where ``$MINIGRAD_DATA`` holds it, otherwise learnable
synthetic data of the same shapes and dtypes (CIFAR-10 and IMDB always synthetic: a few hundred
real images or reviews do not show learning within a test's time, and reading the raw IMDB
archive alone takes minutes)."""

import os
import re
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad import keras

TUTORIALS = Path(__file__).parent / "tutorials"


def translated(name):
    """The tutorial's source with the two changes a user makes, and nothing else."""
    source = (TUTORIALS / f"{name}.py").read_text()
    assert source.count("import tensorflow as tf\n") == 1
    result = source.replace("import tensorflow as tf\n", "from minigrad import keras\n")
    result = result.replace("tf.keras.", "keras.")
    code = [line for line in result.splitlines() if not line.lstrip().startswith("#")]
    assert not re.search(r"\btf\.", "\n".join(code)), "the tutorial uses tf. beyond tf.keras."
    return result


def run(name, tmp_path, monkeypatch):
    """Run the translated tutorial as a script in ``tmp_path``; returns its globals."""
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__main__"}
    exec(compile(translated(name), str(TUTORIALS / f"{name}.py"), "exec"), namespace)
    return namespace


def prototypes(count, shape, classes, seed, noise=40):
    """uint8 images: a random prototype per class plus noise (learnable in a few epochs)."""
    rng = np.random.default_rng(seed)
    centers = rng.integers(0, 256, (classes, *shape))
    labels = rng.integers(0, classes, count).astype(np.uint8)
    images = centers[labels] + rng.normal(0, noise, (count, *shape))
    return np.clip(images, 0, 255).astype(np.uint8), labels


def small_mnist(train, test):
    # keras.datasets.mnist *is* mg.datasets.mnist (no copies): keep the real loader before the
    # test patches it, or this would call itself.
    real_load_data = mg.datasets.mnist.load_data

    def load_data(*args, **kwargs):
        root = os.environ.get("MINIGRAD_DATA")
        if root and (Path(root) / "mnist").is_dir():
            (x, y), (xt, yt) = real_load_data(root=root, download=False)
            return (x[:train], y[:train]), (xt[:test], yt[:test])
        x, y = prototypes(train + test, (28, 28), 10, seed=0)
        return (x[:train], y[:train]), (x[train:], y[train:])
    return load_data


def small_cifar10(train, test):
    def load_data(*args, **kwargs):
        x, y = prototypes(train + test, (32, 32, 3), 10, seed=1, noise=25)
        y = y[:, None]  # Keras's CIFAR-10 labels are (N, 1)
        return (x[:train], y[:train]), (x[train:], y[train:])
    return load_data


def small_imdb(train, test):
    def load_data(num_words=None, **kwargs):
        rng = np.random.default_rng(2)

        def reviews(count):
            labels = rng.integers(0, 2, count)
            sequences = []
            for label in labels:
                # Mostly words of the review's own sentiment, some shared ones.
                words = rng.integers(40, 70, rng.integers(10, 30)) if label else \
                    rng.integers(70, 100, rng.integers(10, 30))
                words[rng.integers(0, len(words), 4)] = rng.integers(4, 40, 4)
                sequences.append([1] + words.tolist())  # 1 starts a review, as in Keras
            return np.array(sequences, dtype=object), labels.astype(np.int64)

        return reviews(train), reviews(test)
    return load_data


def test_translation_changes_only_the_import_and_the_prefix():
    source = (TUTORIALS / "mnist_mlp.py").read_text().splitlines()
    result = translated("mnist_mlp").splitlines()
    changed = [(a, b) for a, b in zip(source, result) if a != b]
    assert len(source) == len(result)
    assert all(a.replace("tf.keras.", "keras.") == b or
               (a, b) == ("import tensorflow as tf", "from minigrad import keras")
               for a, b in changed)


def test_mnist_mlp_512_512_10(tmp_path, monkeypatch):
    monkeypatch.setattr(keras.datasets.mnist, "load_data", small_mnist(512, 256))
    result = run("mnist_mlp", tmp_path, monkeypatch)
    history = result["history"].history
    assert result["y_train"].shape == (512, 10)
    assert history["loss"][-1] < 0.2 * history["loss"][0]
    assert result["score"][1] > 0.75 and history["val_accuracy"][-1] > 0.75


def test_mnist_quickstart_flatten_128_dropout_10(tmp_path, monkeypatch):
    monkeypatch.setattr(keras.datasets.mnist, "load_data", small_mnist(640, 128))
    result = run("mnist_quickstart", tmp_path, monkeypatch)
    history = result["history"].history
    assert history["loss"][-1] < 0.5 * history["loss"][0] and history["accuracy"][-1] > 0.8
    probabilities = result["probabilities"].numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_cifar10_cnn(tmp_path, monkeypatch):
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", small_cifar10(160, 64))
    result = run("cifar10_cnn", tmp_path, monkeypatch)
    history = result["history"].history
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert result["test_acc"] > 0.5 and "val_accuracy" in history


def test_imdb_functional_bidirectional_lstm(tmp_path, monkeypatch):
    monkeypatch.setattr(keras.datasets.imdb, "load_data", small_imdb(128, 64))
    result = run("imdb_bilstm", tmp_path, monkeypatch)
    assert type(result["model"]).__name__ == "Functional"
    assert result["x_train"].shape == (128, 200)
    history = result["history"].history
    assert history["loss"][-1] < history["loss"][0] and history["val_accuracy"][-1] > 0.75


def test_dense_classifier_with_validation_data_and_save(tmp_path, monkeypatch):
    monkeypatch.setattr(keras.datasets.mnist, "load_data", small_mnist(400, 200))
    # The tutorial saves as "my_model.keras": minigrad writes its own format and says so (once
    # per suffix and process: forget earlier tests' warnings).
    monkeypatch.setattr(mg.train.saving, "_warned_suffixes", set())
    with pytest.warns(UserWarning, match=r"wrote minigrad's format .* to 'my_model.keras', not "
                                         r"a .keras archive"):
        result = run("dense_save_load", tmp_path, monkeypatch)
    history = result["history"].history
    assert history["loss"][-1] < 0.3 * history["loss"][0]
    assert history["val_sparse_categorical_accuracy"][-1] > 0.8
    assert (tmp_path / "my_model.keras").is_file()
    np.testing.assert_allclose(result["acc"], history["val_sparse_categorical_accuracy"][-1],
                               rtol=1e-6)
    np.testing.assert_allclose(result["new_model"].predict(result["test_images"][:16]),
                               result["model"].predict(result["test_images"][:16]), rtol=1e-6)
