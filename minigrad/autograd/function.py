"""``Function``: one differentiable op, its forward and backward side by side.

Every op in :mod:`minigrad.functional` is a subclass. ``forward`` and ``backward`` work on raw
backend arrays (NumPy or CuPy), which keeps them fast and readable; ``apply`` wraps the result
in tensors and records the op in the graph when gradients are needed.

Writing your own op::

    class Cube(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):              # x: a NumPy (or CuPy) array
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):          # grad: d(loss)/d(output), same shape as the output
            (x,) = ctx.saved
            return grad * 3 * x ** 2      # d(loss)/d(x), same shape and dtype as x

    y = Cube.apply(mg.tensor([1.0, 2.0], requires_grad=True))
"""

import weakref

from .grad_mode import is_grad_enabled
from .tensor import Tensor


class Function:
    """Base class of every differentiable op; an instance is both the ``ctx`` of one call and
    the node of the graph that records it.

    Attributes available in ``forward``/``backward``:

    - ``ctx.xp``: the array module (``numpy`` or ``cupy``) of the inputs;
    - ``ctx.backend``: their :class:`~minigrad.backends.Backend` (for its hot-path kernels);
    - ``ctx.needs_input_grad``: one bool per tensor input, so backward can skip work;
    - ``ctx.saved``: what ``save_for_backward`` stored.

    ``backward`` returns one gradient per tensor input (a tuple when there are several; ``None``
    for an input that needs none), each of that input's shape. Gradients are cast back to the
    input's dtype by the engine, which also checks their shapes.
    """

    #: How many tensors ``forward`` returns (a multi-output op returns a tuple and sets this).
    n_outputs = 1
    #: The inputs, kept while the graph lives (set to None when backward releases the graph).
    inputs = None
    #: The arrays stored by :meth:`save_for_backward` (released with the graph).
    saved = ()
    #: (output index, weak reference to the output tensor) for each output whose ``.grad``
    #: backward must also fill (:meth:`Tensor.retain_grad <minigrad.Tensor.retain_grad>`);
    #: released with the graph.
    retained_outputs = ()

    @staticmethod
    def forward(ctx, *arrays, **params):
        """Compute the op on raw arrays; return an array (or a tuple of arrays)."""
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grads):
        """Given d(loss)/d(each output), return d(loss)/d(each tensor input)."""
        raise NotImplementedError

    def save_for_backward(self, *arrays):
        """Keep arrays that ``backward`` needs; freed with the graph after backward."""
        self.saved = arrays

    def retain_output_grad(self, tensor):
        """Have backward also store d(loss)/d(``tensor``) in ``tensor.grad``; ``tensor`` is
        one of this node's outputs (what :meth:`Tensor.retain_grad
        <minigrad.Tensor.retain_grad>` asks for). Asking twice is asking once."""
        if any(ref() is tensor for _, ref in self.retained_outputs):
            return
        self.retained_outputs = self.retained_outputs + ((tensor._index, weakref.ref(tensor)),)

    @property
    def name(self):
        """The op's name, e.g. ``"Mul"`` (shown in reprs and graph drawings)."""
        return type(self).__name__

    def __repr__(self):
        return f"<{self.name}>"

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on tensors ``inputs`` (non-tensor arguments go in ``params``).

        Returns a tensor, or a tuple of tensors for a multi-output op.
        """
        backend = inputs[0]._backend
        requires_grad = False
        for tensor in inputs:
            if tensor._backend is not backend:
                raise _device_mismatch(cls, inputs)
            if tensor._requires_grad:
                requires_grad = True
        requires_grad = requires_grad and is_grad_enabled()

        ctx = cls.__new__(cls)
        ctx.backend = backend
        ctx.xp = xp = backend.xp
        ctx.needs_input_grad = tuple(t._requires_grad for t in inputs) if requires_grad else ()
        result = cls.forward(ctx, *[t.data for t in inputs], **params)

        if type(result) is tuple:
            ctx.n_outputs = len(result)
            outputs = tuple(_wrap(array, backend, xp, requires_grad, ctx, i)
                            for i, array in enumerate(result))
        else:
            outputs = _wrap(result, backend, xp, requires_grad, ctx, 0)
        if requires_grad:
            ctx.inputs = inputs
        return outputs


def _wrap(array, backend, xp, requires_grad, ctx, index):
    if not isinstance(array, xp.ndarray):
        array = xp.asarray(array)  # NumPy reductions return scalars, not 0-d arrays
    tensor = Tensor._make(array, backend, requires_grad)
    if requires_grad:
        tensor._node = ctx
        tensor._index = index
    return tensor


def _device_mismatch(cls, inputs):
    backends = []
    for tensor in inputs:
        if all(tensor._backend is not seen for seen in backends):
            backends.append(tensor._backend)
    first, second = backends[:2]
    if first.name == second.name:  # two objects for one device: a backend made by hand
        return RuntimeError(f"{cls.__name__}: the tensors are on {first.name!r} but on two "
                            f"different backend objects ({first!r} and {second!r}); get "
                            "backends only through minigrad.backends.get_backend")
    return RuntimeError(f"{cls.__name__}: all tensors must be on the same device, but got tensors "
                        f"on {first.name!r} and {second.name!r}; move one with .to(device)")
