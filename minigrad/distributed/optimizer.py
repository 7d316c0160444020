"""``DistributedOptimizer``: an optimizer whose ``step()`` first averages the gradients over
the ranks -- the wrapper Horovod users know (``hvd.DistributedOptimizer``)."""

from .buckets import DEFAULT_BUCKET_BYTES
from .collectives import allreduce_gradients


class DistributedOptimizer:
    """Wrap ``optimizer`` so that :meth:`step` averages the gradients over the ranks
    (:func:`~minigrad.distributed.allreduce_gradients`) and then updates as usual. Everything
    else (``zero_grad``, ``state_dict``, ``load_state_dict``, ``param_groups``, ``lr``, ...)
    is the wrapped optimizer's.

    It is for hand-written training loops: ``model.fit`` averages the gradients itself when it
    runs under ``mpiexec``, so ``compile`` takes the plain optimizer (and refuses this one).

    Args:
        optimizer: a :class:`~minigrad.optim.Optimizer` holding the model's parameters.
        model: the model whose parameters to average; None: the optimizer's parameters, in
            group order (the same on every rank when every rank made the same optimizer).
        average, bucket_bytes, comm: as for
            :func:`~minigrad.distributed.allreduce_gradients`.

    >>> model = mg.nn.Dense(1)
    >>> model.build((None, 3))
    >>> opt = mg.distributed.DistributedOptimizer(mg.optim.SGD(model.parameters(), lr=0.1))
    >>> opt.zero_grad()
    >>> (model(mg.ones(4, 3)) ** 2).mean().backward()
    >>> opt.step()                   # averages over the ranks, then SGD's update
    """

    def __init__(self, optimizer, model=None, average=True, bucket_bytes=DEFAULT_BUCKET_BYTES,
                 comm=None):
        if not hasattr(optimizer, "step") or not hasattr(optimizer, "param_groups"):
            raise TypeError(f"DistributedOptimizer expected an optimizer (mg.optim.SGD, Adam, "
                            f"...), got {type(optimizer).__name__}")
        # Set through __dict__: __setattr__ hands other names to the wrapped optimizer.
        self.__dict__.update(optimizer=optimizer, model=model, average=average,
                             bucket_bytes=bucket_bytes, comm=comm)

    def synchronize(self, weights=None):
        """Average the gradients now (what :meth:`step` does first); ``weights`` as for
        :func:`~minigrad.distributed.allreduce_gradients`."""
        params = (self.model if self.model is not None else
                  [p for group in self.optimizer.param_groups for p in group["params"]])
        allreduce_gradients(params, average=self.average, bucket_bytes=self.bucket_bytes,
                            weights=weights, comm=self.comm)

    def step(self, weights=None):
        """Average the gradients over the ranks, then take the wrapped optimizer's step."""
        self.synchronize(weights)
        self.optimizer.step()

    def zero_grad(self, set_to_none=True):
        """The wrapped optimizer's ``zero_grad``."""
        self.optimizer.zero_grad(set_to_none)

    def state_dict(self):
        """The wrapped optimizer's state (the same on every rank)."""
        return self.optimizer.state_dict()

    def load_state_dict(self, state_dict):
        """Load ``state_dict`` into the wrapped optimizer."""
        self.optimizer.load_state_dict(state_dict)

    def __getattr__(self, name):
        # Only reached for names not found on the wrapper: param_groups, lr, iterations, ...
        if name == "optimizer":
            raise AttributeError(name)
        return getattr(self.optimizer, name)

    def __setattr__(self, name, value):
        if name in ("average", "bucket_bytes", "comm", "model"):
            self.__dict__[name] = value
        else:
            setattr(self.optimizer, name, value)   # opt.lr = 0.01 sets the wrapped one's

    def __repr__(self):
        return f"DistributedOptimizer({self.optimizer!r})"
