"""benchmarks/distributed.py runs end to end (a few steps; the timed run is the lead's, on a
quiet machine), and its table computes the speedups and ratios from the step times."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import distributed

REPO = Path(__file__).resolve().parents[2]
needs_mpi = pytest.mark.skipif(
    distributed.mpiexec() is None or importlib.util.find_spec("mpi4py") is None,
    reason="needs mpiexec and mpi4py (pip install -e '.[mpi]')")


def run_quick(tmp_path, *options):
    out = tmp_path / "figures.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_"))}
    done = subprocess.run([sys.executable, "-m", "benchmarks.distributed", "--quick",
                           "--steps", "2", "--warmup", "2", "--json", str(out), *options],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, json.loads(out.read_text())


@needs_mpi
def test_minigrad_on_one_and_two_processes_runs_end_to_end(tmp_path):
    table, figures = run_quick(tmp_path, "--libraries", "minigrad")
    assert set(figures) == {"mlp", "cnn"}
    for model in figures.values():
        assert set(model["minigrad"]) == {"1", "2"}
        assert all(result["step_s"] > 0 and result["steps"] == 2
                   for result in model["minigrad"].values())
    mlp = figures["mlp"]["minigrad"]["2"]
    assert mlp["gradient_bytes"] == 4 * (784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10)
    assert mlp["minigrad_allreduce_MBps"] > 0 and mlp["mpi4py_allreduce_MBps"] > 0
    assert "cnn    minigrad" in table and "MLP gradients 2.68 MB" in table


@needs_mpi
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs PyTorch")
def test_pytorch_ddp_on_one_and_two_processes_runs_end_to_end(tmp_path):
    if shutil.which("mpiexec") is None and distributed.mpiexec() is None:
        pytest.skip("needs mpiexec")
    table, figures = run_quick(tmp_path, "--libraries", "torch", "--models", "mlp")
    assert set(figures["mlp"]["torch"]) == {"1", "2"}
    assert figures["mlp"]["torch"]["2"]["gloo_allreduce_MBps"] > 0
    assert "mlp    torch" in table


def test_the_table_gives_epoch_speedups_and_minigrad_to_pytorch_ratios():
    figures = {"cnn": {"minigrad": {1: {"step_s": 0.100}, 2: {"step_s": 0.125}},
                       "torch": {1: {"step_s": 0.080}, 2: {"step_s": 0.100}}}}
    rows = distributed.report(figures).splitlines()
    assert rows[1].split() == ["cnn", "minigrad", "100.00", "125.00", "1.60x", "1.25"]
    assert rows[2].split() == ["cnn", "torch", "80.00", "100.00", "1.60x"]
