"""benchmarks/distributed_allreduce.py runs end to end under mpiexec (a few calls; the timed
run is the lead's, on a quiet machine) and reports what it says it does."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import distributed_allreduce

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(distributed_allreduce.mpiexec() is None
                    or importlib.util.find_spec("mpi4py") is None,
                    reason="needs mpiexec and mpi4py (pip install -e '.[mpi]')")
def test_the_allreduce_benchmark_runs_and_reports_every_bucket_size(tmp_path):
    out = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks.distributed_allreduce", "--quick",
                           "--json", str(out)], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(out.read_text())
    # 784*512 + 512 + 512*512 + 512 + 512*10 + 10 float32 values
    assert figures["ranks"] == 2 and figures["gradient_bytes"] == 4 * 669706
    assert [row["messages"] for row in figures["rows"]] == [1, 2, 5, 7]   # header + buckets
    assert all(row["seconds"] > 0 and row["MBps"] > 0 for row in figures["rows"])
    assert figures["rows"][0]["ratio_to_mpi4py"] == 1.0
    assert "allreduce_gradients, buckets 25 MiB (default)" in done.stdout
