"""Drawing the autograd graph of a result: :func:`draw_graph`.

The drawing is a ``graphviz.Digraph`` (the ``graphviz`` Python package, ``pip install
graphviz``, part of the ``viz`` extra). Its DOT text, ``graph.source``, needs nothing else;
showing it as a picture (inline in Jupyter, or ``graph.render()``) needs the Graphviz programs
too: ``apt install graphviz``, ``brew install graphviz`` or ``conda install graphviz``.
"""

from .autograd.tensor import Tensor
from .extras import install_hint

__all__ = ["draw_graph"]

# Colours of the tensor boxes: what a student looks for first.
_PARAMETER = "lightblue"      # a leaf that requires grad: gradients land in its .grad
_CONSTANT = "lightgrey"       # a leaf that does not require grad (data, a constant)
_OUTPUT = "darkolivegreen1"   # the tensor that was drawn


def draw_graph(tensor, show_shapes=True, params=None, rankdir="TB"):
    """The autograd graph that computed ``tensor``, as a ``graphviz.Digraph``.

    One box per tensor and one ellipse per op (its name: ``Mul``, ``MatMul``, ...), with edges
    from each op's input tensors to the op and from the op to its output. Leaf tensors that
    require grad (parameters, inputs created with ``requires_grad=True``) are blue, leaves
    that do not (data, constants) grey, and ``tensor`` itself green. A tensor used several
    times (a shared sub-expression) appears once, with one edge to each op that uses it.

    Args:
        tensor: the result to draw, computed from tensors with ``requires_grad=True``.
        show_shapes: label tensors with their shape and dtype (else only their role).
        params: optional names for tensors: a dict ``{name: tensor}``, or a module or model
            with ``named_parameters()`` (its parameters are labelled ``dense.kernel``, ...).
        rankdir: the Graphviz layout direction, ``"TB"`` (top to bottom) or ``"LR"``.

    Returns:
        A ``graphviz.Digraph``. In Jupyter it is shown as a picture when it is the last
        value of a cell (this needs the Graphviz programs installed, see above); its DOT text
        is ``graph.source``, and ``graph.render("graph", format="svg")`` writes a file.

    Raises:
        ValueError: if ``tensor`` has no graph (a leaf, or computed without gradients).
        RuntimeError: if ``backward()`` already freed the graph; draw before backward, or call
            ``backward(retain_graph=True)``.

    >>> x = mg.tensor([1.0, 2.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> graph = mg.viz.draw_graph(y)
    >>> graph.source.count("->")       # x -> Mul (twice), Mul -> x*x -> Sum -> y
    5
    >>> print(graph.source)  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
    digraph autograd {
    ...
        op1 [label=Sum shape=ellipse]
    ...
        op2 [label=Mul shape=ellipse]
    ...
    """
    graphviz = _import_graphviz()
    if not isinstance(tensor, Tensor):
        raise TypeError(f"draw_graph expected a minigrad Tensor, got {type(tensor).__name__}")
    root = tensor._node
    if root is None:
        if tensor.requires_grad:
            raise ValueError("draw_graph: the tensor is a leaf (created directly, not computed by "
                             "an op), so it has no graph to draw; draw a result computed from it")
        raise ValueError("draw_graph: the tensor has no graph: it was computed from tensors "
                         "without requires_grad=True, or inside mg.no_grad(); create its inputs "
                         "with requires_grad=True to record the ops")
    _check_alive(root)
    names = _parameter_names(params)

    graph = graphviz.Digraph("autograd", graph_attr={"rankdir": rankdir},
                             node_attr={"fontname": "Helvetica", "fontsize": "11"})
    tensor_ids, op_ids = {}, {}

    def tensor_node(t, role):
        key = id(t)
        if key not in tensor_ids:
            tensor_ids[key] = f"t{len(tensor_ids) + 1}"
            graph.node(tensor_ids[key], _tensor_label(t, role, names.get(key), show_shapes),
                       shape="box", style="filled", fillcolor=_tensor_colour(t, role))
        return tensor_ids[key]

    def op_node(node):
        key = id(node)
        new = key not in op_ids
        if new:
            _check_alive(node)
            op_ids[key] = f"op{len(op_ids) + 1}"
            graph.node(op_ids[key], node.name, shape="ellipse")
        return op_ids[key], new

    # Iterative walk from the result back to the leaves (a deep graph cannot overflow the
    # Python stack). Each op is expanded once; each tensor is drawn once.
    out_id = tensor_node(tensor, "output")
    root_id, _ = op_node(root)
    graph.edge(root_id, out_id)
    stack = [root]
    while stack:
        node = stack.pop()
        consumer = op_ids[id(node)]
        for t in node.inputs:
            parent = t._node
            seen = id(t) in tensor_ids
            t_id = tensor_node(t, "leaf" if parent is None else "intermediate")
            graph.edge(t_id, consumer)
            if parent is None or seen:
                continue
            parent_id, new = op_node(parent)
            graph.edge(parent_id, t_id)
            if new:
                stack.append(parent)
    return graph


def _import_graphviz():
    try:
        import graphviz
    except ImportError:
        raise ImportError(f"draw_graph needs the graphviz Python package: {install_hint('viz')}; "
                          "to see the pictures, install the Graphviz programs too (apt install "
                          "graphviz)") from None
    return graphviz


def _check_alive(node):
    if node.inputs is None:
        raise RuntimeError(
            f"draw_graph: the graph was already freed by backward() (at {node.name}); draw it "
            "before calling backward(), or call backward(retain_graph=True) to keep it")


def _parameter_names(params):
    if params is None:
        return {}
    items = params.named_parameters() if hasattr(params, "named_parameters") else params.items()
    return {id(t): name for name, t in items}


def _tensor_label(t, role, name, show_shapes):
    if name is not None:
        title = name
    elif role == "leaf":
        title = "leaf (requires_grad)" if t.requires_grad else "leaf"
    else:
        title = role
    if not show_shapes:
        return title
    return f"{title}\\n{tuple(t.shape)} {t.dtype.name}"  # \\n: a line break in DOT


def _tensor_colour(t, role):
    if role == "output":
        return _OUTPUT
    if role == "leaf":
        return _PARAMETER if t.requires_grad else _CONSTANT
    return "white"
