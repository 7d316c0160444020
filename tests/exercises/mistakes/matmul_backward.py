"""Planted mistakes in exercise 3 (matmul_backward): each one is the reference
solution ``tests/exercises/solutions/matmul_backward.py`` with a few lines
replaced by a typical error (``edits``), and ``expect``, a regex of what the grader
must say about it."""

MISTAKES = [
    dict(
        name='b_not_transposed',
        why='the gradient of A computed as G @ B, without transposing B.',
        expect=r"(?s)\(4, 2\) raised ValueError.*\(3, 3\) \(input 0 is A.*failed for input 0",
        edits=[
            ("""\
        grad_a = sum_to(grad @ b.swapaxes(-1, -2), a.shape)
""",
             """\
        grad_a = sum_to(grad @ b, a.shape)
"""),
        ]),
    dict(
        name='broadcast_batch_axes_not_summed',
        why='the gradients are not summed back over the broadcast batch axes.',
        expect=r"gradient of A has shape \(2, 5, 3, 4\), but A has shape \(2, 1, 3, 4\)",
        edits=[
            ("""\
from minigrad.autograd import sum_to
""",
             """\
"""),
            ("""\
        grad_a = sum_to(grad @ b.swapaxes(-1, -2), a.shape)
        grad_b = sum_to(a.swapaxes(-1, -2) @ grad, b.shape)
""",
             """\
        grad_a = grad @ b.swapaxes(-1, -2)
        grad_b = a.swapaxes(-1, -2) @ grad
"""),
        ]),
    dict(
        name='transposed_with_dot_T',
        why=('the transposes are written .T, which reverses every axis of a batched '
             'array instead of swapping the last two.'),
        expect=(r"MatMul\.backward for A of shape \(2, 3, 4\) @ B of shape \(2, 4, 5\) "
                r"raised ValueError"),
        edits=[
            ("""\
        grad_a = sum_to(grad @ b.swapaxes(-1, -2), a.shape)
        grad_b = sum_to(a.swapaxes(-1, -2) @ grad, b.shape)
""",
             """\
        grad_a = sum_to(grad @ b.T, a.shape)
        grad_b = sum_to(a.T @ grad, b.shape)
"""),
        ]),
]
