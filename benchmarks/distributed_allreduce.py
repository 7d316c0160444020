"""Gradient averaging bandwidth (issue 17): the MNIST MLP's gradients (784-512-512-10, float32,
2.68 MB) averaged by ``minigrad.distributed.allreduce_gradients`` against ``mpi4py``'s own
``Allreduce`` of the same bytes in one buffer, on N processes of one machine (one thread each).

For several bucket sizes it reports the messages per call, the median time of one call, the
bandwidth (gradient bytes / time, MB/s) and the ratio to mpi4py's time (1.0: no overhead of
ours beyond MPI's). The difference is our packing and unpacking of the buckets (a copy each
way), the small header allreduce (which parameters have gradients, the total weight) and, with
small buckets, one MPI latency per extra message; the latency of an 8-byte Allreduce is
reported as well, since it is the term that grows with the number of messages.

    python -m benchmarks.distributed_allreduce                 # 2 processes, the timed run
    python -m benchmarks.distributed_allreduce --ranks 3 --repeats 200
    python -m benchmarks.distributed_allreduce --quick         # a few calls: checks it runs
    python -m benchmarks.distributed_allreduce --json out.json

It starts ``mpiexec -n N python -m benchmarks.distributed_allreduce --worker`` (the venv's
mpiexec, ``-launcher fork``, loopback only) and prints the table that rank 0 reports.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: The MLP of the MNIST benchmarks and tutorials.
LAYERS = (784, 512, 512, 10)
#: Bucket sizes compared: the default (one message here), 1 MiB, and one message per array.
BUCKETS = {"25 MiB (default)": 25 * 2**20, "1 MiB": 2**20, "per parameter": 1}
ENVIRONMENT = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "NUMBA_NUM_THREADS": "1", "UCX_NET_DEVICES": "lo", "FI_PROVIDER": "tcp",
               "FI_TCP_IFACE": "lo"}


def mlp_gradients():
    """The MLP's parameters, each with a gradient from one backward pass (float32)."""
    import numpy as np

    import minigrad as mg

    mg.manual_seed(0)
    model = mg.Sequential([mg.nn.Dense(n, activation="relu") for n in LAYERS[1:-1]]
                          + [mg.nn.Dense(LAYERS[-1])])
    model.build((None, LAYERS[0]))
    x = mg.tensor(np.random.default_rng(0).random((32, LAYERS[0]), dtype=np.float32))
    (model(x) ** 2).mean().backward()
    return list(model.parameters())


def median_seconds(call, repeats, comm):
    """The median over ``repeats`` calls, each started together on every rank."""
    times = []
    for _ in range(repeats):
        comm.Barrier()
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def worker(repeats, warmup):
    import numpy as np
    from mpi4py import MPI

    import minigrad.distributed as dist

    world = dist.init()
    comm = MPI.COMM_WORLD
    params = mlp_gradients()
    count = sum(p.size for p in params)
    nbytes = 4 * count
    source = np.ones(count, np.float32)
    target = np.empty_like(source)
    tiny = np.ones(1, np.float64)

    def mpi4py_allreduce():
        comm.Allreduce(source, target, op=MPI.SUM)

    def latency():
        comm.Allreduce(MPI.IN_PLACE, tiny, op=MPI.SUM)

    rows = []
    for call in (mpi4py_allreduce, latency):          # warm-up: connections, pages
        median_seconds(call, warmup, comm)
    reference = median_seconds(mpi4py_allreduce, repeats, comm)
    rows.append({"what": "mpi4py Allreduce, one buffer", "messages": 1, "seconds": reference})
    for label, bucket_bytes in BUCKETS.items():
        def ours():
            dist.allreduce_gradients(params, bucket_bytes=bucket_bytes)

        median_seconds(ours, warmup, comm)
        messages = 1 + len(dist.plan_buckets([p.data for p in params], bucket_bytes))
        rows.append({"what": f"allreduce_gradients, buckets {label}", "messages": messages,
                     "seconds": median_seconds(ours, repeats, comm)})
    for row in rows:
        row["MBps"] = nbytes / row["seconds"] / 1e6
        row["ratio_to_mpi4py"] = row["seconds"] / reference
    result = {"ranks": world.size, "gradient_bytes": nbytes, "parameters": len(params),
              "repeats": repeats, "latency_8_bytes_s": median_seconds(latency, repeats, comm),
              "rows": rows}
    if world.is_root():
        print(json.dumps(result), flush=True)


def mpiexec():
    """The venv's mpiexec (beside this Python), else the one on PATH."""
    return shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")


def launch(ranks, repeats, warmup):
    launcher = mpiexec()
    if launcher is None:
        sys.exit("mpiexec not found: pip install -e '.[mpi]'")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PMI_", "PMIX_", "OMPI_", "MPI_", "HYDRA_", "SLURM_"))}
    env.update(ENVIRONMENT)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    done = subprocess.run([launcher, "-launcher", "fork", "-n", str(ranks), sys.executable, "-m",
                           "benchmarks.distributed_allreduce", "--worker", "--repeats",
                           str(repeats), "--warmup", str(warmup)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        sys.exit(f"the MPI job failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(result):
    lines = [f"{result['ranks']} processes, the MLP's gradients: {result['parameters']} arrays, "
             f"{result['gradient_bytes'] / 1e6:.2f} MB float32; median of {result['repeats']} "
             f"calls; an 8-byte Allreduce takes {result['latency_8_bytes_s'] * 1e6:.0f} us",
             f"{'':46} {'messages':>8} {'ms':>8} {'MB/s':>8} {'/ mpi4py':>9}"]
    for row in result["rows"]:
        lines.append(f"{row['what']:46} {row['messages']:8d} {row['seconds'] * 1e3:8.3f} "
                     f"{row['MBps']:8.0f} {row['ratio_to_mpi4py']:9.2f}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="3 calls each: checks that it runs")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.warmup = 3, 1
    if args.worker:
        worker(args.repeats, args.warmup)
        return
    result = launch(args.ranks, args.repeats, args.warmup)
    print(table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
