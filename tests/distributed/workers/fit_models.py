"""The models, data and fit settings shared by the fit workers (run under mpiexec) and the
single-process references the tests compute (imported by path, not a test module)."""

import os

import numpy as np

import minigrad as mg
from minigrad import nn

FEATURES, CLASSES, PER_RANK_BATCH = 5, 3, 4


def data(count, seed=0):
    """``count`` float64 samples of three noisy blobs, and their labels."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, CLASSES, count)
    x = rng.normal(0, 1, (count, FEATURES)) + 2.0 * np.eye(CLASSES, FEATURES)[y]
    return x, y


def model(kind, optimizer, seed=0):
    """A float64 model built from ``seed`` (the same on every rank), compiled; kind "lazy":
    a float32 MLP whose layers are built by fit's first batch."""
    mg.manual_seed(seed)
    if kind == "lazy":
        built = mg.Sequential([nn.Dense(8, activation="tanh"), nn.Dense(CLASSES)])
        built.compile("sgd", nn.losses.SparseCategoricalCrossentropy(from_logits=True))
        return built
    layers = {"mlp": [nn.Dense(8, activation="tanh"), nn.Dense(CLASSES, activation="softmax")],
              "bn": [nn.Dense(6), nn.BatchNormalization(), nn.Activation("relu"),
                     nn.Dense(CLASSES, activation="softmax")],
              "dropout": [nn.Dense(16, activation="relu"), nn.Dropout(0.5),
                          nn.Dense(CLASSES, activation="softmax")]}[kind]
    built = mg.Sequential(layers)
    built.build((None, FEATURES))
    built.to(dtype="float64")
    built.compile(optimizer={"sgd": lambda: mg.optim.SGD(lr=0.1, momentum=0.5),
                             "adam": lambda: mg.optim.Adam(lr=0.01)}[optimizer](),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return built


#: name: (model kind, optimizer, training samples, epochs); with per-rank batch 4, every case
#: takes at least 20 steps on 2 and 3 ranks. 37 samples leave a short last batch (one sample
#: for three ranks: two of them have none). "loader": the data as a DataLoader (unshuffled),
#: whose batches the ranks share out, N at a time; 42 samples end a pass inside a group.
CASES = {"sgd": ("mlp", "sgd", 40, 5), "adam_uneven": ("mlp", "adam", 37, 5),
         "bn": ("bn", "sgd", 40, 2), "dropout": ("dropout", "sgd", 40, 2),
         "loader": ("mlp", "adam", 42, 5), "lazy": ("lazy", "sgd", 40, 1),
         "nan": ("mlp", "sgd", 40, 5)}  # a NaN sample: TerminateOnNaN stops before its step
VALIDATION = 13  # samples: 2 and 3 ranks get uneven parts


def fit(name, batch_size, callbacks=None):
    """Fit case ``name`` with ``batch_size`` per process; returns (model, history)."""
    kind, optimizer, count, epochs = CASES[name]
    x, y = data(count)
    x_val, y_val = data(VALIDATION, seed=1)
    if name == "nan":
        x[17, 2] = np.nan
        callbacks = [mg.train.callbacks.TerminateOnNaN()]
        x = np.concatenate([x, x, x])  # the NaN sample in every epoch: it stops in the first
        y = np.concatenate([y, y, y])
    rank = int(os.environ.get("PMI_RANK", os.environ.get("OMPI_COMM_WORLD_RANK", "0")))
    # "lazy": each rank draws other weights, built in fit: rank 0's must reach every rank
    built = model(kind, optimizer, seed=rank if name == "lazy" else 0)
    if name in ("loader", "lazy"):  # one process: a loader of N*B; N ranks: a loader of B each
        loader = mg.data.DataLoader(mg.data.TensorDataset(x, y), batch_size=batch_size)
        history = built.fit(loader, epochs=epochs, verbose=0, validation_data=(x_val, y_val))
        return built, history
    history = built.fit(x, y, batch_size=batch_size, epochs=epochs, seed=3, verbose=0,
                        validation_data=(x_val, y_val), callbacks=callbacks)
    return built, history


def weights(built):
    """Parameters and buffers by name, as NumPy arrays."""
    return {name: value.numpy().copy() for name, value in built.state_dict().items()}
