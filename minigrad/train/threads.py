"""How threads share a model: inference (``predict``, ``evaluate``, calling the model) from any
number of threads at once; ``fit`` alone.

Inference changes nothing in the model (it runs under :func:`minigrad.nn.module.eval_mode`,
which is per thread), so it needs no lock. ``fit`` changes the weights step by step, so while
it runs the model belongs to fit's thread:

- inference from another thread is refused (RuntimeError) rather than answered from weights
  that are half-way through an update; fit's own thread (validation, callbacks) may still
  predict and evaluate;
- fit first waits for the inference calls already running in other threads to finish (they
  answer from the weights from before fit), refusing new ones meanwhile so that a busy server
  cannot hold fit off;
- a second ``fit`` from another thread is refused.
"""

import functools
import threading
import weakref
from contextlib import contextmanager

_changed = threading.Condition()  # guards every model's _Use; notified when inference ends
_uses = weakref.WeakKeyDictionary()  # model -> _Use (nothing kept on the model: it copies)


class _Use:
    """Who is using one model: the thread in fit (and how deeply), the threads in inference."""

    def __init__(self):
        self.fit_thread = None
        self.fit_depth = 0
        self.inferring = {}  # thread id -> depth of nested inference calls


def _use_of(model):
    use = _uses.get(model)
    if use is None:
        use = _uses[model] = _Use()
    return use


@contextmanager
def inference(model, what):
    """Run the block as an inference call ``what`` (``"predict()"``, ...) on ``model``; raises
    RuntimeError if ``fit`` is training the model in another thread."""
    me = threading.get_ident()
    with _changed:
        use = _use_of(model)
        nested = me in use.inferring  # a call inside a call already admitted (predict -> model(x))
        if use.fit_thread not in (None, me) and not nested:
            raise RuntimeError(
                f"{what} on a model that fit() is training in another thread: its weights change "
                f"at every step. Predict from fit's own thread (a callback), after fit returns, "
                f"or on a copy (save() and mg.load_model(), or a second model with "
                f"set_weights(model.get_weights())).")
        use.inferring[me] = use.inferring.get(me, 0) + 1
    try:
        yield
    finally:
        with _changed:
            depth = use.inferring.pop(me) - 1
            if depth:
                use.inferring[me] = depth
            else:
                _changed.notify_all()


@contextmanager
def training(model):
    """Run the block (``fit``) with ``model`` owned by this thread: waits for the inference
    calls running in other threads to finish; raises RuntimeError if another thread is in fit."""
    me = threading.get_ident()
    with _changed:
        use = _use_of(model)
        if use.fit_thread not in (None, me):
            raise RuntimeError("fit() on a model that fit() is already training in another "
                               "thread; train a copy, or wait for that fit to return")
        use.fit_thread = me
        use.fit_depth += 1
        try:
            _changed.wait_for(lambda: all(thread == me for thread in use.inferring))
        except BaseException:
            _release(use)
            raise
    try:
        yield
    finally:
        with _changed:
            _release(use)


def _release(use):
    use.fit_depth -= 1
    if not use.fit_depth:
        use.fit_thread = None


def trains_alone(fit):
    """Decorate ``Model.fit``: it runs under :func:`training`."""
    @functools.wraps(fit)
    def fit_alone(self, *args, **kwargs):
        with training(self):
            return fit(self, *args, **kwargs)
    return fit_alone
