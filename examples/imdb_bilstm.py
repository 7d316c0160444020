"""IMDB movie-review sentiment with the bidirectional LSTM of the TensorFlow text-classification
tutorial: word ids (the 10,000 most frequent words, reviews padded or cut to 256 ids at the
front) -> Embedding(10000, 16, mask_zero) -> Bidirectional(LSTM 64) -> Dense 64 relu ->
Dense 1 sigmoid, Adam, batch 128; about 85-88% test accuracy.

    MINIGRAD_DATA=/path/to/datasets python examples/imdb_bilstm.py
"""

import numpy as np

import minigrad as mg
from _common import load, parse_args, train_and_report
from minigrad import nn

VOCABULARY = 10000
LENGTH = 256


def main(argv=None):
    args = parse_args(argv, __doc__.splitlines()[0], "imdb_bilstm", epochs=3, batch_size=128)
    (x_train, y_train), (x_test, y_test) = load("imdb", args, num_words=VOCABULARY)
    # Lists of word ids of different lengths -> (N, 256) int arrays, zeros in front (the mask).
    x_train = mg.datasets.pad_sequences(x_train, maxlen=LENGTH, padding="pre", truncating="pre")
    x_test = mg.datasets.pad_sequences(x_test, maxlen=LENGTH, padding="pre", truncating="pre")
    y_train = np.asarray(y_train, dtype=np.float32)
    y_test = np.asarray(y_test, dtype=np.float32)

    model = mg.Sequential([
        nn.Embedding(VOCABULARY, 16, mask_zero=True, input_shape=(LENGTH,)),
        nn.Bidirectional(nn.LSTM(64)),
        nn.Dense(64, activation="relu"),
        nn.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.summary()
    return train_and_report(model, args, "imdb_bilstm", x_train, y_train, x_test, y_test)


if __name__ == "__main__":
    main()
