"""Planted mistakes in exercise 1 (scalar_autograd): each one is the reference
solution ``tests/exercises/solutions/scalar_autograd.py`` with a few lines
replaced by a typical error (``edits``), and ``expect``, a regex of what the grader
must say about it."""

MISTAKES = [
    dict(
        name='grad_assigned_not_accumulated',
        why=('the gradients are assigned with = instead of accumulated with +=, so a '
             "value used twice keeps only the last use's contribution."),
        expect=r"a value used more than once.*accumulate with \+=",
        edits=[
            ("""\
            self.grad += out.grad
            other.grad += out.grad
""",
             """\
            self.grad = out.grad
            other.grad = out.grad
"""),
        ]),
    dict(
        name='power_rule_exponent_not_lowered',
        why='the power rule written n * a**n instead of n * a**(n - 1).',
        expect=r"a \*\* 3: d\(out\)/d\(x0\).*expected 6\.75, got 10\.125",
        edits=[
            ("""\
            self.grad += n * self.data ** (n - 1) * out.grad
""",
             """\
            self.grad += n * self.data ** n * out.grad
"""),
        ]),
    dict(
        name='recursive_topological_sort',
        why=('the topological order is built by a recursive function, which overflows '
             "Python's recursion limit on a deep graph."),
        expect=r"RecursionError on a chain of 5000 additions",
        edits=[
            ("""\
        # Iterative depth-first search: a node goes into the order after all of its inputs.
        # (A recursive one would be as deep as the graph: 5000 chained additions overflow
        # Python's recursion limit.)
""",
             """\
"""),
            ("""\
        stack = [(self, False)]
        while stack:
            node, inputs_done = stack.pop()
            if inputs_done:
""",
             """\

        def build(node):
            if id(node) not in visited:
                visited.add(id(node))
                for child in node._prev:
                    build(child)
"""),
            ("""\
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            for child in node._prev:
                if id(child) not in visited:
                    stack.append((child, False))
""",
             """\
        build(self)
"""),
        ]),
    dict(
        name='tanh_derivative_without_square',
        why='the derivative of tanh written as 1 - t instead of 1 - t**2.',
        expect=r"a\.tanh\(\): d\(out\)/d\(x0\).*is wrong: expected 0\.6",
        edits=[
            ("""\
            self.grad += (1 - t * t) * out.grad
""",
             """\
            self.grad += (1 - t) * out.grad
"""),
        ]),
]
