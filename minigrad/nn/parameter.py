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

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        source = data
        if isinstance(data, Tensor):
            source, device = data.data, data._backend
        else:
            device = None
        super().__init__(source, device=device, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
