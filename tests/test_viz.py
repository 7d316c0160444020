"""mg.viz.draw_graph: the DOT source of the autograd graph (no Graphviz programs needed)."""

import re

import pytest

import minigrad as mg
from minigrad import nn

pytest.importorskip("graphviz")


def nodes(graph):
    """{node id: label} of the DOT source."""
    found = {}
    for line in graph.source.splitlines():
        match = re.match(r"\s*(\w+) \[label=(\"[^\"]*\"|\S+)", line)
        if match:
            found[match.group(1)] = match.group(2).strip('"')
    return found


def edges(graph):
    return re.findall(r"^\s*(\w+) -> (\w+)", graph.source, flags=re.M)


def test_a_small_expression_has_one_node_per_tensor_and_per_op():
    a = mg.randn(2, 3, requires_grad=True)
    b = mg.randn(3, 4, requires_grad=True)
    c = mg.randn(4)                            # a constant: no requires_grad
    y = ((a @ b) * c).sum()
    graph = mg.viz.draw_graph(y)
    labels = nodes(graph)
    ops = sorted(label for node, label in labels.items() if node.startswith("op"))
    assert ops == ["MatMul", "Mul", "Sum"]
    # a, b, c, a@b, (a@b)*c, y
    assert sum(node.startswith("t") for node in labels) == 6
    # a, b -> MatMul -> a@b -> Mul <- c; Mul -> prod -> Sum -> y
    assert len(edges(graph)) == 8


def test_labels_give_role_shape_and_dtype():
    a = mg.randn(2, 3, requires_grad=True)
    y = (a * 2.0).sum()
    labels = list(nodes(mg.viz.draw_graph(y)).values())
    assert r"leaf (requires_grad)\n(2, 3) float32" in labels
    assert r"output\n() float32" in labels
    assert r"intermediate\n(2, 3) float32" in labels
    bare = list(nodes(mg.viz.draw_graph(y, show_shapes=False)).values())
    assert "output" in bare and not any("float32" in label for label in bare)


def test_a_shared_subexpression_appears_once():
    x = mg.randn(3, requires_grad=True)
    h = x.exp()
    y = (h * h + h).sum()
    graph = mg.viz.draw_graph(y)
    labels = nodes(graph)
    assert list(labels.values()).count("Exp") == 1
    exp_node = next(node for node, label in labels.items() if label == "Exp")
    (h_node,) = [dst for src, dst in edges(graph) if src == exp_node]
    # h feeds Mul twice and Add once
    assert sorted(labels[dst] for src, dst in edges(graph) if src == h_node) == [
        "Add", "Mul", "Mul"]


def test_model_parameters_are_labelled_by_name():
    model = nn.Dense(2, input_shape=(3,))
    y = model(mg.randn(4, 3)).sum()
    names = dict(model.named_parameters())
    labels = " ".join(nodes(mg.viz.draw_graph(y, params=model)).values())
    for name in names:
        assert name in labels
    labels = " ".join(nodes(mg.viz.draw_graph(y, params={"w": names["kernel"]})).values())
    assert r"w\n(3, 2)" in labels


def test_a_deep_graph_does_not_overflow_the_stack():
    x = mg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    labels = nodes(mg.viz.draw_graph(y))
    assert list(labels.values()).count("Mul") == 5000


def test_a_graph_freed_by_backward_is_an_error_that_says_what_to_do():
    x = mg.randn(3, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        mg.viz.draw_graph(y)
    z = (x * x).sum()
    z.backward(retain_graph=True)
    assert "Mul" in mg.viz.draw_graph(z).source


def test_a_tensor_without_a_graph_is_an_error():
    with pytest.raises(ValueError, match="leaf"):
        mg.viz.draw_graph(mg.randn(3, requires_grad=True))
    with pytest.raises(ValueError, match="requires_grad=True"):
        mg.viz.draw_graph(mg.randn(3) * 2)
    with pytest.raises(TypeError, match="Tensor"):
        mg.viz.draw_graph([1.0])
