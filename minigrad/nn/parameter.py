"""``Parameter``: a tensor that a module learns."""

from ..autograd.tensor import Tensor


class Parameter(Tensor):
    """A learnable tensor: registered by the :class:`~minigrad.nn.Module` it is assigned to,
    returned by ``module.parameters()`` and updated by optimizers. ``requires_grad`` is true
    unless frozen.

    >>> w = mg.nn.Parameter(mg.zeros(3, 2))
    >>> w.requires_grad, w.shape
    (True, (3, 2))
    """

    __slots__ = {"pruning_mask": "Where this weight is pruned, a bool tensor of its shape, False "
                                 "at the entries that optimizers keep at zero (see "
                                 "minigrad.nn.pruning_masks); else None."}

    def __init__(self, data, requires_grad=True):
        source = data
        if isinstance(data, Tensor):
            source, device = data.data, data._backend
        else:
            device = None
        super().__init__(source, device=device, requires_grad=requires_grad)
        self.pruning_mask = None

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
