"""Data-parallel training, minigrad (``fit`` under ``mpiexec``) against PyTorch DDP (gloo), on
1 and 2 processes of one machine, one thread per process (issue 17):

- ``mlp``: the MNIST MLP 784-512-512-10, per-process batch 128;
- ``cnn``: the CIFAR-10 tutorial CNN (Conv2D 32-MaxPool-Conv2D 64-MaxPool-Conv2D 64-Dense 64-
  Dense 10, channels-last in minigrad, NCHW in PyTorch), per-process batch 32;

on synthetic data of the right shapes, plain SGD, softmax cross-entropy on logits. Each figure
is the time of one training step (data slicing, forward, backward, gradient averaging, update),
the mean over a fit of ``--steps`` batches after a warm-up fit (for PyTorch, its loop). With
``N`` processes each step takes ``N`` times the samples, so an epoch's speedup is
``N * t1 / tN``. For the MLP's gradients it also reports the bandwidth (MB/s) of minigrad's
``allreduce_gradients`` against ``mpi4py``'s own ``Allreduce`` of the same bytes, and gloo's
``all_reduce``.

    python -m benchmarks.distributed                 # the timed run (quiet machine)
    python -m benchmarks.distributed --quick         # a few steps: checks that it all runs
    python -m benchmarks.distributed --json out.json --models cnn

Each measurement runs in fresh processes: ``mpiexec -n N python -m benchmarks.distributed
--worker minigrad ...`` (a single process without mpiexec) and ``--worker torch`` (which starts
one process per rank, as ``torchrun`` would). PyTorch missing: the minigrad figures alone.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BATCH = {"mlp": 128, "cnn": 32}
SHAPE = {"mlp": (784,), "cnn": (32, 32, 3)}
LEARNING_RATE = 0.01
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def one_thread():
    for name in THREAD_VARIABLES:
        os.environ[name] = "1"
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=1)
    except ImportError:
        pass


def synthetic(model, samples, seed=0):
    """Images or flat pixels in [0, 1) and labels 0-9, float32."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.random((samples,) + SHAPE[model], dtype=np.float32)
    return x, rng.integers(0, 10, samples)


# --- minigrad: fit, under mpiexec for 2 processes --------------------------------------------
def minigrad_model(name):
    import minigrad as mg
    from minigrad import nn

    mg.manual_seed(0)
    if name == "mlp":
        layers = [nn.Dense(512, activation="relu", input_shape=(784,)),
                  nn.Dense(512, activation="relu"), nn.Dense(10)]
    else:
        layers = [nn.Conv2D(32, 3, activation="relu", input_shape=(32, 32, 3)),
                  nn.MaxPooling2D(), nn.Conv2D(64, 3, activation="relu"), nn.MaxPooling2D(),
                  nn.Conv2D(64, 3, activation="relu"), nn.Flatten(),
                  nn.Dense(64, activation="relu"), nn.Dense(10)]
    model = mg.Sequential(layers)
    model.compile(optimizer=mg.optim.SGD(lr=LEARNING_RATE),
                  loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def minigrad_worker(name, steps, warmup):
    """One rank: a warm-up fit, then a timed fit of ``steps`` batches; rank 0 prints the
    result."""
    one_thread()
    from minigrad.train import distributed_fit

    rank, size = 0, 1
    if distributed_fit.launched():
        import minigrad.distributed
        world = minigrad.distributed.init()
        rank, size = world.rank, world.size
    model = minigrad_model(name)
    x, y = synthetic(name, (warmup + steps) * BATCH[name] * size)
    cut = warmup * BATCH[name] * size
    model.fit(x[:cut], y[:cut], batch_size=BATCH[name], epochs=1, seed=0, verbose=0)
    start = time.perf_counter()  # a whole fit (no callback: none of their costs)
    model.fit(x[cut:], y[cut:], batch_size=BATCH[name], epochs=1, seed=0, verbose=0)
    result = {"step_s": (time.perf_counter() - start) / steps, "steps": steps}
    if size > 1 and name == "mlp":
        result.update(minigrad_allreduce_bandwidth(model, steps))
    if rank == 0:
        print(json.dumps(result), flush=True)


def minigrad_allreduce_bandwidth(model, repeats):
    """MB/s of allreduce_gradients on the model's gradients and of mpi4py's Allreduce of the
    same number of float32 values (one buffer)."""
    import numpy as np
    from mpi4py import MPI

    import minigrad.distributed as distributed

    params = [p for p in model.parameters() if p.grad is not None]
    count = sum(p.size for p in params)
    source, target = np.ones(count, np.float32), np.empty(count, np.float32)

    def ours():
        distributed.allreduce_gradients(params)

    def theirs():
        MPI.COMM_WORLD.Allreduce(source, target, op=MPI.SUM)

    figures = {"gradient_bytes": 4 * count}
    for label, call in (("minigrad_allreduce", ours), ("mpi4py_allreduce", theirs)):
        times = []
        for _ in range(max(3, repeats)):
            MPI.COMM_WORLD.Barrier()
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        figures[label + "_MBps"] = 4 * count / statistics.median(times) / 1e6
    return figures


# --- PyTorch: DDP over gloo, one process per rank (as torchrun starts them) ------------------
def torch_model(name):
    import torch
    from torch import nn

    torch.manual_seed(0)
    if name == "mlp":
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                             nn.Linear(512, 10))
    return nn.Sequential(nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
                         nn.Linear(1024, 64), nn.ReLU(), nn.Linear(64, 10))


def torch_worker(name, steps, warmup, size, rank, port):
    """One rank of PyTorch DDP (the driver starts the ranks, as torchrun would); rank 0 prints
    the result."""
    one_thread()
    import numpy as np
    import torch
    import torch.distributed as dist
    import torch.nn.functional as F

    torch.set_num_threads(1)
    model = torch_model(name)
    if size > 1:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                                world_size=size)
        model = torch.nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    batch = BATCH[name]
    x, y = synthetic(name, (warmup + steps) * batch * size)
    if name == "cnn":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    order = torch.from_numpy(np.random.default_rng(0).permutation(len(x)))
    for step in range(warmup + steps):  # rank r takes slice r of global batch `step`
        if step == warmup:
            start = time.perf_counter()
        index = order[(step * size + rank) * batch:(step * size + rank + 1) * batch]
        loss = F.cross_entropy(model(x[index]), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    result = {"step_s": (time.perf_counter() - start) / steps, "steps": steps}
    if size > 1 and name == "mlp":
        count = sum(p.numel() for p in model.parameters())
        buffer, times = torch.ones(count), []
        for _ in range(max(3, steps)):
            dist.barrier()
            start = time.perf_counter()
            dist.all_reduce(buffer)
            times.append(time.perf_counter() - start)
        result["gloo_allreduce_MBps"] = 4 * count / statistics.median(times) / 1e6
    if size > 1:
        dist.destroy_process_group()
    if rank == 0:
        print(json.dumps(result), flush=True)


# --- the driver -------------------------------------------------------------------------------
def mpiexec():
    return shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or \
        shutil.which("mpiexec")


def run_worker(library, name, processes, steps, warmup, timeout):
    """The JSON result of one worker run in fresh processes."""
    command = [sys.executable, "-m", "benchmarks.distributed", "--worker", library,
               "--models", name, "--steps", str(steps), "--warmup", str(warmup),
               "--processes", str(processes)]
    if library == "minigrad" and processes > 1:
        command = [mpiexec(), "-n", str(processes)] + command
    commands = [command]
    if library == "torch":  # one process per rank, meeting at a free port
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        commands = [command + ["--rank", str(rank), "--port", str(port)]
                    for rank in range(processes)]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PMI_", "PMIX_", "OMPI_", "HYDRA_", "SLURM_"))}
    env.update({name: "1" for name in THREAD_VARIABLES})
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep)
    running = [subprocess.Popen(c, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for c in commands]
    try:
        outputs = [process.communicate(timeout=timeout) for process in running]
    finally:
        for process in running:
            if process.poll() is None:
                process.kill()
    for process, (_, stderr) in zip(running, outputs):
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(process.args)} failed:\n{stderr[-3000:]}")
    return json.loads(outputs[0][0].strip().splitlines()[-1])


def measure(models, steps, warmup, timeout, libraries=("minigrad", "torch")):
    """{model: {"minigrad": {1: result, 2: result}, "torch": {...}}}."""
    import importlib.util

    libraries = [name for name in libraries
                 if name == "minigrad" or importlib.util.find_spec(name) is not None]
    if mpiexec() is None or importlib.util.find_spec("mpi4py") is None:
        raise SystemExit("needs mpiexec and mpi4py: pip install -e '.[mpi]'")
    figures = {}
    for name in models:
        figures[name] = {library: {processes: run_worker(library, name, processes, steps,
                                                         warmup, timeout)
                                   for processes in (1, 2)} for library in libraries}
    return figures


def report(figures):
    """The table: step times, epoch speedups (2 t1 / t2), minigrad / PyTorch ratios."""
    lines = ["model  library    1 proc ms  2 procs ms  epoch speedup  2-proc ratio mg/torch"]
    for name, libraries in figures.items():
        for library, by_count in libraries.items():
            one, two = by_count[1]["step_s"], by_count[2]["step_s"]
            ratio = ""
            if library == "minigrad" and "torch" in libraries:
                ratio = f"{two / libraries['torch'][2]['step_s']:.2f}"
            lines.append(f"{name:6} {library:9} {one * 1e3:10.2f} {two * 1e3:11.2f} "
                         f"{2 * one / two:14.2f}x {ratio:>22}")
    mlp = figures.get("mlp", {})
    bandwidth = {**mlp.get("minigrad", {}).get(2, {}), **mlp.get("torch", {}).get(2, {})}
    if "gradient_bytes" in bandwidth:
        lines.append(f"MLP gradients {bandwidth['gradient_bytes'] / 1e6:.2f} MB, allreduce on 2 "
                     "processes: " + ", ".join(f"{k.removesuffix('_MBps')} "
                                               f"{v:.0f} MB/s" for k, v in bandwidth.items()
                                               if k.endswith("_MBps")))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 timed steps: a smoke run")
    parser.add_argument("--models", default="mlp,cnn", help="comma-separated: mlp, cnn")
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default 50)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps (default 5)")
    parser.add_argument("--libraries", default="minigrad,torch",
                        help="comma-separated: minigrad, torch (skipped when not installed)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per worker run")
    parser.add_argument("--worker", choices=["minigrad", "torch"], help=argparse.SUPPRESS)
    parser.add_argument("--processes", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--rank", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    steps = args.steps or (3 if args.quick else 50)
    warmup = args.warmup or (2 if args.quick else 5)
    models = [m for m in args.models.split(",") if m]
    unknown = set(models) - set(BATCH)
    if unknown:
        parser.error(f"unknown models {sorted(unknown)}; choose from {sorted(BATCH)}")
    if args.worker == "minigrad":
        return minigrad_worker(models[0], steps, warmup)
    if args.worker == "torch":
        return torch_worker(models[0], steps, warmup, args.processes, args.rank, args.port)
    figures = measure(models, steps, warmup, args.timeout, args.libraries.split(","))
    print(report(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
