"""Grad mode: whether ops record the graph. Thread-local, so a server thread running inference
under ``no_grad()`` never switches gradients off for a training thread."""

import functools
import threading

_state = threading.local()


def is_grad_enabled():
    """True if ops executed now (in this thread) record the autograd graph."""
    return getattr(_state, "enabled", True)


def _set_enabled(enabled):
    _state.enabled = enabled


class _GradMode:
    """Base of :class:`no_grad` / :class:`enable_grad`: a context manager and a decorator."""

    enabled = True

    def __new__(cls, *args):
        # `@mg.no_grad` without parentheses: decorate the function right away.
        if cls is not set_grad_enabled and len(args) == 1 and callable(args[0]):
            return cls()(args[0])
        instance = super().__new__(cls)
        # The states to restore on exit: a stack, so that one instance can be nested or
        # reused, and one per thread, so that an instance entered by two threads at once
        # restores each thread's own state.
        instance._previous = threading.local()
        return instance

    def _stack(self):
        stack = getattr(self._previous, "stack", None)
        if stack is None:
            stack = self._previous.stack = []
        return stack

    def __enter__(self):
        self._stack().append(is_grad_enabled())
        _set_enabled(self.enabled)
        return self

    def __exit__(self, *exc_info):
        _set_enabled(self._stack().pop())
        return False

    def __call__(self, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with type(self)():
                return function(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Run ops without recording the graph: results have ``requires_grad=False``.

    Use it for inference and for parameter updates. Works as a context manager and a decorator::

        with mg.no_grad():
            y = model(x)

        @mg.no_grad()
        def predict(x): ...
    """

    enabled = False


class enable_grad(_GradMode):
    """Record the graph again inside a :class:`no_grad` block (context manager or decorator)."""

    enabled = True


class set_grad_enabled(_GradMode):
    """Switch graph recording on or off: ``with mg.set_grad_enabled(is_training): ...``."""

    def __init__(self, mode):
        self.enabled = bool(mode)

    def __call__(self, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(self.enabled):
                return function(*args, **kwargs)
        return wrapper
