"""Reference solution of exercises/softmax_cross_entropy.py (kept out of the students' folder)."""

import numpy as np

import minigrad as mg


class SoftmaxCrossEntropy(mg.autograd.Function):
    @staticmethod
    def forward(ctx, logits, labels):
        xp = ctx.xp
        n = logits.shape[0]
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        rows = xp.arange(n)
        loss = -log_probs[rows, labels].sum() / n
        ctx.save_for_backward(log_probs, labels)
        return xp.asarray(loss, dtype=logits.dtype)

    @staticmethod
    def backward(ctx, grad):
        log_probs, labels = ctx.saved
        xp = ctx.xp
        n = log_probs.shape[0]
        dlogits = xp.exp(log_probs)  # softmax, in the logits' dtype
        dlogits[xp.arange(n), labels] -= 1
        return dlogits * (grad / n)


def softmax_cross_entropy(logits, labels):
    labels = labels.numpy() if isinstance(labels, mg.Tensor) else np.asarray(labels)
    return SoftmaxCrossEntropy.apply(logits, labels=labels)
