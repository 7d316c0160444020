"""Planted mistakes in exercise 10 (adam): each one is the reference
solution ``tests/exercises/solutions/adam.py`` with a few lines
replaced by a typical error (``edits``), and ``expect``, a regex of what the grader
must say about it."""

MISTAKES = [
    dict(
        name='moments_updated_in_place',
        why=("m and v are updated in place (m *= beta1), which changes the caller's "
             'arrays.'),
        expect=r"changed its input m in place",
        edits=[
            ("""\
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
""",
             """\
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad ** 2
"""),
        ]),
    dict(
        name='no_bias_correction',
        why=('m and v are used without their bias correction, so the first steps are '
             'far too small.'),
        expect=r"should move every parameter by about lr.*bias correction",
        edits=[
            ("""\
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
""",
             """\
    m_hat = m
    v_hat = v
"""),
        ]),
    dict(
        name='v_of_the_gradient_not_its_square',
        why='v averages the gradient instead of its square.',
        expect=r"v after the first step .* should be \(1 - beta2\) \* grad\*\*2",
        edits=[
            ("""\
    v = beta2 * v + (1 - beta2) * grad ** 2
""",
             """\
    v = beta2 * v + (1 - beta2) * grad
"""),
        ]),
]
