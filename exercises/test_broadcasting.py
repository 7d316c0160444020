"""Grades exercises/broadcasting.py:  pytest exercises/test_broadcasting.py"""

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import sum_to as minigrads_sum_to
from minigrad.testing import GradcheckError


def check_sum_to(solution, grad, shape):
    expected = minigrads_sum_to(grad, shape)
    got = solution.sum_to(grad, shape)
    call = f"sum_to(grad of shape {grad.shape}, {shape})"
    assert got is not None, f"{call} returned None"
    assert np.shape(got) == tuple(shape), (
        f"{call}: expected an array of shape {tuple(shape)}, got shape {np.shape(got)}")
    assert np.asarray(got).dtype == grad.dtype, (
        f"{call}: expected dtype {grad.dtype} (grad's), got {np.asarray(got).dtype}")
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6,
                               err_msg=f"{call}: wrong values")


@pytest.mark.parametrize("grad_shape, shape", [
    ((2, 3), (1, 3)),          # a stretched axis
    ((2, 3), (2, 1)),
    ((2, 3), (3,)),            # an added leading axis
    ((2, 3, 4), (3, 1)),       # both: axis 0 added, axis 2 stretched
    ((4, 5), ()),              # a scalar operand: sum everything
    ((2, 1, 3), (1, 1, 3)),    # an axis of size 1 on both sides stays
    ((3, 4), (1, 1)),
    ((2, 3, 4, 5), (4, 1)),
])
def test_sum_to_worked_examples(solution, grad_shape, shape):
    grad = np.arange(np.prod(grad_shape), dtype=np.float64).reshape(grad_shape)
    check_sum_to(solution, grad, shape)


def broadcast_pair(rng):
    """A random (grad shape, operand shape) pair: the operand drops some leading axes and has
    some of the others set to 1."""
    grad_shape = tuple(int(n) for n in rng.integers(1, 5, size=rng.integers(0, 5)))
    shape = list(grad_shape[rng.integers(0, len(grad_shape) + 1):])
    for i in range(len(shape)):
        if rng.random() < 0.4:
            shape[i] = 1
    return grad_shape, tuple(shape)


def test_sum_to_matches_minigrad_on_random_shape_pairs(solution):
    rng = np.random.default_rng(0)
    for _ in range(300):
        grad_shape, shape = broadcast_pair(rng)
        check_sum_to(solution, rng.normal(size=grad_shape), shape)


def test_sum_to_keeps_float32(solution):
    grad = np.random.default_rng(1).normal(size=(3, 4, 5)).astype(np.float32)
    for shape in [(4, 1), (1, 4, 5), (), (5,), (3, 4, 5)]:
        check_sum_to(solution, grad, shape)


SHAPE_PAIRS = [((3, 1), (1, 4)), ((5,), (2, 3, 5)), ((), (3, 4)), ((3, 4), ()),
               ((2, 3), (2, 3)), ((4, 1, 3), (2, 1)), ((1,), (3, 2))]


def pair_id(pair):
    return f"{pair[0]}x{pair[1]}"


@pytest.mark.parametrize("op", ["add", "mul"])
@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=pair_id)
def test_forward_matches_numpy_and_keeps_float32(solution, op, shapes):
    rng = np.random.default_rng(2)
    a, b = (rng.normal(size=s).astype(np.float32) for s in shapes)
    y = getattr(solution, op)(mg.tensor(a), mg.tensor(b))
    expected = a + b if op == "add" else a * b
    assert y.shape == expected.shape, (
        f"{op} of shapes {shapes[0]} and {shapes[1]}: expected shape {expected.shape}, "
        f"got {y.shape}")
    assert y.dtype == mg.float32, f"{op} of two float32 tensors gave {y.dtype}, not float32"
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-6,
                               err_msg=f"{op} of shapes {shapes[0]} and {shapes[1]}")


@pytest.mark.parametrize("op, name", [("add", "Add"), ("mul", "Mul")])
def test_each_is_one_op(solution, op, name):
    y = getattr(solution, op)(mg.randn(2, 3, requires_grad=True), mg.randn(3, requires_grad=True))
    assert y.grad_fn is not None and y.grad_fn.name == name, (
        f"{op}(a, b) should be a single {name} op in the graph, got {y.grad_fn}")


@pytest.mark.parametrize("op, name", [("add", "Add"), ("mul", "Mul")])
@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=pair_id)
def test_backward_gives_each_operand_its_shape_and_float32(solution, op, name, shapes):
    rng = np.random.default_rng(3)
    a, b = (mg.tensor(rng.normal(size=s).astype(np.float32), requires_grad=True)
            for s in shapes)
    y = getattr(solution, op)(a, b)
    node = y.grad_fn
    grads = type(node).backward(node, np.ones(y.shape, dtype=np.float32))
    assert isinstance(grads, tuple) and len(grads) == 2, (
        f"{name}.backward should return a tuple (grad_a, grad_b), got {type(grads).__name__}")
    for which, grad, operand in zip("ab", grads, (a, b)):
        assert np.shape(grad) == operand.shape, (
            f"{name}.backward for shapes {shapes[0]} and {shapes[1]}: the gradient of {which} "
            f"has shape {np.shape(grad)}, but {which} has shape {operand.shape} (sum it down "
            "with sum_to)")
        assert np.asarray(grad).dtype == np.float32, (
            f"{name}.backward for float32 operands: the gradient of {which} is "
            f"{np.asarray(grad).dtype}, not float32")


@pytest.mark.parametrize("op, name", [("add", "Add"), ("mul", "Mul")])
@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=pair_id)
def test_backward_passes_gradcheck(solution, op, name, shapes):
    a, b = (mg.randn(*s, dtype="float64", requires_grad=True) for s in shapes)
    try:
        mg.testing.gradcheck(getattr(solution, op), a, b)
    except GradcheckError as error:
        pytest.fail(f"{name}.backward for shapes {shapes[0]} (a) and {shapes[1]} (b), input 0 "
                    f"is a and input 1 is b: {error}")


@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=pair_id)
def test_gradients_match_minigrads_own_ops(solution, shapes):
    rng = np.random.default_rng(4)
    data = [rng.normal(size=s) for s in shapes]
    ours = [mg.tensor(d, dtype="float64", requires_grad=True) for d in data]
    theirs = [mg.tensor(d, dtype="float64", requires_grad=True) for d in data]
    # (a + b) * b: both ops, b used twice
    solution.mul(solution.add(ours[0], ours[1]), ours[1]).sum().backward()
    ((theirs[0] + theirs[1]) * theirs[1]).sum().backward()
    for which, x, t in zip("ab", ours, theirs):
        np.testing.assert_allclose(
            x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12,
            err_msg=f"d/d{which} of sum((a + b) * b), a of shape {shapes[0]}, b of shape "
                    f"{shapes[1]}")
