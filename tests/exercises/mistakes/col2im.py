"""Planted mistakes in exercise 7 (col2im): each one is the reference
solution ``tests/exercises/solutions/col2im.py`` with a few lines
replaced by a typical error (``edits``), and ``expect``, a regex of what the grader
must say about it."""

MISTAKES = [
    dict(
        name='assigns_instead_of_adding',
        why=('col2im writes each patch over the pixels instead of adding to them: '
             'where patches overlap only the last one is kept.'),
        expect=r"overlapping patches must add up",
        edits=[
            ("""\
            x[:, i:i + stride * oh:stride, j:j + stride * ow:stride, :] += patches[:, :, :, i, j, :]
""",
             """\
            x[:, i:i + stride * oh:stride, j:j + stride * ow:stride, :] = patches[:, :, :, i, j, :]
"""),
        ]),
    dict(
        name='bias_summed_over_the_batch_only',
        why=('grad_bias summed over the batch only: each bias value was added to every '
             'output pixel, so its gradient sums over N, OH and OW, not only N.'),
        expect=r"grad_bias \(x \(2, 5, 5, 3\).*\) has shape \(3, 3, 4\), expected \(4,\)",
        edits=[
            ("""\
    grad_bias = g.sum(axis=0)
""",
             """\
    grad_bias = grad_out.sum(axis=0)
"""),
        ]),
    dict(
        name='ignores_the_stride',
        why=('col2im ignores the stride: patch (oh, ow) is added at pixel (oh, ow) as '
             'if the stride were 1, so stride 2 puts the gradients in the wrong '
             'pixels.'),
        expect=r"col2im with stride 2: patch \(oh, ow\) starts at pixel",
        edits=[
            ("""\
            x[:, i:i + stride * oh:stride, j:j + stride * ow:stride, :] += patches[:, :, :, i, j, :]
""",
             """\
            x[:, i:i + oh, j:j + ow, :] += patches[:, :, :, i, j, :]
"""),
        ]),
    dict(
        name='kernel_not_transposed',
        why=('grad_x multiplies by the kernel matrix without transposing it, the '
             'shapes made to fit with a reshape.'),
        expect=r"grad_x differs from minigrad's conv2d backward",
        edits=[
            ("""\
    grad_x = col2im(g @ w.T, x.shape, kh, kw, stride)
""",
             """\
    grad_x = col2im((w @ g.T).reshape(-1, kh * kw * c), x.shape, kh, kw, stride)
"""),
        ]),
]
