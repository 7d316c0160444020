"""The progress display: a bar only where someone watches, nothing cut at 80 columns, one line
per epoch in a redirected file, no tqdm warning on import in a notebook without ipywidgets."""

import io
import subprocess
import sys
import types
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import console, nn
from minigrad.train.progress import Progress, resolve_verbose, wrap_logs


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as sys.stdout is when a user watches."""

    def isatty(self):
        return True


def fitted_output(monkeypatch, stream, verbose="auto", epochs=2):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(96, 8)), rng.integers(0, 3, 96)
    model = mg.Sequential([nn.Dense(16, activation="relu", input_shape=(8,)),
                           nn.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    monkeypatch.setattr(sys, "stdout", stream)
    model.fit(x[:64], y[:64], epochs=epochs, batch_size=16, verbose=verbose,
              validation_data=(x[64:], y[64:]))
    return stream.getvalue()


def test_redirected_output_gets_one_plain_line_per_epoch(monkeypatch):
    out = fitted_output(monkeypatch, io.StringIO())
    assert "\r" not in out
    lines = out.splitlines()
    assert len(lines) == 2
    for epoch, line in enumerate(lines, 1):
        assert line.startswith(f"Epoch {epoch}/2")
        for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert f" {name}: " in line


def test_bar_at_80_columns_keeps_every_validation_metric(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    out = fitted_output(monkeypatch, Terminal())
    screen_lines = [part for line in out.split("\n") for part in line.split("\r")]
    assert max(len(line) for line in screen_lines) <= 80
    metric_lines = [line for line in out.split("\n") if line.startswith("  ")]
    shown = " ".join(metric_lines)
    for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert shown.count(f" {name}: ") + shown.startswith(f"{name}: ") == 2  # both epochs
    assert "100%" in out


def test_verbose_zero_prints_nothing_and_bad_levels_are_refused(monkeypatch):
    assert fitted_output(monkeypatch, Terminal(), verbose=0) == ""
    for bad in (3, -1, True, "yes"):
        with pytest.raises(ValueError, match="verbose must be"):
            resolve_verbose(bad)


def test_wrapped_metrics_never_split_a_name_from_its_value():
    logs = {name: 0.5 for name in ("loss", "accuracy", "val_loss", "val_accuracy", "precision")}
    lines = wrap_logs(logs, width=30)
    assert all(len(line) <= 30 for line in lines)
    items = [item for line in lines for item in line.strip().split("  ")]
    assert items == [f"{name}: 0.5000" for name in logs]


def fake_notebook(monkeypatch):
    shell = types.SimpleNamespace(config={"IPKernelApp": {}})
    monkeypatch.setitem(sys.modules, "IPython",
                        types.SimpleNamespace(get_ipython=lambda: shell))


def test_notebook_without_ipywidgets_gets_a_text_bar_and_no_warning(monkeypatch):
    fake_notebook(monkeypatch)
    monkeypatch.setattr(console, "has_widgets", lambda: False)
    assert console.in_notebook() and console.is_interactive(io.StringIO())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bar_class = console.bar_class()
        progress = Progress(1, 3, "Epoch 1/1", stream=io.StringIO())
        progress.update({"loss": 1.0})
        progress.close({"loss": 1.0}, 0.1)
    from tqdm.std import tqdm
    assert bar_class is tqdm


def test_notebook_with_ipywidgets_gets_the_widget_bar(monkeypatch):
    pytest.importorskip("ipywidgets")
    fake_notebook(monkeypatch)
    from tqdm.notebook import tqdm
    assert console.bar_class() is tqdm


def test_import_minigrad_loads_no_notebook_support_and_warns_nothing():
    code = ("import sys, warnings; warnings.simplefilter('error'); import minigrad; "
            "assert 'tqdm.autonotebook' not in sys.modules and 'tqdm.notebook' not in sys.modules")
    subprocess.run([sys.executable, "-W", "error", "-c", code], check=True)
