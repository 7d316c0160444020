"""GPU-only figures: the MLP's achieved FLOP rate as a fraction of the GPU's float32 matrix-
product rate measured by CuPy in the same run, and minigrad's CNN step on the CPU against the
GPU (see :func:`benchmarks.cnn.run_speedup`)."""

import time

import numpy as np

from . import mlp
from .harness import Throughput, median_time, synchronizers

GEMM_SIZE = 8192  # large enough for cuBLAS to reach its sustained rate


def gemm_rate(size=GEMM_SIZE, repeats=10):
    """CuPy's float32 matrix-product rate on the current GPU, in FLOP/s (2 n^3 per product),
    the median over ``repeats`` products after a warm-up."""
    import cupy

    rng = cupy.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    out = cupy.empty_like(a)
    stream = cupy.cuda.get_current_stream()
    for _ in range(2):
        cupy.matmul(a, b, out=out)
    stream.synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        cupy.matmul(a, b, out=out)
        stream.synchronize()
        times.append(time.perf_counter() - start)
    return 2 * size ** 3 / float(np.median(times))


def run_mlp_flops(repeats=30, device="cuda"):
    """(a) MLP training step on the GPU: its matrix-product FLOPs per second of step time."""
    weights, x, y = mlp.problem(np.random.default_rng(0))
    ours_sync, _ = synchronizers(device)
    seconds = median_time(mlp.minigrad_step(weights, x, y, device), repeats=repeats,
                          synchronize=ours_sync)
    return Throughput("(a) MLP train step b128, minigrad", mlp.train_step_flops() / seconds,
                      gemm_rate(), f"CuPy float32 GEMM {GEMM_SIZE}^3")
