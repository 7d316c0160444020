"""``model.fit`` under ``mpiexec -n 2`` and ``-n 3``: N ranks with per-rank batch B take the
steps of one process with batch N*B (float64, SGD and Adam, an uneven dataset), report the same
figures, end with identical weights, write files on rank 0 only; BatchNormalization and Dropout
as documented (docs/distributed.rst); a failing rank ends the job.

The workers (tests/distributed/workers/fit_*.py) run under the venv's mpiexec with one BLAS
thread per rank; the references run here, in this single process.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad.train import distributed_fit

WORKERS = Path(__file__).resolve().parent / "workers"
sys.path.insert(0, str(WORKERS))
from fit_models import CASES, PER_RANK_BATCH, data, fit, model, weights  # noqa: E402

MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")
needs_mpi = pytest.mark.skipif(
    MPIEXEC is None or importlib.util.find_spec("mpi4py") is None,
    reason="needs mpiexec and mpi4py (pip install -e '.[mpi]')")
LAUNCHER_VARIABLES = ("PMI_", "PMIX_", "OMPI_", "MPI_", "HYDRA_", "SLURM_", "MV2_")


def clean_environment(**extra):
    """This environment without a launcher's variables, one BLAS thread per process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(LAUNCHER_VARIABLES)
           and k != distributed_fit.SWITCH}
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               NUMBA_NUM_THREADS="1", **extra)
    return env


def mpiexec(ranks, script, *args, timeout=60):
    return subprocess.run([MPIEXEC, "-n", str(ranks), sys.executable, str(WORKERS / script),
                           *map(str, args)], env=clean_environment(), capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module", params=[2, 3], ids=["2 ranks", "3 ranks"])
def run(request, tmp_path_factory):
    """(ranks, folder) of one run of fit_equivalence.py: every case, each rank's results."""
    if MPIEXEC is None or importlib.util.find_spec("mpi4py") is None:
        pytest.skip("needs mpiexec and mpi4py (pip install -e '.[mpi]')")
    ranks, out = request.param, tmp_path_factory.mktemp(f"fit{request.param}")
    done = mpiexec(ranks, "fit_equivalence.py", out)
    assert done.returncode == 0, done.stderr[-3000:]
    return ranks, out


def rank_results(out, case, rank):
    with open(out / f"{case}-rank{rank}.json") as file:
        report = json.load(file)
    return dict(np.load(out / f"{case}-rank{rank}.npz")), report


@pytest.mark.parametrize("case", ["sgd", "adam_uneven", "loader", "nan"])
def test_n_ranks_take_the_steps_of_one_process_with_n_times_the_batch(run, case):
    ranks, out = run
    single, history = fit(case, PER_RANK_BATCH * ranks)
    expected = weights(single)
    if case == "nan":  # stopped by TerminateOnNaN on every rank, before the NaN step
        assert history.epoch == [0] and np.isnan(history.history["loss"][0])
        assert all(np.isfinite(value).all() for value in expected.values())
    else:
        assert history.params["steps"] * history.params["epochs"] >= 20
    for rank in range(ranks):
        got, report = rank_results(out, case, rank)
        assert set(got) == set(expected)
        for name in expected:
            np.testing.assert_allclose(got[name], expected[name], rtol=0, atol=1e-10,
                                       err_msg=f"{name} on rank {rank}")
        # the epoch's loss and accuracy, and the validation's, over all ranks' samples
        assert set(report["history"]) == set(history.history)
        for name, values in history.history.items():
            np.testing.assert_allclose(report["history"][name], values, rtol=1e-12, atol=1e-12,
                                       err_msg=name)
        assert report["params"] == history.params


def test_every_rank_ends_with_the_same_weights_and_history(run):
    ranks, out = run
    for case in CASES:
        first, first_report = rank_results(out, case, 0)
        for rank in range(1, ranks):
            got, report = rank_results(out, case, rank)
            for name in first:
                np.testing.assert_array_equal(got[name], first[name], err_msg=f"{case} {name}")
            assert report["history"] == first_report["history"]


def test_only_rank_0_writes_checkpoints_logs_and_backups(run):
    ranks, out = run
    written = sorted(p.name for p in out.iterdir() if not p.name.startswith(tuple(CASES)))
    epochs = CASES["sgd"][3]
    assert written == ["backup-rank0"] + [f"ckpt-rank0-{e}.safetensors"
                                          for e in range(1, epochs + 1)] + ["log-rank0.csv"]
    _, report = rank_results(out, "sgd", 0)
    rows = (out / "log-rank0.csv").read_text().splitlines()
    assert len(rows) == epochs + 1
    header = rows[0].split(",")
    losses = [float(row.split(",")[header.index("loss")]) for row in rows[1:]]
    np.testing.assert_allclose(losses, report["history"]["loss"], rtol=1e-12)
    saved = model("mlp", "sgd").load_weights(out / f"ckpt-rank0-{epochs}.safetensors")
    final, _ = rank_results(out, "sgd", 0)
    for name, value in weights(saved).items():
        np.testing.assert_array_equal(value, final[name])


def ddp_without_sync_batchnorm(ranks):
    """Case "bn" computed here as DDP does it: each replica normalizes with its own slice's
    batch statistics, the gradients are averaged weighted by slice sizes, the moving
    statistics are rank 0's (replica 0 is the model kept)."""
    _, _, count, epochs = CASES["bn"]
    x, y = data(count)
    replicas = [model("bn", "sgd") for _ in range(ranks)]
    kept = replicas[0]
    optimizer = kept.build_optimizer()
    rng = np.random.default_rng(3)  # fit's seed: one permutation per epoch
    for _ in range(epochs):
        order = rng.permutation(count)
        for start in range(0, count, PER_RANK_BATCH * ranks):
            batch = order[start:start + PER_RANK_BATCH * ranks]
            total = {name: 0.0 for name, _ in kept.named_parameters()}
            for rank, replica in enumerate(replicas):
                low, high = (len(batch) * rank // ranks, len(batch) * (rank + 1) // ranks)
                part = batch[low:high]
                for (name, mine), (_, theirs) in zip(replica.named_parameters(),
                                                     kept.named_parameters()):
                    mine.data[...] = theirs.data
                    mine.grad = None
                replica.train()
                loss = replica._loss_value(mg.tensor(y[part]), replica(mg.tensor(x[part])), None)
                loss.backward()
                for name, param in replica.named_parameters():
                    total[name] = total[name] + len(part) * param.grad.numpy()
            for name, param in kept.named_parameters():
                param.grad.data[...] = total[name] / len(batch)
            optimizer.step()
    return weights(kept)


def test_batch_normalization_normalizes_with_each_ranks_batch_and_keeps_rank_0s_statistics(run):
    ranks, out = run
    expected = ddp_without_sync_batchnorm(ranks)
    got, _ = rank_results(out, "bn", 0)
    assert any("moving" in name for name in expected)
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=0, atol=1e-10, err_msg=name)
    # ... which is not what one process with the whole batch computes
    single = weights(fit("bn", PER_RANK_BATCH * ranks)[0])
    assert max(np.abs(single[n] - got[n]).max() for n in single) > 1e-3


def test_dropout_draws_other_masks_on_each_rank(run):
    ranks, out = run
    masks = [np.array(rank_results(out, "dropout", rank)[1]["mask"]) for rank in range(ranks)]
    for rank in range(1, ranks):
        assert (masks[rank] != masks[0]).any()
    assert all(0 < m.mean() < 1 for m in masks)


@needs_mpi
@pytest.mark.parametrize("how", ["raise", "kill"])
def test_a_failing_rank_ends_the_job_with_an_error(how):
    start = time.perf_counter()
    done = mpiexec(2, "fit_failure.py", how, timeout=60)
    assert done.returncode != 0
    assert "finished fit" not in done.stdout
    assert time.perf_counter() - start < 30
    if how == "raise":
        assert "[rank 1/2] fit failed" in done.stderr
        assert "rank 1 fails on purpose" in done.stderr


def test_fit_without_a_launcher_never_imports_mpi4py():
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from fit_models import fit; "
            "fit('sgd', 8); print('mpi4py' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(WORKERS)], env=clean_environment(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("variables, expected", [
    ({}, False), ({"PMI_SIZE": "4", "PMI_RANK": "1"}, True), ({"OMPI_COMM_WORLD_SIZE": "3"}, True),
    ({"PMI_SIZE": "1"}, False),  # mpiexec -n 1: train alone
    ({"PMI_SIZE": "4", "MINIGRAD_DISTRIBUTED": "0"}, False)])
def test_fit_is_distributed_when_a_launcher_started_several_ranks(monkeypatch, variables,
                                                                    expected):
    for name in list(os.environ):
        if name.startswith(LAUNCHER_VARIABLES) or name == distributed_fit.SWITCH:
            monkeypatch.delenv(name)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert distributed_fit.launched() is expected


@pytest.mark.parametrize("count, ranks", [(8, 2), (5, 2), (1, 3), (7, 3), (12, 3)])
def test_a_batch_is_cut_into_slices_that_differ_by_at_most_one(count, ranks):
    slices = [distributed_fit._bounds(count, r, ranks) for r in range(ranks)]
    assert slices[0][0] == 0 and slices[-1][1] == count
    assert all(a[1] == b[0] for a, b in zip(slices, slices[1:]))
    sizes = [high - low for low, high in slices]
    assert max(sizes) - min(sizes) <= 1


class Sum:
    """A stand-in for mg.distributed: ``ranks`` identical ranks sum to ranks * value."""

    def __init__(self, ranks):
        self.ranks = ranks

    def allreduce_array(self, array, op="sum"):
        return np.asarray(array) * self.ranks


def test_metric_counts_are_summed_and_their_settings_kept():
    y = np.array([0, 1, 1, 0, 1])
    p = np.array([0.2, 0.9, 0.4, 0.6, 0.8])
    auc = mg.train.metrics.AUC(num_thresholds=50)
    accuracy = mg.train.metrics.get("accuracy")
    for metric in (auc, accuracy):
        metric.update_state(y, p)
    world = type("World", (), {"rank": 0, "size": 3})()
    run = distributed_fit.DistributedFit(world, Sum(3))
    summed_auc, (summed_accuracy,) = run.reduced([auc, accuracy])
    np.testing.assert_array_equal(summed_auc.thresholds, auc.thresholds)  # a setting: kept
    np.testing.assert_array_equal(summed_auc.positives, 3 * auc.positives)
    assert summed_auc.result() == pytest.approx(auc.result())  # three copies of one rank
    assert summed_accuracy.result() == pytest.approx(accuracy.result())
    assert summed_accuracy.chosen.count == 3 * accuracy.chosen.count


@needs_mpi
def test_the_mnist_example_trains_on_two_ranks_and_reports_once(tmp_path):
    data_dir = os.environ.get("MINIGRAD_DATA")
    if not data_dir or not os.path.isdir(os.path.join(data_dir, "mnist")):
        pytest.skip("needs MINIGRAD_DATA with mnist/")
    example = Path(__file__).resolve().parents[2] / "examples" / "mnist_mlp.py"
    done = subprocess.run([MPIEXEC, "-n", "2", sys.executable, str(example), "--distributed",
                           "--limit", "600", "--epochs", "1", "--output-dir", str(tmp_path)],
                          env=clean_environment(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("Epoch 1/1") == 1 and done.stdout.count("test accuracy") == 1
    assert "x 2 ranks" in done.stdout
    written = {p.name for p in tmp_path.iterdir()} - {"mnist_mlp.png"}  # with matplotlib
    assert written == {"mnist_mlp.safetensors"}
