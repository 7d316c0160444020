"""Planted mistakes in exercise 2 (broadcasting): each one is the reference
solution ``tests/exercises/solutions/broadcasting.py`` with a few lines
replaced by a typical error (``edits``), and ``expect``, a regex of what the grader
must say about it."""

MISTAKES = [
    dict(
        name='mul_backward_multiplies_by_its_own_operand',
        why=('Mul.backward multiplies the gradient of a by a (and of b by b) instead '
             'of by the other operand.'),
        expect=r"Mul\.backward for shapes \(3, 1\) \(a\) and \(1, 4\) \(b\).*input 0",
        edits=[
            ("""\
        return sum_to(grad * b, a.shape), sum_to(grad * a, b.shape)
""",
             """\
        return sum_to(grad * a, a.shape), sum_to(grad * b, b.shape)
"""),
        ]),
    dict(
        name='sum_to_drops_the_size_one_axes',
        why=('sum_to sums the stretched axes without keepdims=True, so an operand of '
             'shape (1, 3) gets a gradient of shape (3,).'),
        expect=r"\(1, 3\)\): expected an array of shape \(1, 3\), got shape \(3,\)",
        edits=[
            ("""\
        grad = grad.sum(axis=axes, keepdims=True)
""",
             """\
        grad = grad.sum(axis=axes)
"""),
        ]),
    dict(
        name='sum_to_forgets_the_leading_axes',
        why=('sum_to only sums the axes of size 1, not the leading axes that '
             'broadcasting added.'),
        expect=r"\(3,\)\): expected an array of shape \(3,\), got shape \(2, 3\)",
        edits=[
            ("""\
    lead = grad.ndim - len(shape)
    if lead:
        grad = grad.sum(axis=tuple(range(lead)))
""",
             """\
"""),
        ]),
]
