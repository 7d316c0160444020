"""Planted mistakes in exercise 8 (max_pooling): each one is the reference
solution ``tests/exercises/solutions/max_pooling.py`` with a few lines
replaced by a typical error (``edits``), and ``expect``, a regex of what the grader
must say about it."""

MISTAKES = [
    dict(
        name='column_major_argmax',
        why="argmax counts the window's cells column by column (j * size + i).",
        expect=r"argmax should be i \* size \+ j = 1, got 2",
        edits=[
            ("""\
            argmax[better] = i * size + j
""",
             """\
            argmax[better] = j * size + i
"""),
            ("""\
            won = np.where(argmax == i * size + j, grad_out, 0)
""",
             """\
            won = np.where(argmax == j * size + i, grad_out, 0)
"""),
        ]),
    dict(
        name='fancy_index_adds_once',
        why=('the backward scatters with fancy-index +=, which adds a repeated index '
             'only once.'),
        expect=r"the centre cell wins all 4 windows .* got 1\.0",
        edits=[
            ("""\
    _, out_h, out_w, _ = grad_out.shape
""",
             """\
    n, out_h, out_w, channels = grad_out.shape
    b, oh, ow, c = np.indices(grad_out.shape)
    rows = oh * stride + argmax // size  # the winner's row and column in the image
    cols = ow * stride + argmax % size
"""),
            ("""\
    for i in range(size):
        for j in range(size):
            won = np.where(argmax == i * size + j, grad_out, 0)
            # += adds the windows that overlap: each cell gets the sum of what it won
            grad_x[:, i:i + stride * (out_h - 1) + 1:stride,
                   j:j + stride * (out_w - 1) + 1:stride, :] += won
""",
             """\
    grad_x[b, rows, cols, c] += grad_out  # a cell that wins twice is written, not added, twice
"""),
        ]),
    dict(
        name='float64_output',
        why="the output is allocated without x's dtype (float64 by default).",
        expect=r"float32 x gave a float64 output",
        edits=[
            ("""\
    out = np.empty((n, out_h, out_w, channels), dtype=x.dtype)
""",
             """\
    out = np.empty((n, out_h, out_w, channels))
"""),
        ]),
    dict(
        name='overlaps_overwrite',
        why=('the backward assigns instead of adding, so overlapping windows overwrite '
             'each other.'),
        expect=r"the centre cell wins all 4 windows .* got 1\.0",
        edits=[
            ("""\
                   j:j + stride * (out_w - 1) + 1:stride, :] += won
""",
             """\
                   j:j + stride * (out_w - 1) + 1:stride, :] = won
"""),
        ]),
    dict(
        name='ties_go_to_the_last',
        why='a later cell equal to the best takes over (>= instead of >).',
        expect=r"with ties, the first maximum in row-major window order",
        edits=[
            ("""\
            better = cells > out  # strictly greater: the first maximum keeps the tie
""",
             """\
            better = cells >= out
"""),
        ]),
]
