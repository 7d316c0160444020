"""Planted mistakes in exercise 6 (swish): each one is the reference
solution ``tests/exercises/solutions/swish.py`` with a few lines
replaced by a typical error (``edits``), and ``expect``, a regex of what the grader
must say about it."""

MISTAKES = [
    dict(
        name='backward_ignores_grad',
        why=('the backward returns the derivative without multiplying it by the '
             'incoming gradient.'),
        expect=r"x.grad should be grad \* d\(swish\)/dx",
        edits=[
            ("""\
        return grad * (s + x * s * (1 - s))
""",
             """\
        return s + x * s * (1 - s)
"""),
        ]),
    dict(
        name='derivative_without_the_x_term',
        why=('the backward returns grad * sigmoid(x), forgetting the x * s * (1 - s) '
             'term of the product rule.'),
        expect=r"d\(swish\)/dx differs from the gradient of x \* mg.sigmoid\(x\)",
        edits=[
            ("""\
        return grad * (s + x * s * (1 - s))
""",
             """\
        return grad * s
"""),
        ]),
]
