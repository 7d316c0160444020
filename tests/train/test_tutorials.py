"""The classic tutorials, written the Keras way, learn on small learnable data (the MNIST MLPs
are in test_fit.py); and each survives save + load_model."""

import numpy as np

import minigrad as mg
from minigrad import nn


def cifar_cnn(input_shape):
    return mg.Sequential([
        nn.Conv2D(32, 3, activation="relu", input_shape=input_shape), nn.MaxPooling2D(),
        nn.Conv2D(64, 3, activation="relu"), nn.MaxPooling2D(),
        nn.Conv2D(64, 3, activation="relu"), nn.Flatten(),
        nn.Dense(64, activation="relu"), nn.Dense(10)])


def imdb_bilstm(vocabulary, length):
    return mg.Sequential([
        nn.Embedding(vocabulary, 16, mask_zero=True, input_length=length),
        nn.Bidirectional(nn.LSTM(16)), nn.Dense(16, activation="relu"),
        nn.Dense(1, activation="sigmoid")])


def test_cifar_cnn_learns_and_reloads(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 64)
    prototypes = rng.random((10, 24, 24, 3))
    images = (prototypes[labels] + rng.normal(0, 0.1, (64, 24, 24, 3))).astype(np.float32)
    model = cifar_cnn((24, 24, 3))
    model.compile(optimizer="adam",
                  loss=mg.nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(images, labels, batch_size=16, epochs=15, verbose=0, seed=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    path = tmp_path / "cnn.safetensors"
    model.save(path)
    np.testing.assert_allclose(mg.load_model(path).predict(images[:8]), model.predict(images[:8]),
                               rtol=1e-5, atol=1e-6)


def test_imdb_bilstm_learns_from_pre_padded_sequences_and_reloads(tmp_path):
    rng = np.random.default_rng(0)
    vocabulary, length, count = 50, 20, 256
    sequences = np.zeros((count, length), dtype=np.int64)
    labels = rng.integers(0, 2, count)
    for i in range(count):
        real = rng.integers(5, length + 1)
        tokens = rng.integers(3, vocabulary, real)
        if labels[i]:
            tokens[rng.integers(0, real)] = 1  # positive reviews contain the token 1
        else:
            tokens[tokens == 1] = 2
        sequences[i, length - real:] = tokens  # Keras's pad_sequences pads in front
    model = imdb_bilstm(vocabulary, length)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(sequences, labels.astype(np.float32)[:, None], batch_size=32, epochs=20,
                        verbose=0, seed=0)
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]
    path = tmp_path / "imdb.safetensors"
    model.save(path)
    restored = mg.load_model(path)
    np.testing.assert_allclose(restored.predict(sequences[:8]), model.predict(sequences[:8]),
                               rtol=1e-5, atol=1e-6)
