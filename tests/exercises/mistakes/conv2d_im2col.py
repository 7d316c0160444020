"""Planted mistakes in exercise 7 (conv2d_im2col): each one is the reference
solution ``tests/exercises/solutions/conv2d_im2col.py`` with a few lines
replaced by a typical error (``edits``), and ``expect``, a regex of what the grader
must say about it."""

MISTAKES = [
    dict(
        name='kernel_reshaped_in_the_wrong_order',
        why=("The kernel reshaped as if it were PyTorch's (F, C, kh, kw) weight: "
             'kernel.reshape(F, -1).T has the right shape but mixes up which number '
             'belongs to which tap and filter.'),
        expect=r"the values differ from minigrad.s. Is the kernel reshaped",
        edits=[
            ("""\
    out = im2col(x, kh, kw, stride) @ kernel.reshape(kh * kw * c, f)
""",
             """\
    out = im2col(x, kh, kw, stride) @ kernel.reshape(f, kh * kw * c).T
"""),
        ]),
    dict(
        name='patch_flattened_channel_first',
        why=('im2col flattens each patch channel first, (c, i, j), rather than in the '
             "(i, j, c) order of the kernel's rows."),
        expect=r"row 0 must be the patch .* in \(i, j, c\) order",
        edits=[
            ("""\
    return cols.reshape(n * oh * ow, kh * kw * c)
""",
             """\
    return cols.transpose(0, 1, 2, 5, 3, 4).reshape(n * oh * ow, kh * kw * c)
"""),
        ]),
]
