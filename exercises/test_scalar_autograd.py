"""Grades exercises/scalar_autograd.py:  pytest exercises/test_scalar_autograd.py

Every expression is built twice, from your ``Value`` and from minigrad's float64 scalar tensors
(``mg.tensor(x, dtype="float64", requires_grad=True)``), and the two are compared: the result,
and the gradient of every leaf after ``backward()``.
"""

import math
import random
import sys

import pytest

import minigrad as mg


def leaves(solution, numbers):
    """The same leaves twice: the student's Values and minigrad's float64 scalar tensors."""
    ours = [solution.Value(x) for x in numbers]
    theirs = [mg.tensor(x, dtype="float64", requires_grad=True) for x in numbers]
    return ours, theirs


def compare(solution, build, numbers, what):
    """Build ``build(*leaves)`` from both kinds of leaves, backward, compare everything."""
    ours, theirs = leaves(solution, numbers)
    out = build(*ours)
    assert isinstance(out, solution.Value), (
        f"{what}: expected a Value, got {type(out).__name__} ({out!r})")
    expected = build(*theirs)
    assert math.isclose(out.data, expected.item(), rel_tol=1e-9, abs_tol=1e-12), (
        f"{what}: the forward value is wrong: expected {expected.item()!r}, got {out.data!r}")
    out.backward()
    expected.backward()
    for i, (v, t) in enumerate(zip(ours, theirs)):
        want = 0.0 if t.grad is None else t.grad.item()
        assert math.isclose(v.grad, want, rel_tol=1e-7, abs_tol=1e-10), (
            f"{what}: d(out)/d(x{i}) (leaf x{i} = {numbers[i]!r}) is wrong: expected "
            f"{want!r}, got {v.grad!r}")


@pytest.mark.parametrize("what, build, numbers", [
    ("a + b", lambda a, b: a + b, [1.5, -2.0]),
    ("a * b", lambda a, b: a * b, [1.5, -2.0]),
    ("a - b", lambda a, b: a - b, [1.5, -2.0]),
    ("-a", lambda a: -a, [1.5]),
    ("a ** 3", lambda a: a ** 3, [1.5]),
    ("a ** -2.5", lambda a: a ** -2.5, [1.5]),
    ("a ** 0.5", lambda a: a ** 0.5, [2.0]),
    ("a.tanh()", lambda a: a.tanh(), [0.7]),
    ("a.exp()", lambda a: a.exp(), [0.7]),
    ("a / b", lambda a, b: a / b, [1.5, -2.0]),
])
def test_each_operation_and_its_gradient(solution, what, build, numbers):
    compare(solution, build, numbers, what)


@pytest.mark.parametrize("what, build", [
    ("a + 2", lambda a: a + 2),
    ("2 + a  (__radd__)", lambda a: 2 + a),
    ("a * 3", lambda a: a * 3),
    ("3 * a  (__rmul__)", lambda a: 3 * a),
    ("a - 1", lambda a: a - 1),
    ("1 - a  (__rsub__)", lambda a: 1 - a),
    ("2.5 * a + 1", lambda a: 2.5 * a + 1),
])
def test_plain_numbers_on_either_side(solution, what, build):
    compare(solution, build, [0.75], what)


@pytest.mark.parametrize("what, build, numbers", [
    ("a * a", lambda a: a * a, [3.0]),
    ("a + a", lambda a: a + a, [3.0]),
    ("x * y + x", lambda x, y: x * y + x, [2.0, -3.0]),
    ("(a + b) * a", lambda a, b: (a + b) * a, [2.0, 5.0]),
    ("e = a * b; e * e + e.tanh()", lambda a, b: (lambda e: e * e + e.tanh())(a * b), [0.3, 0.9]),
])
def test_a_value_used_twice_gets_both_contributions(solution, what, build, numbers):
    compare(solution, build, numbers, what + "  (a value used more than once: its gradient is "
            "the sum of every use's, so accumulate with +=)")


def test_a_shared_node_is_passed_on_once(solution):
    # d = c + c with c = a * b: c's gradient (2) must be complete before c passes it on, and c
    # must pass it on once, not once per path that reaches it.
    def build(a, b):
        c = a * b
        d = c + c
        return d * d
    compare(solution, build, [1.5, 2.0], "c = a * b; d = c + c; d * d  (a node reached by two "
            "paths must be visited once, after every node that uses it)")


def test_backward_sets_the_outputs_own_grad_to_one(solution):
    a = solution.Value(2.0)
    out = a * 3 + 1
    out.backward()
    assert out.grad == 1.0, (f"after out.backward(), out.grad should be 1.0 (d out / d out), "
                             f"got {out.grad!r}")


OPS = ("+", "*", "-", "num+", "num*", "num-", "pow", "tanh", "exp", "neg")


def random_expression(rng, n_leaves, depth):
    """A random expression tree: (text, build) where build(*leaves) computes it."""
    if depth == 0 or rng.random() < 0.2:
        i = rng.randrange(n_leaves)
        return f"x{i}", lambda *xs: xs[i]
    op = rng.choice(OPS)
    left_text, left = random_expression(rng, n_leaves, depth - 1)
    if op in ("+", "*", "-"):
        right_text, right = random_expression(rng, n_leaves, depth - 1)
        if op == "+":
            return f"({left_text} + {right_text})", lambda *xs: left(*xs) + right(*xs)
        if op == "*":
            return f"({left_text} * {right_text})", lambda *xs: left(*xs) * right(*xs)
        return f"({left_text} - {right_text})", lambda *xs: left(*xs) - right(*xs)
    c = round(rng.uniform(-2, 2), 2)
    if op == "num+":
        return f"({c} + {left_text})", lambda *xs: c + left(*xs)
    if op == "num*":
        return f"({c} * {left_text})", lambda *xs: c * left(*xs)
    if op == "num-":
        return f"({c} - {left_text})", lambda *xs: c - left(*xs)
    if op == "pow":  # an integer power, or a real one of a positive base (tanh(x) ** 2 + 0.5)
        n = rng.choice([2, 3, -1])
        if rng.random() < 0.5:
            return f"({left_text} ** {n})", lambda *xs: (left(*xs).tanh() + 2) ** n
        return (f"((({left_text}).tanh() ** 2 + 0.5) ** 1.5)",
                lambda *xs: (left(*xs).tanh() ** 2 + 0.5) ** 1.5)
    if op == "tanh":
        return f"{left_text}.tanh()", lambda *xs: left(*xs).tanh()
    if op == "exp":  # kept small: exp(tanh(x))
        return f"{left_text}.tanh().exp()", lambda *xs: left(*xs).tanh().exp()
    return f"(-{left_text})", lambda *xs: -left(*xs)


def test_random_expressions_match_minigrad(solution):
    rng = random.Random(0)
    for k in range(60):
        n_leaves = rng.randint(1, 4)
        text, build = random_expression(rng, n_leaves, depth=rng.randint(2, 5))
        numbers = [round(rng.uniform(-1.5, 1.5), 3) for _ in range(n_leaves)]
        compare(solution, build, numbers, f"random expression #{k}, out = {text}")


def test_a_deep_chain_does_not_hit_the_recursion_limit(solution):
    n = 5000
    assert n > sys.getrecursionlimit(), "the test needs a chain deeper than the recursion limit"
    a = solution.Value(0.5)
    out = a
    for _ in range(n):
        out = out + a          # out = (n + 1) * a, every step a node of the chain
    try:
        out.backward()
    except RecursionError:
        pytest.fail(f"backward() raised RecursionError on a chain of {n} additions: build the "
                    "topological order with a loop and an explicit stack, not a recursive "
                    "function (each nested call is one level of Python's recursion limit, "
                    f"{sys.getrecursionlimit()})")
    assert math.isclose(out.data, (n + 1) * 0.5), (
        f"the chain's value: expected {(n + 1) * 0.5}, got {out.data}")
    assert math.isclose(a.grad, n + 1), (
        f"a chain of {n} additions 'out = out + a': d(out)/da should be {n + 1}, got {a.grad!r}")
