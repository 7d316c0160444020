"""The backward pass: walk the graph from a result back to the leaves, applying each op's
backward and summing the gradients of tensors used more than once."""

from .tensor import Tensor


def run_backward(tensor, grad=None, retain_graph=False):
    """Accumulate d(tensor)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

    ``grad`` is d(loss)/d(tensor) (a tensor or array of ``tensor``'s shape); it may be omitted
    for a single-element tensor, where it is 1. Unless ``retain_graph`` is true, each node
    releases its saved arrays once it has run, so a second backward through it is an error.
    """
    if not tensor._requires_grad:
        raise RuntimeError("backward(): the tensor does not require grad, so there is no graph to "
                           "differentiate; create its inputs with requires_grad=True, outside "
                           "mg.no_grad()")
    grad = _initial_grad(tensor, grad)
    handed_to_leaves = set()
    root = tensor._node
    if root is None:
        _accumulate_leaf(tensor, grad, handed_to_leaves)
        return

    pending = {root: [None] * root.n_outputs}
    pending[root][tensor._index] = grad
    for node in _topological_order(root):
        output_grads = pending.pop(node, None)
        if output_grads is not None:
            _run_node(node, output_grads, pending, handed_to_leaves)
        if not retain_graph:
            _release(node)


def _run_node(node, output_grads, pending, handed_to_leaves):
    for index, ref in node.retained_outputs:
        output = ref()
        if output is not None and output_grads[index] is not None:
            _accumulate_leaf(output, output_grads[index], handed_to_leaves)

    input_grads = node.backward(node, *output_grads)
    if type(input_grads) is not tuple:
        input_grads = (input_grads,)
    inputs = node.inputs
    if len(input_grads) != len(inputs):
        raise RuntimeError(f"{node.name}.backward returned {len(input_grads)} gradients for "
                           f"{len(inputs)} inputs")
    for tensor, grad, needed in zip(inputs, input_grads, node.needs_input_grad):
        if not needed or grad is None:
            continue
        data = tensor.data
        if grad.shape != data.shape:
            raise RuntimeError(f"{node.name}.backward returned a gradient of shape {grad.shape} "
                               f"for an input of shape {data.shape}")
        if grad.dtype != data.dtype:
            grad = grad.astype(data.dtype)  # mixed-dtype ops: each input gets its own dtype back
        parent = tensor._node
        if parent is None:
            _accumulate_leaf(tensor, grad, handed_to_leaves)
            continue
        slots = pending.get(parent)
        if slots is None:
            slots = pending[parent] = [None] * parent.n_outputs
        index = tensor._index
        slots[index] = grad if slots[index] is None else slots[index] + grad


def _topological_order(root):
    """Nodes reachable from ``root``, each before every node it consumes (iterative DFS, so
    graphs of any depth work)."""
    order = []
    visited = {root}
    stack = [(root, _parents(root))]
    while stack:
        node, parents = stack[-1]
        if parents:
            parent = parents.pop()
            if parent not in visited:
                visited.add(parent)
                stack.append((parent, _parents(parent)))
        else:
            stack.pop()
            order.append(node)
    order.reverse()
    return order


def _parents(node):
    if node.inputs is None:
        raise RuntimeError(
            f"backward through a graph that was already freed (at {node.name}): the first "
            "backward() released the values it saved. Pass retain_graph=True to the first "
            "backward() if you need to run backward through the same graph again")
    return [t._node for t in node.inputs if t._node is not None]


def _release(node):
    # Drop the inputs, saved arrays and anything else forward stored; keep the marker.
    node.__dict__.clear()
    node.inputs = None


def _accumulate_leaf(tensor, grad, handed_to_leaves):
    backend = tensor._backend
    if tensor.grad is not None:
        tensor.grad.data = tensor.grad.data + grad  # a new array: never write into shared ones
        return
    # The same array may reach several leaves (x + y hands both the same gradient), and a
    # user may update .grad in place: give each leaf an array of its own.
    if id(grad) in handed_to_leaves:
        grad = grad.copy()
    else:
        grad = backend.independent(grad)
    handed_to_leaves.add(id(grad))
    tensor.grad = Tensor._make(grad, backend, False)


def _initial_grad(tensor, grad):
    backend = tensor._backend
    data = tensor.data
    if grad is None:
        if data.size != 1:
            raise RuntimeError(
                f"backward() without a grad needs a single-element tensor, but this one has shape "
                f"{data.shape}; reduce it first (y.sum()) or pass grad= of shape {data.shape}")
        return backend.xp.ones_like(data)
    if isinstance(grad, Tensor):
        if grad._backend is not backend:
            raise RuntimeError(f"backward(): grad is on {grad.device!r} but the tensor is on "
                               f"{tensor.device!r}")
        grad = grad.data
    else:
        grad = backend.asarray(grad)
    if grad.shape != data.shape:
        raise RuntimeError(f"backward(): grad has shape {grad.shape} but the tensor has shape "
                           f"{data.shape}; they must match")
    # A copy, so that later changes to the caller's array cannot reach any .grad.
    return grad.astype(data.dtype, copy=True)
