"""Planted mistakes in exercise 5 (mlp_training): each one is the reference
solution ``tests/exercises/solutions/mlp_training.py`` with a few lines
replaced by a typical error (``edits``), and ``expect``, a regex of what the grader
must say about it."""

MISTAKES = [
    dict(
        name='batches_not_shuffled',
        why='mini-batches in the same order every epoch.',
        expect=r"the batches are not shuffled",
        edits=[
            ("""\
    order = rng.permutation(n)
""",
             """\
    order = np.arange(n)
"""),
        ]),
    dict(
        name='forward_through_numpy',
        why='forward computes with NumPy arrays, cutting the graph.',
        expect=r"no gradient can reach W1: forward must use minigrad ops",
        edits=[
            ("""\
        h = h @ params[2 * k] + params[2 * k + 1]
""",
             """\
        h = mg.tensor(h.numpy() @ params[2 * k].numpy() + params[2 * k + 1].numpy())
"""),
        ]),
    dict(
        name='grads_not_zeroed',
        why='sgd_step leaves the gradients in p.grad, so they accumulate.',
        expect=r"after sgd_step 1, W\.grad still holds a gradient",
        edits=[
            ("""\
        p.grad = None
""",
             """\
"""),
        ]),
    dict(
        name='last_batch_dropped',
        why='the last, partial batch is dropped.',
        expect=r"103 samples in batches of 10 should give 10 batches of 10 and one of 3, got sizes",
        edits=[
            ("""\
    return [order[start:start + batch_size] for start in range(0, n, batch_size)]
""",
             """\
    return [order[start:start + batch_size] for start in range(0, n - batch_size + 1, batch_size)]
"""),
        ]),
    dict(
        name='no_momentum',
        why='the velocity is overwritten by the gradient: plain SGD, no momentum.',
        expect=r"W after sgd_step 2 \(lr 0\.01, momentum 0\.9\) differs from mg\.optim\.SGD's",
        edits=[
            ("""\
        v *= momentum
""",
             """\
        v *= 0
"""),
        ]),
    dict(
        name='pixels_not_scaled',
        why='the pixels stay in [0, 16].',
        expect=r"scale the pixels \(0 to 16\) to \[0, 1\]",
        edits=[
            ("""\
    x = (digits.data / 16.0).astype(np.float32)
""",
             """\
    x = digits.data.astype(np.float32)
"""),
        ]),
    dict(
        name='relu_on_the_logits',
        why='a ReLU after the last layer too.',
        expect=r"the last layer has no ReLU",
        edits=[
            ("""\
        if k < n_layers - 1:
            h = mg.relu(h)
""",
             """\
        h = mg.relu(h)
"""),
        ]),
    dict(
        name='steps_up_the_gradient',
        why='the update adds the velocity instead of subtracting it.',
        expect=r"one sgd_step \(lr 0\.05\) raised the loss",
        edits=[
            ("""\
        p.data -= lr * v
""",
             """\
        p.data += lr * v
"""),
        ]),
    dict(
        name='unscaled_init',
        why='the weights are plain standard normals (std 1, far too large).',
        expect=r"W1 \(fan_in 64\) has standard deviation 1\.0\d+; He initialization",
        edits=[
            ("""\
        w = rng.normal(size=(fan_in, fan_out)) * np.sqrt(2.0 / fan_in)  # He initialization
""",
             """\
        w = rng.normal(size=(fan_in, fan_out))
"""),
        ]),
]
