"""minigrad's own CPU threads (minigrad/backends/cpu_threads.py): how tasks are shared out,
what happens to NumPy's BLAS, and that the ops that use them give the serial results."""

import threading

import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg
from minigrad.backends import cpu_threads, get_backend
from minigrad.train.callbacks import Callback

cpu = get_backend("cpu")


@pytest.fixture(autouse=True)
def follow_blas_again():
    yield
    mg.set_num_threads(None)


@given(tasks=st.integers(0, 40), count=st.integers(1, 8))
def test_shares_are_contiguous_nearly_equal_and_cover_every_task_once(tasks, count):
    shares = cpu_threads._split(list(range(tasks)), count)
    assert len(shares) == count
    assert [t for share in shares for t in share] == list(range(tasks))
    sizes = [len(share) for share in shares]
    assert max(sizes) - min(sizes) <= 1


def test_run_shares_uses_several_threads_and_keeps_the_order():
    mg.set_num_threads(3)
    seen = []
    together = threading.Barrier(3, timeout=30)  # passes only if 3 shares run at once

    def share(tasks):
        seen.append((threading.get_ident(), tasks))
        together.wait()
        return [t * t for t in tasks]

    results = cpu_threads.run_shares(share, range(10))
    assert [r for part in results for r in part] == [t * t for t in range(10)]
    assert len(results) == 3
    assert len({ident for ident, _ in seen}) == 3
    assert threading.get_ident() in {ident for ident, _ in seen}  # the caller takes one


def test_one_thread_runs_every_task_in_one_share_on_the_caller():
    mg.set_num_threads(1)
    idents = []
    results = cpu_threads.run_shares(lambda tasks: idents.append(threading.get_ident())
                                     or list(tasks), range(7))
    assert results == [list(range(7))]
    assert idents == [threading.get_ident()]


def test_an_error_in_any_share_reaches_the_caller_and_frees_the_threads():
    mg.set_num_threads(2)

    def share(tasks):
        if 5 in tasks:
            raise ValueError("task 5 failed")
        return tasks

    with pytest.raises(ValueError, match="task 5 failed"):
        cpu_threads.run_shares(share, range(8))
    assert len(cpu_threads.run_shares(lambda tasks: tasks, range(8))) == 2  # not stuck


def test_a_share_that_runs_tasks_of_its_own_runs_them_in_place():
    mg.set_num_threads(2)

    def inner(tasks):
        return cpu_threads.run_shares(lambda more: len(more), range(6))

    assert cpu_threads.run_shares(inner, range(4)) == [[6], [6]]


def test_set_num_threads_rejects_what_is_not_a_positive_count():
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="positive int or None"):
            mg.set_num_threads(bad)


@pytest.fixture
def blas_on_one_thread(monkeypatch):
    """As after a convolution on minigrad's threads: batch norm and ReLU use the threads then
    (and only then)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        monkeypatch.setattr(cpu_threads, "_blas_on_one_thread_already", lambda: True)
        yield


def _blas():
    controllers = cpu_threads._blas_controllers()
    if not controllers:
        pytest.skip("threadpoolctl sees no BLAS in this process")
    return controllers[0]


def test_blas_runs_on_one_thread_after_a_parallel_op_until_given_back():
    from threadpoolctl import threadpool_limits

    blas = _blas()
    with threadpool_limits(limits=2, user_api="blas"):
        if blas.num_threads != 2:
            pytest.skip("this BLAS cannot be set to 2 threads")
        assert mg.get_num_threads() == 2
        cpu_threads.run_shares(lambda tasks: tasks, range(4))
        assert blas.num_threads == 1
        assert mg.get_num_threads() == 2  # still minigrad's count
        cpu_threads.restore_blas()
        assert blas.num_threads == 2


def test_fit_gives_blas_its_threads_back(monkeypatch):
    from threadpoolctl import threadpool_limits

    blas = _blas()
    monkeypatch.setattr(cpu, "conv_block_bytes", 1)  # an image a block: several blocks
    with threadpool_limits(limits=2, user_api="blas"):
        if blas.num_threads != 2:
            pytest.skip("this BLAS cannot be set to 2 threads")
        model = mg.Sequential([mg.nn.Conv2D(2, 3, input_shape=(6, 6, 1)), mg.nn.Flatten(),
                               mg.nn.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        seen = []

        class WatchBlas(Callback):
            def on_epoch_end(self, epoch, logs=None):
                seen.append(blas.num_threads)

        x = np.ones((64, 6, 6, 1), np.float32)
        model.fit(x, np.ones((64, 1), np.float32), batch_size=64, verbose=0,
                  callbacks=[WatchBlas()])
        assert seen == [1]  # the convolution ran on minigrad's threads
        assert blas.num_threads == 2


def _conv_results(threads, block_bytes, monkeypatch, **options):
    rng = np.random.default_rng(5)
    groups = options.get("groups", 1)
    x = rng.standard_normal((9, 7, 8, 4))
    kernel = rng.standard_normal((3, 3, 4 // groups, 6))
    bias = rng.standard_normal(6)
    mg.set_num_threads(threads)
    monkeypatch.setattr(cpu, "conv_block_bytes", block_bytes)
    tensors = [mg.tensor(a, requires_grad=True) for a in (x, kernel, bias)]
    out = mg.conv2d(*tensors, **options)
    (out * mg.tensor(rng.standard_normal(out.shape))).sum().backward()
    return [out.numpy()] + [t.grad.numpy() for t in tensors]


@pytest.mark.parametrize("options", [
    dict(activation="relu"),
    dict(padding="same", strides=2),
    dict(dilation=2, padding=1),
    dict(groups=2, activation="relu"),
])
def test_conv2d_on_threads_in_blocks_equals_one_thread_in_one_block(options, monkeypatch):
    serial = _conv_results(1, None, monkeypatch, **options)
    for threads in (2, 3):
        for block_bytes in (1, 2000):  # one image a block, a few images a block
            threaded = _conv_results(threads, block_bytes, monkeypatch, **options)
            for got, want in zip(threaded, serial):
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert np.abs(serial[1]).max() > 0


@pytest.mark.parametrize("pool, strides, padding", [(2, 2, "valid"), (3, 2, "same")])
def test_max_pooling_on_threads_equals_one_thread(pool, strides, padding):
    rng = np.random.default_rng(6)
    x = rng.integers(-3, 4, (7, 9, 9, 5)).astype(np.float64)  # ties
    grad = None
    results = []
    for threads in (1, 3):
        mg.set_num_threads(threads)
        tx = mg.tensor(x, requires_grad=True)
        out = mg.max_pool2d(tx, pool, strides=strides, padding=padding)
        grad = rng.standard_normal(out.shape) if grad is None else grad
        out.backward(mg.tensor(grad))
        results.append((out.numpy(), tx.grad.numpy()))
    for got, want in zip(*results):
        np.testing.assert_array_equal(got, want)


def _batch_norm_results(threads, block_bytes, monkeypatch):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((6, 5, 7, 3)) * 3 + 2
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    mg.set_num_threads(threads)
    monkeypatch.setattr(cpu, "cache_block_bytes", block_bytes)
    tensors = [mg.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
    mean, var = mg.zeros(3, dtype=mg.float64), mg.ones(3, dtype=mg.float64)
    out = mg.batch_norm(*tensors, mean, var, training=True)
    (out * mg.tensor(rng.standard_normal(out.shape))).sum().backward()
    return [out.numpy(), mean.numpy(), var.numpy()] + [t.grad.numpy() for t in tensors]


def test_batch_norm_on_threads_in_row_blocks_equals_one_thread_in_one_block(
        monkeypatch, blas_on_one_thread):
    serial = _batch_norm_results(1, 2**30, monkeypatch)
    for threads in (2, 3):
        for block_bytes in (1, 200):  # a row a block, a few rows a block
            threaded = _batch_norm_results(threads, block_bytes, monkeypatch)
            for got, want in zip(threaded, serial):
                np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12)
    assert np.abs(serial[3]).max() > 0


@pytest.mark.parametrize("contiguous", [True, False])
def test_relu_on_threads_in_blocks_equals_one_thread(contiguous, monkeypatch,
                                                    blas_on_one_thread):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((6, 7, 5))
    x = x if contiguous else x.transpose(2, 0, 1)  # no flat view: the whole array at once
    grad = rng.standard_normal(x.shape)
    results = []
    for threads, block_bytes in ((1, None), (3, 24)):  # 3 values a block
        mg.set_num_threads(threads)
        monkeypatch.setattr(cpu, "cache_block_bytes", block_bytes)
        tx = mg.tensor(x, requires_grad=True)
        out = mg.relu(tx)
        out.backward(mg.tensor(grad))
        results.append((out.numpy(), tx.grad.numpy()))
    for got, want in zip(*results):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(results[0][0], np.maximum(x, 0))
    np.testing.assert_array_equal(results[0][1], grad * (x > 0))


def test_ops_called_from_several_threads_at_once_give_each_caller_its_own_result(monkeypatch):
    """Server threads predicting at once: one runs on minigrad's threads, the others run their
    tasks in place; nobody's blocks or buffers get mixed up."""
    from concurrent.futures import ThreadPoolExecutor

    mg.set_num_threads(2)
    monkeypatch.setattr(cpu, "conv_block_bytes", 1)
    rng = np.random.default_rng(9)
    kernel = mg.tensor(rng.standard_normal((3, 3, 2, 4)))
    images = [rng.standard_normal((5, 6, 6, 2)) for _ in range(8)]

    def convolve(x):
        out = mg.conv2d(mg.tensor(x), kernel, activation="relu")
        return mg.max_pool2d(out, 2).numpy()

    want = [convolve(x) for x in images]
    with ThreadPoolExecutor(4) as callers:
        for _ in range(5):
            got = list(callers.map(convolve, images))
            for g, w in zip(got, want):
                np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_batch_norm_and_relu_leave_blas_its_threads(monkeypatch):
    """In a model of products (an MLP with batch norm), BLAS's threads serve the products
    better than ours: the memory-bound passes do not take them."""
    from threadpoolctl import threadpool_limits

    blas = _blas()
    monkeypatch.setattr(cpu, "cache_block_bytes", 64)
    with threadpool_limits(limits=2, user_api="blas"):
        if blas.num_threads != 2:
            pytest.skip("this BLAS cannot be set to 2 threads")
        mg.set_num_threads(2)
        x = mg.tensor(np.random.default_rng(1).standard_normal((64, 16)), requires_grad=True)
        out = mg.relu(mg.batch_norm(x, None, None, mg.zeros(16, dtype=mg.float64),
                                    mg.ones(16, dtype=mg.float64), training=True))
        out.sum().backward()
        assert blas.num_threads == 2


def test_an_empty_batch_goes_through_conv_and_pooling(monkeypatch):
    mg.set_num_threads(2)
    monkeypatch.setattr(cpu, "conv_block_bytes", 1)
    x = mg.zeros(0, 6, 6, 2, requires_grad=True)
    kernel = mg.ones(3, 3, 2, 4, requires_grad=True)
    out = mg.max_pool2d(mg.conv2d(x, kernel, mg.zeros(4), activation="relu"), 2)
    assert out.shape == (0, 2, 2, 4)
    out.sum().backward()
    assert x.grad.shape == (0, 6, 6, 2)
    np.testing.assert_array_equal(kernel.grad.numpy(), np.zeros((3, 3, 2, 4)))
