"""model.save under other frameworks' names: the file is minigrad's format, written where
asked, read back by load_model and ModelCheckpoint, with one warning that says so."""

import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.train import saving


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(saving, "_warned_suffixes", set())


def compiled_model():
    model = mg.Sequential([nn.Dense(4, activation="relu", input_shape=(3,)), nn.Dense(2)])
    model.compile("adam", "mse")
    return model


@pytest.mark.parametrize("name, says", [
    ("model.h5", "not HDF5"), ("model.hdf5", "not HDF5"), ("model.keras", "not a .keras"),
    ("model.pt", "not a PyTorch pickle"), ("model", "has no suffix"), ("model.bin", "to '"),
])
def test_a_foreign_name_is_written_loaded_and_warned_about_once(tmp_path, name, says):
    model = compiled_model()
    path = tmp_path / name
    with pytest.warns(UserWarning, match=rf"{says}.*name it '.*model\.safetensors'"):
        model.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.save(path)  # once per suffix
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(mg.load_model(path).predict(x), model.predict(x))


def test_safetensors_names_are_silent_and_weights_are_checked_too(tmp_path):
    model = compiled_model()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.save(tmp_path / "model.safetensors")
        model.save_weights(tmp_path / "model.weights.safetensors")
    with pytest.warns(UserWarning, match=r"save_weights: .*not HDF5"):
        model.save_weights(tmp_path / "model.weights.h5")
    model.load_weights(tmp_path / "model.weights.h5")


def test_model_checkpoint_with_a_keras_file_name(tmp_path):
    model = compiled_model()
    x, y = np.ones((8, 3), np.float32), np.zeros((8, 2), np.float32)
    checkpoint = mg.train.callbacks.ModelCheckpoint(str(tmp_path / "ckpt-{epoch:02d}.h5"))
    with pytest.warns(UserWarning, match="not HDF5"):
        model.fit(x, y, epochs=2, verbose=0, callbacks=[checkpoint])
    for epoch in (1, 2):
        assert mg.load_model(tmp_path / f"ckpt-{epoch:02d}.h5").predict(x).shape == (8, 2)
