"""Planted mistakes in exercise 11 (batch_norm): each one is the reference
solution ``tests/exercises/solutions/batch_norm.py`` with a few lines
replaced by a typical error (``edits``), and ``expect``, a regex of what the grader
must say about it."""

MISTAKES = [
    dict(
        name='dx_ignores_the_batch_statistics',
        why=('dx treats the batch mean and variance as constants: dx = gamma * dy / '
             'std, without the two terms that flow through the statistics.'),
        expect=r"differs from minigrad.s batch_norm backward -- x reaches y directly AND through",
        edits=[
            ("""\
    m = dy.size // dy.shape[-1]
    dx = gamma * inv_std * (dy - d_beta / m - x_hat * d_gamma / m)
""",
             """\
    dx = gamma * inv_std * dy
"""),
        ]),
    dict(
        name='inference_uses_the_batch_statistics',
        why=("Inference mode normalizes with the batch's own mean and variance instead "
             'of the moving statistics.'),
        expect=r"inference mode: normalize with moving_mean and moving_var",
        edits=[
            ("""\
    return gamma * (x - moving_mean) / np.sqrt(moving_var + epsilon) + beta
""",
             """\
    axes = tuple(range(x.ndim - 1))
    return gamma * (x - x.mean(axis=axes)) / np.sqrt(x.var(axis=axes) + epsilon) + beta
"""),
        ]),
    dict(
        name='pytorch_momentum',
        why=("PyTorch's momentum convention: moving = (1 - momentum) * moving + "
             'momentum * batch, so momentum 0.9 nearly replaces the statistics at '
             'every step.'),
        expect=r"moving_mean after step 1: moving = 0\.8 \* moving \+ 0\.2 \* batch",
        edits=[
            ("""\
    new_mean = momentum * moving_mean + (1 - momentum) * mean
    new_var = momentum * moving_var + (1 - momentum) * var
""",
             """\
    new_mean = (1 - momentum) * moving_mean + momentum * mean
    new_var = (1 - momentum) * moving_var + momentum * var
"""),
        ]),
    dict(
        name='statistics_over_the_batch_axis_only',
        why=('For (N, H, W, C) images the statistics are taken over N only (axis 0), '
             'one per pixel and channel, instead of over N, H and W together.'),
        expect=r"new_moving_mean of an input of shape \(4, 3, 5, 2\) .* \(2,\), got \(3, 5, 2\)",
        edits=[
            ("""\
    axes = tuple(range(x.ndim - 1))
""",
             """\
    axes = (0,)
"""),
            ("""\
    axes = tuple(range(dy.ndim - 1))
""",
             """\
    axes = (0,)
"""),
            ("""\
    m = dy.size // dy.shape[-1]
""",
             """\
    m = dy.shape[0]
"""),
        ]),
    dict(
        name='unbiased_variance',
        why=("The batch variance divides by m - 1 (ddof=1, PyTorch's running variance) "
             'instead of m.'),
        expect=r"the batch variance divides by m \(np\.var's default\), not by m - 1",
        edits=[
            ("""\
    var = x.var(axis=axes)  # biased: divides by m
""",
             """\
    var = x.var(axis=axes, ddof=1)
"""),
        ]),
]
