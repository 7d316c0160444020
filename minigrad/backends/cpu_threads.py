"""The CPU backend's own threads: an op cuts its work into independent tasks (blocks of
images, blocks of rows) and runs them side by side on minigrad's threads, each calling NumPy's
BLAS on one thread.

Why not leave the parallelism to BLAS: a convolution's step is as much memory-bound copying
(im2col, pooling, masks, batch normalization) as matrix products, and those loops run on one
core. A second thread for them does not help while BLAS is multithreaded: after each product
(and after every call that sets its thread count) OpenBLAS's worker threads spin for about
0.1 s waiting for the next one, and hold the other cores. On 2 cores an im2col cut in two
halves took 1.29 ms alone and 2.33 ms right after a product (one thread: 2.24 ms;
benchmarks/README.md, issue 18). So minigrad runs both on its own threads, as PyTorch runs
everything on its one OpenMP pool, and sets NumPy's BLAS to one thread the first time it does:
the spinning stops.

That setting stays (setting BLAS back would wake the spinning threads at every op), so NumPy
products made afterwards -- the program's own, and those of ops without tasks of their own
(dense layers, recurrent steps) -- run on one thread, until ``model.fit`` or ``evaluate``
returns (they give BLAS its count back: :func:`restore_blas`) or
:func:`minigrad.set_num_threads` is called. (Products of the MNIST MLP's shapes cut in two
over our threads took 1.3-1.5x as long as OpenBLAS's own two threads: BLAS's threads are the
better choice where nothing else runs beside the products, so ops that are only products do
not use ours.)

How many threads: :func:`minigrad.set_num_threads`, or else as many as NumPy's BLAS uses when
the first parallel op runs (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``,
``threadpoolctl.threadpool_limits``). One thread, or a BLAS that threadpoolctl cannot see,
means no threads of our own. An op entered while another thread is running one (two server
threads predicting at once) runs its tasks one after another on the calling thread.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

_state = threading.local()  # .inside: this thread is running a share of an op's tasks
_region_lock = threading.Lock()
_pool = None
_pool_key = None  # (pid, workers): a forked child, or a new thread count, makes a new pool
_blas = None
_chosen = None  # set_num_threads's count
_blas_threads = None  # BLAS's thread count before minigrad set it to one, while it is


def _blas_controllers():
    """threadpoolctl's controllers of the BLAS libraries loaded in this process (found once;
    not PyTorch's own, whose threads are PyTorch's to set)."""
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController
            found = ThreadpoolController().select(user_api="blas").lib_controllers
            _blas = [c for c in found
                     if f"{os.sep}torch{os.sep}" not in str(getattr(c, "filepath", ""))]
        except Exception:  # threadpoolctl missing or unable to inspect: stay serial
            _blas = []
    return _blas


def get_num_threads():
    """How many threads minigrad's CPU ops use (see the module's docstring)."""
    if _chosen is not None:
        return _chosen
    blas = min((c.num_threads for c in _blas_controllers()), default=1)
    if _blas_threads is not None and blas == 1:  # we set it to one
        return _blas_threads
    return max(1, blas)


def set_num_threads(count):
    """Run minigrad's CPU ops on ``count`` threads (``None``: follow NumPy's BLAS again), and
    give NumPy's BLAS back the thread count it had before minigrad set it to one."""
    global _chosen
    if count is not None and (isinstance(count, bool) or not isinstance(count, int)
                              or count < 1):
        raise ValueError(f"set_num_threads: count must be a positive int or None, got {count!r}")
    _chosen = count
    restore_blas()


def restore_blas():
    """Give NumPy's BLAS back the thread count it had before minigrad set it to one (a no-op
    if it did not)."""
    global _blas_threads
    with _region_lock:
        if _blas_threads is not None:
            for controller in _blas_controllers():
                if controller.num_threads == 1:
                    controller.set_num_threads(_blas_threads)
            _blas_threads = None


def run_shares(function, tasks, take_blas=True):
    """Cut ``tasks`` into one contiguous share per thread and call ``function(share)`` (a list
    of tasks) for each share on its own thread, the calling thread taking the first; return
    their results in the shares' order (one share of all the tasks without threads of our own).

    ``take_blas``: set NumPy's BLAS to one thread if it is not (an op with much besides its
    products: a convolution, pooling). With False (memory-bound passes met in models that are
    mostly products, as a batch norm or ReLU between dense layers) the tasks run on our
    threads only if BLAS is on one thread already, and else one after another: an MLP keeps
    BLAS's threads for its products, which are most of its time.

    A share is contiguous so that tasks writing neighbouring rows stay on one core, and one
    call per thread lets ``function`` keep per-thread buffers and partial sums. ``function``
    must be safe to run on several threads at once (NumPy, and ``nogil`` Numba kernels writing
    disjoint outputs, are)."""
    tasks = list(tasks)
    count = min(get_num_threads(), len(tasks))
    if (count < 2 or getattr(_state, "inside", False)
            or not (take_blas or _blas_on_one_thread_already())
            or not _region_lock.acquire(blocking=False)):
        return [function(tasks)]
    try:
        _blas_on_one_thread()
        shares = _split(tasks, count)
        pool = _get_pool(count - 1)
        futures = [pool.submit(_run_share, function, share) for share in shares[1:]]
        try:
            results = [_run_share(function, shares[0])]
        finally:  # even if the first share raised: no thread still writes when we return
            for future in futures:
                future.exception()
        return results + [future.result() for future in futures]
    finally:
        _region_lock.release()


def _blas_on_one_thread_already():
    return all(controller.num_threads == 1 for controller in _blas_controllers())


def _blas_on_one_thread():
    global _blas_threads
    for controller in _blas_controllers():
        if controller.num_threads != 1:
            if _blas_threads is None:
                _blas_threads = controller.num_threads
            controller.set_num_threads(1)


def _run_share(function, share):
    _state.inside = True
    try:
        return function(share)
    finally:
        _state.inside = False


def _split(tasks, count):
    """``tasks`` cut into ``count`` contiguous runs of nearly equal length."""
    size, extra = divmod(len(tasks), count)
    runs, start = [], 0
    for i in range(count):
        end = start + size + (i < extra)
        runs.append(tasks[start:end])
        start = end
    return runs


def _get_pool(workers):
    global _pool, _pool_key
    key = (os.getpid(), workers)
    if _pool_key != key:
        # A forked child inherits the parent's pool object but none of its threads.
        _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="minigrad-cpu")
        _pool_key = key
    return _pool
