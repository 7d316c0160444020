"""no_grad / enable_grad / set_grad_enabled: context managers, decorators, thread-local."""

import threading

import minigrad as mg


def test_no_grad_results_do_not_require_grad():
    x = mg.ones(2, requires_grad=True)
    with mg.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert (x * 2).requires_grad


def test_enable_grad_inside_no_grad():
    x = mg.ones(2, requires_grad=True)
    with mg.no_grad():
        with mg.enable_grad():
            y = x * 2
        z = x * 2
    assert y.requires_grad and not z.requires_grad


def test_decorators_with_and_without_parentheses():
    x = mg.ones(2, requires_grad=True)

    @mg.no_grad()
    def with_parentheses():
        return x * 2

    @mg.no_grad
    def without_parentheses():
        return x * 2

    assert not with_parentheses().requires_grad
    assert not without_parentheses().requires_grad
    assert mg.is_grad_enabled()


def test_set_grad_enabled():
    x = mg.ones(2, requires_grad=True)
    with mg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    with mg.set_grad_enabled(True):
        assert (x * 2).requires_grad


def test_state_is_restored_after_an_exception():
    try:
        with mg.no_grad():
            raise KeyError
    except KeyError:
        pass
    assert mg.is_grad_enabled()


def test_grad_mode_is_thread_local():
    # A thread serving inference under no_grad must not switch gradients off elsewhere.
    inside = threading.Event()
    release = threading.Event()

    def inference():
        with mg.no_grad():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=inference)
    thread.start()
    inside.wait(5)
    try:
        x = mg.ones(2, requires_grad=True)
        assert mg.is_grad_enabled()
        assert (x * 2).requires_grad
    finally:
        release.set()
        thread.join()
