"""benchmarks/compression.py in small: on random data of the datasets' shapes, every model is
trained, quantized, pruned, exported and run by each engine; the tables come out; a second run
reuses the trained models."""

import json

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")
pytest.importorskip("threadpoolctl", reason="the bench extra is not installed")

from benchmarks import compression  # noqa: E402

needs_torch = pytest.mark.skipif(__import__("importlib").util.find_spec("torch") is None,
                                 reason="PyTorch is not installed")

SMALL = ["--quick", "--synthetic", "--samples", "64,24", "--epochs", "1", "--batch-sizes",
         "1,8", "--repeats", "2", "--threads", "1"]


@needs_torch
def test_a_quick_run_measures_every_model_and_engine(tmp_path, capsys):
    assert compression.main(SMALL + ["--work-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for title in ("### File sizes", "### Test accuracy", "### Inference time", "Targets ("):
        assert title in out
    saved = json.loads((tmp_path / "results.json").read_text())
    results = {r["name"]: r for r in saved["results"]}
    assert list(results) == list(compression.MODELS)
    for name, r in results.items():
        assert (r["train_size"], r["test_size"]) == (64, 24)
        sizes = r["sizes"]
        assert sizes["int8"] < 0.35 * sizes["float32"] < sizes["float16"] < sizes["float32"]
        assert sizes["pruned"] < 0.35 * sizes["float32"]
        assert abs(sizes["onnx float32"] / sizes["float32"] - 1) < 0.05
        assert sizes["PyTorch qint8"] < sizes["PyTorch float32"]
        # the export and the PyTorch port compute what the minigrad model computes
        assert r["agreement"]["onnxruntime float32"] < 1e-4
        assert r["agreement"]["PyTorch float32"] < 1e-4
        assert set(r["accuracy"]) >= {"minigrad float32", "minigrad int8", "minigrad pruned",
                                      "minigrad dense + 1 epoch",
                                      "onnxruntime float32", "PyTorch quantize_dynamic"}
        assert all(0 <= a <= 100 for a in r["accuracy"].values())
        for batch in ("1", "8"):
            row = r["times"][batch]
            assert set(row) >= {"minigrad float32", "minigrad int8", "onnxruntime float32",
                                "PyTorch float32", "PyTorch quantize_dynamic"}
            assert all(seconds > 0 for seconds in row.values())
        folder = tmp_path / compression.cache_key(name, compression.parse_args(SMALL), 64)
        assert (folder / "float32.safetensors").is_file()
        assert (folder / "pruned80.safetensors").is_file()


def test_a_rerun_skips_training_and_pytorch_can_be_left_out(tmp_path, capsys):
    argv = SMALL + ["--work-dir", str(tmp_path), "--models", "mnist_mlp", "--skip-timing",
                    "--no-torch"]
    assert compression.main(argv) == 0
    first = capsys.readouterr()
    assert "trained 1 epoch(s)" in first.err
    assert compression.main(argv) == 0
    second = capsys.readouterr()
    assert "the trained float32 model from" in second.err and "trained 1" not in second.err
    assert "the pruned, fine-tuned model from" in second.err
    # the same model, the same figures
    assert first.out.split("### File sizes")[1] == second.out.split("### File sizes")[1]
    assert "PyTorch" not in second.out.split("### File sizes")[1]


@needs_torch
def test_reviews_reach_pytorch_with_their_padding_moved_behind():
    ids = np.array([[0, 0, 5, 6], [1, 2, 3, 4], [0, 0, 0, 9]])
    moved, lengths = compression.torch_inputs("imdb_bilstm", ids)
    assert moved.tolist() == [[5, 6, 0, 0], [1, 2, 3, 4], [9, 0, 0, 0]]
    assert lengths.tolist() == [2, 4, 1]


@pytest.mark.parametrize("argv, message", [
    (["--models", "resnet"], "unknown resnet"),
    (["--samples", "10"], "two counts"),
    (["--batch-sizes", "1,x"], "expected numbers"),
])
def test_bad_options_say_what_is_expected(argv, message, capsys):
    with pytest.raises(SystemExit):
        compression.parse_args(argv)
    assert message in capsys.readouterr().err
