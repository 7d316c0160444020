"""Timing minigrad against PyTorch fairly: same process, same thread count, median of many
steps after a warm-up, and the ratio minigrad / PyTorch. On a GPU each timed step ends by
waiting for the device (both libraries queue their kernels and return at once)."""

import statistics
import time
from dataclasses import dataclass


def set_threads(count, with_torch=True):
    """Use ``count`` threads in NumPy's BLAS, minigrad, Numba and (unless ``with_torch`` is
    False) PyTorch (intra- and inter-op).

    Numba's pool is limited with ``set_num_threads``, never by changing ``NUMBA_NUM_THREADS``
    in ``os.environ``: Numba rereads that variable at each compilation and refuses to run once
    it differs from the pool already launched, which broke every later compilation in a
    process that timed twice with different counts (the test suite's)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=count)
    import minigrad

    # minigrad's own CPU threads; this also gives NumPy's BLAS back the count just set, if a
    # convolution benchmark before had minigrad set it to one (minigrad.backends.cpu_threads).
    minigrad.set_num_threads(count)
    try:
        import numba

        numba.set_num_threads(min(count, numba.config.NUMBA_NUM_THREADS))
    except ImportError:
        pass
    if not with_torch:
        return
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


def on(device):
    """The suffix of a benchmark's name on ``device``: nothing on the CPU (the names of the
    measured tables), " [cuda]" on a GPU."""
    return "" if device == "cpu" else f" [{device}]"


def synchronizers(device):
    """(minigrad's, PyTorch's) functions that wait for ``device`` to finish its queued work, for
    timing; (None, None) on the CPU, where every call finishes before it returns."""
    if device == "cpu":
        return None, None
    import torch

    from minigrad.backends import get_backend

    return get_backend(device).synchronize, torch.cuda.synchronize


def compare_training(name, ours, theirs, target_ratio, warmup=5, repeats=30, device="cpu"):
    """Time two training-step closures (each returns its loss tensor) after checking that their
    first losses agree: same weights and data, or the comparison would mean nothing."""
    ours_loss, torch_loss = float(ours().item()), float(theirs().item())
    if abs(ours_loss - torch_loss) > 1e-4 * abs(torch_loss) + 1e-8:
        raise RuntimeError(f"{name}: the first losses differ: minigrad {ours_loss} vs torch "
                           f"{torch_loss}")
    ours_sync, torch_sync = synchronizers(device)
    return Result(name, median_time(ours, warmup, repeats, ours_sync),
                  median_time(theirs, warmup, repeats, torch_sync), target_ratio)


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


@dataclass
class Speedup:
    """One program timed on two devices: seconds per step on each, and the least speedup
    (slow / fast) wanted."""

    name: str
    slow_device: str
    slow: float
    fast_device: str
    fast: float
    target: float

    def line(self):
        speedup = self.slow / self.fast
        verdict = "ok" if speedup >= self.target else "BELOW TARGET"
        return (f"{self.name:<46} {self.slow_device} {self.slow * 1e3:9.3f} ms   "
                f"{self.fast_device} {self.fast * 1e3:9.3f} ms   speedup {speedup:6.1f}x   "
                f"(target >= {self.target:g}x: {verdict})")


@dataclass
class Throughput:
    """An achieved floating-point rate beside a reference rate measured in the same run."""

    name: str
    achieved: float   # FLOP/s
    reference: float  # FLOP/s
    reference_name: str

    def line(self):
        return (f"{self.name:<46} {self.achieved / 1e12:8.3f} TFLOP/s = "
                f"{100 * self.achieved / self.reference:5.1f}% of {self.reference_name} "
                f"({self.reference / 1e12:.2f} TFLOP/s)")


class Results(list):
    """Several results of one benchmark; ``line()`` gives one line per result."""

    def line(self):
        return "\n".join(result.line() for result in self)
