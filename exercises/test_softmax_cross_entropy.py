"""Grades exercises/softmax_cross_entropy.py:  pytest exercises/test_softmax_cross_entropy.py"""

import numpy as np
import pytest

import minigrad as mg


def logits_and_labels(n, c, seed, scale=3.0, dtype="float32"):
    rng = np.random.default_rng(seed)
    logits = mg.tensor(rng.normal(size=(n, c)) * scale, dtype=dtype, requires_grad=True)
    labels = rng.integers(0, c, size=n)  # int64
    return logits, labels


def minigrads(logits, labels):
    """minigrad's loss and gradient for the same logits and labels."""
    twin = mg.tensor(logits.numpy(), requires_grad=True)
    loss = mg.sparse_categorical_crossentropy(labels, twin, from_logits=True)
    loss.backward()
    return loss.numpy(), twin.grad.numpy()


def check_close(ours, expected, what, rtol=1e-5, atol=1e-6):
    ours, expected = np.asarray(ours), np.asarray(expected)
    assert ours.shape == expected.shape, (
        f"{what}: expected shape {expected.shape}, got {ours.shape}")
    if np.allclose(ours, expected, rtol=rtol, atol=atol):
        return
    bad = np.abs(ours - expected) - (atol + rtol * np.abs(expected))
    index = np.unravel_index(np.argmax(np.where(np.isnan(bad), np.inf, bad)), ours.shape)
    where = f" at index {tuple(int(i) for i in index)}" if ours.ndim else ""
    message = (f"{what}: expected {expected[index].item()!r} (minigrad's value){where}, "
               f"got {ours[index].item()!r}")
    nonzero = np.abs(expected) > 1e-6
    if nonzero.any() and np.isfinite(ours).all():
        ratios = ours[nonzero] / expected[nonzero]
        if np.allclose(ratios, ratios.flat[0], rtol=1e-4):
            message += f" -- every element is off by the same factor {ratios.flat[0]:.6g}"
    raise AssertionError(message)


@pytest.mark.parametrize("n, c", [(8, 5), (1, 3), (32, 10)])
def test_loss_matches_minigrad(solution, n, c):
    logits, labels = logits_and_labels(n, c, seed=n)
    loss = solution.softmax_cross_entropy(logits, labels)
    assert isinstance(loss, mg.Tensor), f"expected a tensor, got {type(loss).__name__}"
    assert loss.shape == (), (
        f"the loss should be one number (shape ()), the mean over the batch; got shape "
        f"{loss.shape}")
    expected, _ = minigrads(logits, labels)
    check_close(loss.numpy(), expected, f"the loss of {n} samples, {c} classes")


def test_the_loss_is_one_op(solution):
    logits, labels = logits_and_labels(4, 3, seed=0)
    loss = solution.softmax_cross_entropy(logits, labels)
    assert loss.grad_fn is not None and loss.grad_fn.name == "SoftmaxCrossEntropy", (
        "softmax_cross_entropy(logits, labels) should be a single SoftmaxCrossEntropy op in the "
        f"graph, got {loss.grad_fn!r}")


@pytest.mark.parametrize("n, c", [(8, 5), (32, 10)])
def test_gradient_matches_minigrad(solution, n, c):
    logits, labels = logits_and_labels(n, c, seed=n + 1)
    solution.softmax_cross_entropy(logits, labels).backward()
    _, expected = minigrads(logits, labels)
    assert logits.grad is not None, "backward gave the logits no gradient"
    check_close(logits.grad.numpy(), expected,
                f"the gradient d(loss)/d(logits) of {n} samples, {c} classes")


def test_backward_passes_gradcheck(solution):
    logits, labels = logits_and_labels(6, 4, seed=2, dtype="float64")
    assert mg.testing.gradcheck(lambda z: solution.softmax_cross_entropy(z, labels), logits)


def test_backward_scales_with_the_incoming_gradient(solution):
    logits, labels = logits_and_labels(5, 4, seed=3, dtype="float64")
    solution.softmax_cross_entropy(logits, labels).backward(mg.tensor(3.0, dtype="float64"))
    _, expected = minigrads(logits, labels)
    check_close(logits.grad.numpy(), 3.0 * expected,
                "the gradient when the loss's own gradient is 3 (backward must multiply by "
                "grad)", rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_stays_finite_at_huge_logits(solution, dtype):
    values = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [-1e4, -1e4, -1e4]])
    labels = np.array([0, 1, 2])
    logits = mg.tensor(values, dtype=dtype, requires_grad=True)
    with np.errstate(all="ignore"):
        loss = solution.softmax_cross_entropy(logits, labels)
        assert np.isfinite(loss.numpy()), (
            f"logits of +-1e4 ({dtype}) gave the loss {loss.item()!r}: exp(1e4) overflows; "
            "subtract each row's maximum before exp (the log-sum-exp trick)")
        loss.backward()
    grad = logits.grad.numpy()
    assert np.isfinite(grad).all(), (
        f"logits of +-1e4 ({dtype}) gave a gradient with {np.count_nonzero(~np.isfinite(grad))}"
        f" non-finite elements: {grad.tolist()}")
    expected_loss, expected_grad = minigrads(logits, labels)
    check_close(loss.numpy(), expected_loss, f"the loss at logits of +-1e4 ({dtype})")
    check_close(grad, expected_grad, f"the gradient at logits of +-1e4 ({dtype})")


@pytest.mark.parametrize("label_dtype", [np.int64, np.int32, np.uint8])
def test_float32_logits_give_a_float32_loss_and_gradient(solution, label_dtype):
    logits, labels = logits_and_labels(6, 4, seed=4)
    labels = labels.astype(label_dtype)
    loss = solution.softmax_cross_entropy(logits, labels)
    assert loss.dtype == mg.float32, (
        f"float32 logits with {np.dtype(label_dtype).name} labels gave a {loss.dtype} loss; "
        "keep the logits' dtype (a float64 one-hot such as np.eye(C)[labels] promotes it)")
    # Call backward directly: the engine would cast its result back to float32 and hide it.
    node = loss.grad_fn
    grad = node.backward(node, np.asarray(1.0, dtype=np.float32))
    grad = grad[0] if isinstance(grad, tuple) else grad
    assert grad.shape == (6, 4), f"backward should return shape (6, 4), got {grad.shape}"
    assert grad.dtype == np.float32, (
        f"for float32 logits with {np.dtype(label_dtype).name} labels, backward returned a "
        f"{grad.dtype} gradient; keep the logits' dtype (a float64 one-hot such as "
        "np.eye(C)[labels] promotes it)")


def test_float64_logits_give_a_float64_loss(solution):
    logits, labels = logits_and_labels(3, 3, seed=5, dtype="float64")
    loss = solution.softmax_cross_entropy(logits, labels)
    assert loss.dtype == mg.float64, f"float64 logits gave a {loss.dtype} loss"
