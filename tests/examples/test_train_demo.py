"""The README's main job (examples/train_demo.py) runs and learns."""

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train_demo.py"


def _load():
    spec = importlib.util.spec_from_file_location("train_demo", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_demo_learns_the_spirals(capsys):
    accuracy = _load().main(["--epochs", "300"])
    assert accuracy >= 0.9
    assert "epoch  300" in capsys.readouterr().out
