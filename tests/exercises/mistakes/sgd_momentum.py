"""Planted mistakes in exercise 10 (sgd_momentum): each one is the reference
solution ``tests/exercises/solutions/sgd_momentum.py`` with a few lines
replaced by a typical error (``edits``), and ``expect``, a regex of what the grader
must say about it."""

MISTAKES = [
    dict(
        name='nesterov_with_the_old_velocity',
        why=('Nesterov looks ahead with the velocity of the previous step instead of '
             'the updated one.'),
        expect=r"nesterov=True, weight_decay=0.0\): param differs",
        edits=[
            ("""\
    g = grad + weight_decay * param
""",
             """\
    g = grad + weight_decay * param
    step = g + momentum * velocity if nesterov else momentum * velocity + g
"""),
            ("""\
    step = g + momentum * velocity if nesterov else velocity
""",
             """\
"""),
        ]),
    dict(
        name='velocity_is_an_average',
        why=('the velocity is an exponential average, momentum * velocity + (1 - '
             "momentum) * g, as Adam's m, instead of PyTorch's plain sum."),
        expect=r"the velocity should equal the gradient",
        edits=[
            ("""\
    velocity = momentum * velocity + g
""",
             """\
    velocity = momentum * velocity + (1 - momentum) * g
"""),
        ]),
    dict(
        name='velocity_updated_in_place',
        why=('the velocity is updated in place (velocity *= momentum), which changes '
             "the caller's array."),
        expect=r"changed its input velocity in place",
        edits=[
            ("""\
    velocity = momentum * velocity + g
""",
             """\
    velocity *= momentum
    velocity += g
"""),
        ]),
    dict(
        name='weight_decay_outside_the_velocity',
        why=('the weight decay is added to the step after the velocity instead of to '
             'the gradient before it.'),
        expect=r"weight_decay=0.01\): the velocity differs",
        edits=[
            ("""\
    g = grad + weight_decay * param
""",
             """\
    g = grad
"""),
            ("""\
    return param - lr * step, velocity
""",
             """\
    return param - lr * (step + weight_decay * param), velocity
"""),
        ]),
]
