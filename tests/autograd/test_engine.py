"""The backward pass: accumulation, graph freeing, deep graphs, root gradients."""

import gc
import weakref

import numpy as np
import pytest

import minigrad as mg


def test_gradient_accumulates_when_a_tensor_is_used_twice(device):
    x = mg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    y = x * x + x  # x reaches the sum along three paths
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array([1, 2, 3]) + 1)


def test_gradients_accumulate_across_backward_calls(device):
    x = mg.tensor([1.0, -2.0], device=device, requires_grad=True)
    (x * 3).sum().backward()
    (x * 4).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [7.0, 7.0])


def test_diamond_graph_runs_each_node_once(device):
    x = mg.tensor(2.0, device=device, requires_grad=True)
    a = x * 3
    b = a * a  # a is used twice: 9x^2 -> 18x
    c = a + b  # 3x + 9x^2 -> 3 + 18x
    c.backward()
    assert x.grad.item() == pytest.approx(3 + 18 * 2)


def test_backward_twice_without_retain_graph_names_the_fix(device):
    x = mg.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="already freed.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward(device):
    x = mg.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * np.array([1.0, 2.0]))


def test_graph_is_freed_after_backward():
    x = mg.tensor(np.ones(1000), requires_grad=True)
    y = x * 2
    node = y.grad_fn
    y.sum().backward()
    assert node.inputs is None and node.saved == ()


def test_backward_on_a_tensor_without_grad_says_so():
    x = mg.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        (x * 2).sum().backward()


def test_backward_on_non_scalar_needs_grad_and_names_shape(device):
    x = mg.tensor(np.ones((2, 3)), device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"single-element.*\(2, 3\)"):
        (x * 2).backward()


def test_backward_with_explicit_grad(device):
    x = mg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    y = x * x
    y.backward(mg.tensor([1.0, 0.0, -1.0], device=device))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 0.0, -6.0])


def test_backward_grad_of_wrong_shape_is_an_error(device):
    x = mg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    with pytest.raises(RuntimeError,
                       match=r"grad has shape \(2,\) but the tensor has shape \(3,\)"):
        (x * 2).backward(mg.ones(2, device=device))


def test_deep_graph_of_100k_nodes_has_no_recursion_limit():
    x = mg.tensor(1.0, dtype="float64", requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1e-6
    y.backward()
    assert x.grad.item() == 1.0
    assert y.item() == pytest.approx(1.1)


def test_deep_graph_can_be_dropped_without_backward():
    # Deleting a long chain must not overflow the C stack during deallocation.
    x = mg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    del y
    gc.collect()


def test_leaves_get_independent_gradient_arrays(device):
    # x + y hands the same upstream gradient to both; updating one in place must not
    # change the other.
    x = mg.zeros(3, device=device, requires_grad=True)
    y = mg.zeros(3, device=device, requires_grad=True)
    (x + y).sum().backward()
    x.grad.data *= 5
    np.testing.assert_allclose(y.grad.numpy(), [1.0, 1.0, 1.0])


def test_leaf_gradient_from_a_broadcast_is_writeable(device):
    x = mg.zeros(2, 3, device=device, requires_grad=True)
    x.sum().backward()  # the gradient of sum is a broadcast view
    x.grad.data += 1  # must not raise "read-only"
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.ones((2, 3)))


def test_root_grad_is_copied(device):
    x = mg.zeros(3, device=device, requires_grad=True)
    upstream = np.ones(3, dtype=np.float32)
    x.backward(upstream)
    upstream[:] = 7
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0, 1.0])


def test_retain_grad_keeps_an_intermediate_gradient(device):
    x = mg.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * 3 * np.array([1.0, 2.0]))
    assert x.grad is not None


def test_retain_grad_twice_still_gives_the_gradient_once(device):
    # It once registered the tensor twice and doubled its gradient (PyTorch: idempotent).
    x = mg.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x * 3
    h.retain_grad()
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * 3 * np.array([1.0, 2.0]))


def test_retained_gradients_are_released_with_the_graph(device):
    x = mg.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x * 3
    h.retain_grad()
    node = h._node
    h.sum().backward()
    assert node.retained_outputs == () and node.inputs is None


def test_non_leaf_tensors_get_no_grad_by_default(device):
    x = mg.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x * 3
    h.sum().backward()
    assert h.grad is None


def test_only_inputs_that_require_grad_get_gradients(device):
    x = mg.tensor([1.0, 2.0], device=device, requires_grad=True)
    c = mg.tensor([5.0, 6.0], device=device)
    (x * c).sum().backward()
    assert c.grad is None
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 6.0])


def test_no_graph_is_kept_alive_by_results_not_requiring_grad():
    x = mg.tensor(np.ones(10))
    y = x * 2
    assert y.grad_fn is None and not y.requires_grad


def test_graph_memory_is_released_with_the_result():
    x = mg.tensor(np.ones(10), requires_grad=True)
    y = (x * 2).sum()
    node = weakref.ref(y.grad_fn)
    del y
    gc.collect()
    assert node() is None


def test_multi_output_op_with_unused_outputs(device):
    x = mg.tensor(np.arange(6.0), device=device, requires_grad=True)
    a, b, c = mg.split(x, 3)
    (a * 2 + c).sum().backward()  # b is never used: its part of the gradient is zero
    np.testing.assert_allclose(x.grad.numpy(), [2, 2, 0, 0, 1, 1])
