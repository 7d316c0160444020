"""Smoke test of examples/online_update.py with small data (the full run's figures are in
docs/serving.rst, "Updating a served model")."""

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_online_update_publishes_versions_while_a_client_queries(data_root, tmp_path,
                                                                 monkeypatch, capsys):
    """3 versions trained on 3 x 200 images, each published into a polled repository while a
    client queries: no request fails, every answer is its version's, each version answered."""
    pytest.importorskip("waitress", reason="the serving extra is not installed")
    pytest.importorskip("prometheus_client", reason="the serving extra is not installed")
    monkeypatch.syspath_prepend(str(EXAMPLES))  # the example imports its _common helper
    spec = importlib.util.spec_from_file_location("online_update",
                                                  EXAMPLES / "online_update.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    result = example.main([
        "--data-dir", str(data_root), "--limit", "600", "--chunks", "2", "--epochs", "1",
        "--poll-secs", "0.05", "--output-dir", str(tmp_path), "--seed", "0"])
    assert result["failed"] == 0 and result["wrong"] == 0
    assert len(result["accuracies"]) == 3
    assert all(0.0 <= a <= 1.0 for a in result["accuracies"])
    assert sorted(result["per_version"], key=int) == ["1", "2", "3"]
    assert sorted(p.name for p in (tmp_path / "repository" / "mnist").iterdir()) == [
        "1", "2", "3"]  # published atomically: no temporary folder left behind
    out = capsys.readouterr().out
    assert "version 3: trained on 600 images" in out and "0 failed, 0 wrong" in out
