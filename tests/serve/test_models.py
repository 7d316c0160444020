"""Finding saved models on disk and serving loaded ones (minigrad.serve.models)."""

import os

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

from .conftest import make_mlp, requires_serve_extra

requires_serve_extra()

from minigrad.serve.errors import ServeError  # noqa: E402
from minigrad.serve.models import (ModelSet, ServedModel, find_models, load_models,  # noqa: E402
                                    load_served)


def save(path, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    make_mlp(seed=seed).save(path)
    return path


def test_a_model_file_is_served_under_its_name(tmp_path):
    file = save(tmp_path / "digits.safetensors")
    assert find_models(file) == {"digits": {"1": file.resolve()}}
    assert find_models(file, name="mnist") == {"mnist": {"1": file.resolve()}}


def test_a_model_folder_with_versions(tmp_path):
    for version in (1, 2, 10):
        save(tmp_path / "mnist" / str(version) / "model.safetensors", seed=version)
    found = find_models(tmp_path / "mnist")
    assert list(found) == ["mnist"] and list(found["mnist"]) == ["1", "2", "10"]


def test_a_model_folder_with_one_file(tmp_path):
    file = save(tmp_path / "mnist" / "model.safetensors")
    assert find_models(tmp_path / "mnist") == {"mnist": {"1": file.resolve()}}


def test_a_repository_of_folders_and_files(tmp_path):
    save(tmp_path / "repo" / "a" / "1" / "model.safetensors")
    save(tmp_path / "repo" / "b" / "model.safetensors")
    save(tmp_path / "repo" / "c.safetensors")
    save(tmp_path / "repo" / "d.safetensors")
    (tmp_path / "repo" / "notes").mkdir()  # folders without models are ignored
    found = find_models(tmp_path / "repo")
    assert sorted(found) == ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match="renames a single model only"):
        find_models(tmp_path / "repo", name="x")


@pytest.mark.parametrize("make, message", [
    (lambda root: (root / "empty").mkdir(), "no models found"),
    (lambda root: (root / "empty" / "a.txt").parent.mkdir() or
     (root / "empty" / "a.txt").write_text("x"), "no models found"),
])
def test_an_empty_repository_is_an_error(tmp_path, make, message):
    make(tmp_path)
    with pytest.raises(ValueError, match=message):
        find_models(tmp_path / "empty")


def test_a_version_folder_with_two_files_is_an_error(tmp_path):
    save(tmp_path / "m" / "1" / "a.safetensors")
    save(tmp_path / "m" / "1" / "b.safetensors")
    with pytest.raises(ValueError, match=r"exactly one model file .*found 2"):
        find_models(tmp_path / "m")


def test_missing_and_foreign_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.safetensors"):
        find_models(tmp_path / "nothing.safetensors")
    (tmp_path / "model.pkl").write_bytes(b"\x80\x04")
    with pytest.raises(ValueError, match="model.pkl: not a minigrad model file"):
        find_models(tmp_path / "model.pkl")


@pytest.mark.filterwarnings("ignore:save. wrote minigrad's format")
@pytest.mark.parametrize("file_name", ["model.h5", "model.keras", "model"])
def test_every_file_save_writes_is_served_whatever_its_name(tmp_path, file_name):
    file = save(tmp_path / "dir" / file_name)
    assert find_models(file) == {"model": {"1": file.resolve()}}
    assert find_models(tmp_path / "dir") == {"dir": {"1": file.resolve()}}
    (tmp_path / "repository" / "digits").mkdir(parents=True)
    file.rename(tmp_path / "repository" / "digits" / file_name)
    save(tmp_path / "repository" / "other.safetensors")
    (tmp_path / "repository" / "notes.txt").write_text("not a model")
    found = find_models(tmp_path / "repository")
    assert set(found) == {"digits", "other"}
    served = {m.name: m for m in load_models(tmp_path / "repository")}
    assert set(served) == {"digits", "other"} and served["digits"].version == "1"


@pytest.mark.filterwarnings("ignore:save_weights. wrote minigrad's format")
def test_weights_files_and_foreign_content_are_not_models(tmp_path):
    make_mlp().save_weights(tmp_path / "weights.bin")
    with pytest.raises(ValueError, match="not a minigrad model file"):
        find_models(tmp_path / "weights.bin")
    (tmp_path / "model.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    with pytest.raises(ValueError, match="model.h5: not a minigrad model file"):
        find_models(tmp_path / "model.h5")


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_a_link_leading_outside_the_served_path_is_refused(tmp_path):
    outside = save(tmp_path / "elsewhere" / "secret.safetensors")
    (tmp_path / "repo" / "m").mkdir(parents=True)
    (tmp_path / "repo" / "m" / "model.safetensors").symlink_to(outside)
    with pytest.raises(ValueError, match="leads outside"):
        find_models(tmp_path / "repo")


def test_a_corrupt_file_is_refused_at_load(tmp_path):
    file = save(tmp_path / "m.safetensors")
    file.write_bytes(file.read_bytes()[:-10])
    with pytest.raises(mg.io.ModelFileError, match="m.safetensors"):
        load_models(file)


def test_served_model_describes_its_tensors_and_predicts_as_the_model(tmp_path):
    model = make_mlp()
    served = ServedModel("tiny", "1", model)
    assert served.input.metadata() == {"name": "input", "datatype": "FP32", "shape": [-1, 4]}
    assert served.output.metadata() == {"name": "output", "datatype": "FP32", "shape": [-1, 3]}
    x = np.random.default_rng(0).random((5, 4), dtype=np.float32)
    np.testing.assert_array_equal(served.predict(x), model.predict(x))


def test_a_text_model_takes_int64_token_ids():
    mg.manual_seed(0)
    model = mg.Sequential([nn.Embedding(50, 4, input_shape=(7,)), nn.Flatten(), nn.Dense(1)])
    served = ServedModel("text", "1", model)
    assert served.input.metadata() == {"name": "input", "datatype": "INT64", "shape": [-1, 7]}
    assert served.output.shape == [-1, 1]


def test_an_unbuilt_model_cannot_be_served():
    with pytest.raises(ValueError, match="has not been built"):
        ServedModel("m", "1", mg.Sequential([nn.Dense(2)]))


def test_model_set_picks_the_highest_version_and_names_what_exists(tmp_path):
    models = ModelSet([ServedModel("m", v, make_mlp(seed=int(v))) for v in ("1", "2", "10")])
    assert models.get("m").version == "10"
    assert models.get("m", "2").version == "2"
    with pytest.raises(ServeError, match="has no version '3'; it has 1, 2, 10") as error:
        models.get("m", "3")
    assert error.value.status == 404
    with pytest.raises(ServeError, match="unknown model 'x'; this server has 'm'"):
        models.get("x")


def test_load_models_from_a_dict_of_models_and_paths(tmp_path):
    file = save(tmp_path / "saved.safetensors", seed=3)
    served = load_models({"memory": make_mlp(), "disk": file})
    assert sorted((m.name, m.version) for m in served) == [("disk", "1"), ("memory", "1")]


def test_a_model_of_any_sequence_length_is_served_with_a_free_time_axis(tmp_path):
    model = mg.Sequential([mg.nn.Embedding(20, 4, input_shape=(None,)), mg.nn.LSTM(3)])
    model.predict(np.ones((1, 4), np.int64), verbose=0)
    model.save(tmp_path / "model.safetensors")
    served = load_served("seq", "1", tmp_path / "model.safetensors")
    assert served.input.shape == [-1, -1]
    for steps in (2, 7):
        ids = np.ones((2, steps), np.int64)
        np.testing.assert_allclose(served.predict(ids), model.predict(ids, verbose=0),
                                   rtol=1e-6)
