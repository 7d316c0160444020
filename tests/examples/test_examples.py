"""Smoke tests of the dataset examples: each trains one epoch on the first 256 samples, writes
its model file (and its training-curve PNG when matplotlib is installed) and returns a test
accuracy in [0, 1]. The full runs and their accuracies are in examples/README.md."""

import importlib.util
import math
from pathlib import Path

import pytest

import minigrad as mg

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _load(name, monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))   # the examples import their _common helper
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _has_matplotlib():
    return importlib.util.find_spec("matplotlib") is not None


@pytest.mark.parametrize("name, dataset", [
    ("mnist_mlp", "mnist"),
    ("mnist_dropout", "mnist"),
    ("cifar10_cnn", "cifar10"),
    ("imdb_bilstm", "imdb"),
])
def test_example_trains_saves_and_reports_accuracy(name, dataset, data_root, tmp_path,
                                                   monkeypatch, capsys):
    pytest.importorskip(f"minigrad.datasets.{dataset}",
                        reason=f"minigrad.datasets.{dataset} (the loader) is not there yet")
    accuracy = _load(name, monkeypatch).main([
        "--data-dir", str(data_root), "--limit", "256", "--epochs", "1",
        "--output-dir", str(tmp_path), "--seed", "0"])

    assert isinstance(accuracy, float) and math.isfinite(accuracy)
    assert 0.0 <= accuracy <= 1.0
    assert (tmp_path / f"{name}.safetensors").stat().st_size > 0
    restored = mg.load_model(tmp_path / f"{name}.safetensors")
    assert restored.count_params() > 0
    assert (tmp_path / f"{name}.png").exists() == _has_matplotlib()
    out = capsys.readouterr().out
    assert "Epoch 1/1" in out and "test accuracy" in out


def test_dataset_example_without_data_says_where_to_put_it(tmp_path, monkeypatch):
    pytest.importorskip("minigrad.datasets.mnist")
    monkeypatch.setattr("minigrad.datasets.files.download", _offline)
    monkeypatch.setenv("MINIGRAD_CACHE", str(tmp_path / "cache"))   # no cached copy either
    with pytest.raises(SystemExit, match="MINIGRAD_DATA"):
        _load("mnist_mlp", monkeypatch).main(["--data-dir", str(tmp_path / "nothing"),
                                              "--limit", "8", "--output-dir", str(tmp_path)])


def _offline(*args, **kwargs):
    raise OSError("no network (test)")


def test_linear_regression_reaches_the_least_squares_solution(capsys):
    error = _load_plain("linear_regression").main([])
    assert error <= 1e-4
    assert "least squares" in capsys.readouterr().out


def test_linear_regression_fails_loudly_when_it_has_not_converged():
    with pytest.raises(SystemExit, match="did not reach"):
        _load_plain("linear_regression").main(["--steps", "5"])


def _load_plain(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_serve_mnist_trains_serves_and_answers_like_predict(data_root, tmp_path, monkeypatch,
                                                            capsys):
    """--check: train on 256 images, serve on a free port, one request with urllib, exit; then
    the same with --model (load the saved file, no training)."""
    pytest.importorskip("waitress", reason="the serving extra is not installed")
    pytest.importorskip("prometheus_client", reason="the serving extra is not installed")
    example = _load("serve_mnist", monkeypatch)
    common = ["--data-dir", str(data_root), "--limit", "256", "--output-dir", str(tmp_path)]
    predicted, label = example.main([*common, "--epochs", "1", "--check"])
    out = capsys.readouterr().out
    assert "Epoch 1/1" in out and "the answer over HTTP equals model.predict" in out
    assert f"predicted {predicted}" in out and f"label {label}" in out
    assert 0 <= predicted <= 9 and label == 7   # the first MNIST test image is a 7

    model_file = tmp_path / "mnist.safetensors"
    again = example.main([*common, "--model", str(model_file), "--check"])
    out = capsys.readouterr().out
    assert again == (predicted, label)
    assert "Epoch" not in out and "equals model.predict" in out
