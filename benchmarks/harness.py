"""Timing minigrad against PyTorch fairly: same process, same thread count, median of many
steps after a warm-up, and the ratio minigrad / PyTorch."""

import os
import statistics
import time
from dataclasses import dataclass


def set_threads(count):
    """Use ``count`` threads in NumPy's BLAS, Numba and PyTorch (intra- and inter-op)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=count)
    os.environ["NUMBA_NUM_THREADS"] = str(count)
    try:
        import numba

        numba.set_num_threads(min(count, numba.config.NUMBA_NUM_THREADS))
    except ImportError:
        pass
    import torch

    torch.set_num_threads(count)
    try:
        torch.set_num_interop_threads(count)
    except RuntimeError:
        pass  # already set in this process


def blas_description():
    """Which BLAS libraries NumPy and PyTorch use, and their thread counts."""
    from threadpoolctl import threadpool_info

    parts = [f"{info['internal_api']}({info['num_threads']})" for info in threadpool_info()]
    return ", ".join(parts)


def median_time(step, warmup=5, repeats=30, synchronize=None):
    """The median wall time of ``step()`` in seconds, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        step()
    if synchronize:
        synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        if synchronize:
            synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def compare_training(name, ours, theirs, target_ratio, warmup=5, repeats=30):
    """Time two training-step closures (each returns its loss tensor) after checking that their
    first losses agree: same weights and data, or the comparison would mean nothing."""
    ours_loss, torch_loss = float(ours().item()), float(theirs().item())
    if abs(ours_loss - torch_loss) > 1e-4 * abs(torch_loss) + 1e-8:
        raise RuntimeError(f"{name}: the first losses differ: minigrad {ours_loss} vs torch "
                           f"{torch_loss}")
    return Result(name, median_time(ours, warmup, repeats), median_time(theirs, warmup, repeats),
                  target_ratio)


@dataclass
class Result:
    """One benchmark's figures: each library's measurement (seconds per step, or bytes with
    ``unit="bytes"``) and the target ratio minigrad / PyTorch."""

    name: str
    minigrad: float
    torch: float
    target_ratio: float
    unit: str = "seconds"

    @property
    def ratio(self):
        return self.minigrad / self.torch

    def _show(self, value):
        if self.unit == "bytes":
            return f"{value / 1e6:9.1f} MB"
        return f"{value * 1e3:9.3f} ms"

    def line(self):
        verdict = "ok" if self.ratio <= self.target_ratio else "ABOVE TARGET"
        return (f"{self.name:<46} minigrad {self._show(self.minigrad)}   "
                f"torch {self._show(self.torch)}   ratio {self.ratio:5.2f}   "
                f"(target <= {self.target_ratio:g}: {verdict})")


class Results(list):
    """Several results of one benchmark; ``line()`` gives one line per result."""

    def line(self):
        return "\n".join(result.line() for result in self)
