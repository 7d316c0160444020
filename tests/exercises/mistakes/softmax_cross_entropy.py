"""Planted mistakes in exercise 4 (softmax_cross_entropy): each one is the reference
solution ``tests/exercises/solutions/softmax_cross_entropy.py`` with a few lines
replaced by a typical error (``edits``), and ``expect``, a regex of what the grader
must say about it."""

MISTAKES = [
    dict(
        name='backward_ignores_grad',
        why='the backward does not multiply by the incoming gradient.',
        expect=r"backward must multiply by grad",
        edits=[
            ("""\
        return dlogits * (grad / n)
""",
             """\
        return dlogits / n
"""),
        ]),
    dict(
        name='backward_not_divided_by_n',
        why='the backward forgets the 1/N of the mean.',
        expect=r"gradient d\(loss\)/d\(logits\) of 8 samples.*off by the same factor 8",
        edits=[
            ("""\
        return dlogits * (grad / n)
""",
             """\
        return dlogits * grad
"""),
        ]),
    dict(
        name='float64_one_hot',
        why="DeZero's one-hot np.eye(C)[labels], float64, in the forward.",
        expect=r"gave a float64 loss; keep the logits' dtype",
        edits=[
            ("""\
        rows = xp.arange(n)
        loss = -log_probs[rows, labels].sum() / n
""",
             """\
        one_hot = np.eye(logits.shape[1])[labels]
        loss = -(one_hot * log_probs).sum() / n
"""),
            ("""\
        return xp.asarray(loss, dtype=logits.dtype)
""",
             """\
        return xp.asarray(loss)
"""),
        ]),
    dict(
        name='float64_one_hot_in_backward',
        why='the backward builds a float64 one-hot with np.eye.',
        expect=r"backward returned a float64 gradient",
        edits=[
            ("""\
        dlogits = xp.exp(log_probs)  # softmax, in the logits' dtype
        dlogits[xp.arange(n), labels] -= 1
""",
             """\
        dlogits = xp.exp(log_probs) - np.eye(log_probs.shape[1])[labels]
"""),
        ]),
    dict(
        name='no_max_subtraction',
        why='the naive softmax, exp of the raw logits (overflows at 1e4).',
        expect=r"exp\(1e4\) overflows",
        edits=[
            ("""\
        shifted = logits - logits.max(axis=1, keepdims=True)
""",
             """\
        shifted = logits
"""),
        ]),
    dict(
        name='sum_not_mean',
        why='the loss is summed over the batch, not averaged.',
        expect=r"the loss of 8 samples, 5 classes: expected .* got .* off by the same factor 8",
        edits=[
            ("""\
        loss = -log_probs[rows, labels].sum() / n
""",
             """\
        loss = -log_probs[rows, labels].sum()
"""),
        ]),
]
