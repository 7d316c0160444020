"""Grades exercises/matmul_backward.py:  pytest exercises/test_matmul_backward.py"""

import numpy as np
import pytest

import minigrad as mg
from minigrad.testing import GradcheckError

SHAPES = [
    ((3, 4), (4, 2)),              # plain matrices
    ((2, 3, 4), (2, 4, 5)),        # one batch axis, same on both sides
    ((2, 1, 3, 4), (5, 4, 2)),     # batch axes broadcast: (2, 1) with (5,) -> (2, 5)
    ((3, 4), (6, 4, 2)),           # a matrix times a batch of matrices
    ((6, 3, 4), (4, 2)),
    ((1, 3, 4), (2, 4, 3)),        # a batch axis of size 1 stretched
    ((2, 3, 3), (3, 3)),           # square matrices
]


def shape_id(shapes):
    return f"{shapes[0]}@{shapes[1]}"


def operands(shapes, dtype, seed=0, requires_grad=True):
    rng = np.random.default_rng(seed)
    return [mg.tensor(rng.normal(size=s), dtype=dtype, requires_grad=requires_grad)
            for s in shapes]


@pytest.mark.parametrize("shapes", SHAPES, ids=shape_id)
def test_forward_matches_numpy_and_keeps_float32(solution, shapes):
    a, b = operands(shapes, "float32")
    c = solution.matmul(a, b)
    expected = np.matmul(a.numpy(), b.numpy())
    assert c.shape == expected.shape, (
        f"{shapes[0]} @ {shapes[1]}: expected shape {expected.shape}, got {c.shape}")
    assert c.dtype == mg.float32, f"{shapes[0]} @ {shapes[1]} of float32 gave {c.dtype}"
    np.testing.assert_allclose(c.numpy(), expected, rtol=1e-5, atol=1e-5,
                               err_msg=f"{shapes[0]} @ {shapes[1]}")


def test_is_one_op(solution):
    a, b = operands(SHAPES[0], "float32")
    c = solution.matmul(a, b)
    assert c.grad_fn is not None and c.grad_fn.name == "MatMul", (
        f"matmul(a, b) should be a single MatMul op in the graph, got {c.grad_fn}")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shapes", SHAPES, ids=shape_id)
def test_backward_gives_each_input_its_shape_and_dtype(solution, shapes, dtype):
    a, b = operands(shapes, dtype)
    c = solution.matmul(a, b)
    node = c.grad_fn
    grad = np.random.default_rng(1).normal(size=c.shape).astype(dtype)
    what = f"MatMul.backward for A of shape {shapes[0]} @ B of shape {shapes[1]}"
    try:
        grads = type(node).backward(node, grad)
    except NotImplementedError:
        raise
    except Exception as error:
        pytest.fail(f"{what} raised {type(error).__name__}: {error}  (check the shapes: "
                    "G @ B^T has A's shape and A^T @ G has B's; for batched arrays transpose "
                    "with swapaxes(-1, -2), not .T, which reverses every axis)")
    assert isinstance(grads, tuple) and len(grads) == 2, (
        f"{what}: should return a tuple (grad_a, grad_b), got {type(grads).__name__}")
    for name, g, x in zip("AB", grads, (a, b)):
        assert np.shape(g) == x.shape, (
            f"{what}: the gradient of {name} has shape {np.shape(g)}, but {name} has shape "
            f"{x.shape} (sum the broadcast batch axes with sum_to)")
        assert np.asarray(g).dtype == np.dtype(dtype), (
            f"{what}: the gradient of {name} is {np.asarray(g).dtype}, not {dtype} like {name}")


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-10), ("float32", 1e-4)])
@pytest.mark.parametrize("shapes", SHAPES, ids=shape_id)
def test_gradients_match_minigrads_matmul(solution, shapes, dtype, rtol):
    ours = operands(shapes, dtype, seed=2)
    theirs = operands(shapes, dtype, seed=2)
    weights = np.random.default_rng(3).normal(size=np.broadcast_shapes(
        shapes[0][:-2], shapes[1][:-2]) + (shapes[0][-2], shapes[1][-1]))
    (solution.matmul(*ours) * mg.tensor(weights, dtype=dtype)).sum().backward()
    (mg.matmul(*theirs) * mg.tensor(weights, dtype=dtype)).sum().backward()
    for name, x, t in zip("AB", ours, theirs):
        assert x.grad is not None, f"{shapes[0]} @ {shapes[1]}: {name} got no gradient"
        assert x.grad.shape == t.grad.shape, (
            f"{shapes[0]} @ {shapes[1]}: the gradient of {name} should have shape "
            f"{t.grad.shape}, got {x.grad.shape}")
        np.testing.assert_allclose(
            x.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=rtol,
            err_msg=f"d loss / d{name} for A of shape {shapes[0]} @ B of shape {shapes[1]} "
                    f"({dtype}), compared with mg.matmul's")


@pytest.mark.parametrize("shapes", SHAPES, ids=shape_id)
def test_backward_passes_gradcheck(solution, shapes):
    a, b = operands(shapes, "float64", seed=4)
    try:
        mg.testing.gradcheck(solution.matmul, a, b)
    except GradcheckError as error:
        pytest.fail(f"MatMul.backward for A of shape {shapes[0]} @ B of shape {shapes[1]} "
                    f"(input 0 is A, input 1 is B): {error}")


def test_only_one_input_needs_a_gradient(solution):
    a = mg.randn(2, 3, 4, dtype="float64", requires_grad=True)
    b = mg.randn(4, 5, dtype="float64")  # a constant
    solution.matmul(a, b).sum().backward()
    expected = np.ones((2, 3, 5)) @ b.numpy().T
    np.testing.assert_allclose(a.grad.numpy(), expected, rtol=1e-10,
                               err_msg="d sum(A @ B) / dA when B needs no gradient")
    assert b.grad is None, "B does not require a gradient, yet it got one"
