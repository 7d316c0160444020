"""One grad-mode object (``no_grad()``, ``set_grad_enabled(...)``) entered by several threads
at once: each thread gets its own state back on exit, whatever the interleaving."""

import sys
import threading

import pytest

import minigrad as mg


@pytest.mark.parametrize("make", [mg.no_grad, lambda: mg.set_grad_enabled(False)],
                         ids=["no_grad", "set_grad_enabled"])
def test_one_object_entered_by_two_threads_restores_each_threads_own_state(make):
    # Thread A enters with gradients on, thread B with them off; they exit in the order
    # A, B -- the order in which a stack shared between threads hands each the other's state.
    shared = make()
    step = threading.Barrier(2, timeout=10)
    seen = {}

    def thread_a():
        with shared:
            step.wait()                           # 1: A is inside
            step.wait()                           # 2: B is inside too
            seen["a inside"] = mg.is_grad_enabled()
        seen["a after"] = mg.is_grad_enabled()    # entered with gradients on
        step.wait()                               # 3: A has left

    def thread_b():
        with mg.no_grad():
            step.wait()                           # 1
            with shared:
                step.wait()                       # 2
                step.wait()                       # 3
            seen["b after"] = mg.is_grad_enabled()  # entered with gradients off

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"a inside": False, "a after": True, "b after": False}
    assert mg.is_grad_enabled()  # the main thread never entered it


def test_one_object_used_by_many_threads_for_many_rounds_never_leaks():
    shared = mg.no_grad()
    threads, rounds = 8, 10000
    start = threading.Barrier(threads, timeout=10)
    leaks = []

    def work(index):
        # Half the threads run with gradients off outside the block, half with them on.
        outside = index % 2 == 0
        start.wait()
        with mg.set_grad_enabled(outside):
            for _ in range(rounds):
                with shared:
                    if mg.is_grad_enabled():
                        leaks.append("on inside no_grad")
                if mg.is_grad_enabled() != outside:
                    leaks.append("wrong state after no_grad")

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so that they interleave in the blocks
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        sys.setswitchinterval(interval)
    assert not leaks, f"{len(leaks)} of {threads * rounds} rounds leaked: {leaks[:3]}"


def test_one_object_still_nests_in_one_thread():
    shared = mg.no_grad()
    with shared:
        with mg.enable_grad():
            with shared:
                assert not mg.is_grad_enabled()
            assert mg.is_grad_enabled()
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()
