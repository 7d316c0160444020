"""Grades exercises/mlp_training.py:  pytest exercises/test_mlp_training.py"""

import time

import numpy as np
import pytest

import minigrad as mg

TARGET_ACCURACY = 0.95  # the reference reaches 0.97-0.98
TIME_LIMIT_S = 10.0     # the reference trains in about 0.2 s


@pytest.fixture(scope="module")
def digits():
    """The grader's own split of scikit-learn's 8x8 digits (as load_data should make it)."""
    pytest.importorskip("sklearn", reason='scikit-learn is missing: pip install -e ".[course]"')
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0,
                                                        stratify=y)
    return x_train, y_train, x_test, y_test


def random_params(sizes, seed):
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params.append(mg.tensor(rng.normal(size=(fan_in, fan_out)) / np.sqrt(fan_in),
                                dtype="float32", requires_grad=True))
        params.append(mg.tensor(rng.normal(size=fan_out), dtype="float32", requires_grad=True))
    return params


def numpy_mlp(params, x):
    h = x.astype(np.float64)
    arrays = [p.numpy().astype(np.float64) for p in params]
    for k in range(0, len(arrays), 2):
        h = h @ arrays[k] + arrays[k + 1]
        if k < len(arrays) - 2:
            h = np.maximum(h, 0)
    return h


# --- 1. load_data ---------------------------------------------------------------------------------

def test_load_data(solution, digits):
    (x_train, y_train), (x_test, y_test) = solution.load_data(seed=0)
    for name, array, shape in [("x_train", x_train, (1347, 64)), ("x_test", x_test, (450, 64)),
                               ("y_train", y_train, (1347,)), ("y_test", y_test, (450,))]:
        assert np.shape(array) == shape, (
            f"{name} should have shape {shape} (test_size=0.25), got {np.shape(array)}")
    assert x_train.dtype == np.float32 and x_test.dtype == np.float32, (
        f"the images should be float32, got {x_train.dtype} and {x_test.dtype}")
    assert np.issubdtype(y_train.dtype, np.integer), (
        f"the labels should be integers, got {y_train.dtype}")
    assert x_train.min() == 0.0 and x_train.max() == 1.0, (
        f"scale the pixels (0 to 16) to [0, 1] by dividing by 16; x_train spans "
        f"[{x_train.min()}, {x_train.max()}]")
    np.testing.assert_array_equal(
        x_train, digits[0], err_msg="load_data(seed=0) should split as train_test_split(x, y, "
        "test_size=0.25, random_state=0, stratify=y) does")
    np.testing.assert_array_equal(y_test, digits[3], err_msg="y_test differs from the split of "
                                  "train_test_split(..., random_state=0, stratify=y)")


# --- 2. init_params -------------------------------------------------------------------------------

def test_init_params_shapes_dtypes_and_scale(solution):
    params = solution.init_params((64, 128, 10), seed=0)
    shapes = [(64, 128), (128,), (128, 10), (10,)]
    assert len(params) == 4, (
        f"sizes (64, 128, 10) make 2 layers: [W1, b1, W2, b2], got {len(params)} parameters")
    for k, (p, shape) in enumerate(zip(params, shapes)):
        name = f"{'Wb'[k % 2]}{k // 2 + 1}"
        assert isinstance(p, mg.Tensor), f"{name} should be a tensor, got {type(p).__name__}"
        assert p.shape == shape, f"{name} should have shape {shape}, got {p.shape}"
        assert p.dtype == mg.float32, f"{name} should be float32, got {p.dtype}"
        assert p.requires_grad, f"{name} should have requires_grad=True"
    for k in (1, 3):
        assert (params[k].numpy() == 0).all(), f"b{k // 2 + 1} should start at zero"
    for k, fan_in in ((0, 64), (2, 128)):
        std, he = params[k].numpy().std(), np.sqrt(2 / fan_in)
        assert 0.7 * he < std < 1.3 * he, (
            f"W{k // 2 + 1} (fan_in {fan_in}) has standard deviation {std:.4f}; He "
            f"initialization gives sqrt(2 / fan_in) = {he:.4f}")


def test_init_params_depends_on_the_seed_only(solution):
    a = solution.init_params((64, 16, 10), seed=1)
    b = solution.init_params((64, 16, 10), seed=1)
    c = solution.init_params((64, 16, 10), seed=2)
    assert np.array_equal(a[0].numpy(), b[0].numpy()), "the same seed should give the same W1"
    assert not np.array_equal(a[0].numpy(), c[0].numpy()), "another seed should give another W1"


# --- 3. forward -----------------------------------------------------------------------------------

@pytest.mark.parametrize("sizes", [(64, 32, 10), (64, 20, 16, 10), (64, 10)])
def test_forward_matches_a_numpy_mlp(solution, sizes):
    params = random_params(sizes, seed=len(sizes))
    x = np.random.default_rng(0).random((5, 64)).astype(np.float32)
    logits = solution.forward(params, x)
    assert isinstance(logits, mg.Tensor), f"forward should return a tensor, got {type(logits)}"
    assert logits.shape == (5, 10), f"the logits should have shape (5, 10), got {logits.shape}"
    assert logits.dtype == mg.float32, (
        f"float32 inputs should give float32 logits, got {logits.dtype}")
    expected = numpy_mlp(params, x)
    ours = logits.numpy()
    if not np.allclose(ours, expected, rtol=1e-4, atol=1e-4):
        hint = ""
        if np.allclose(ours, np.maximum(expected, 0), rtol=1e-4, atol=1e-4):
            hint = "; the last layer has no ReLU: logits may be negative"
        index = np.unravel_index(np.argmax(np.abs(ours - expected)), ours.shape)
        raise AssertionError(f"logits of layers {sizes} at (sample, class) = "
                             f"{tuple(int(i) for i in index)}: expected {expected[index]:.5f}, "
                             f"got {ours[index]:.5f}{hint}")


def test_backward_reaches_every_parameter(solution):
    params = random_params((64, 32, 10), seed=5)
    x = np.random.default_rng(1).random((4, 64)).astype(np.float32)
    logits = solution.forward(params, x)
    assert logits.requires_grad, (
        "the logits do not require grad, so no gradient can reach W1: forward must use "
        "minigrad ops on the parameters (not .numpy() or .data)")
    logits.sum().backward()
    for k, p in enumerate(params):
        name = f"{'Wb'[k % 2]}{k // 2 + 1}"
        assert p.grad is not None, (
            f"no gradient reached {name}: forward must use minigrad ops on the parameters "
            "(not .numpy() or .data)")


# --- 4. loss_fn -----------------------------------------------------------------------------------

def test_loss_is_the_mean_cross_entropy(solution):
    rng = np.random.default_rng(2)
    logits = mg.tensor(rng.normal(size=(7, 10)) * 2, dtype="float32")
    labels = rng.integers(0, 10, size=7)
    loss = solution.loss_fn(logits, labels)
    expected = mg.sparse_categorical_crossentropy(labels, logits, from_logits=True).item()
    assert loss.shape == (), f"the loss should be one number (shape ()), got shape {loss.shape}"
    assert abs(loss.item() - expected) < 1e-5, (
        f"the mean cross-entropy of 7 samples should be {expected:.6f}, got {loss.item():.6f}")


# --- 5. sgd_step ----------------------------------------------------------------------------------

def quadratic_loss(params):
    w, b = params
    return ((w * mg.tensor([[1.0, -2.0], [0.5, 3.0]])).sum() + (b * b).sum()) ** 2


def test_sgd_step_matches_minigrads_sgd(solution):
    start = [np.array([[0.5, -1.0], [2.0, 0.1]], dtype=np.float32),
             np.array([1.0, -0.5], dtype=np.float32)]
    ours = [mg.tensor(a, requires_grad=True) for a in start]
    theirs = [mg.tensor(a, requires_grad=True) for a in start]
    velocities = [np.zeros_like(a) for a in start]
    optimizer = mg.optim.SGD(theirs, lr=0.01, momentum=0.9)
    for step in range(1, 4):
        quadratic_loss(ours).backward()
        solution.sgd_step(ours, velocities, lr=0.01, momentum=0.9)
        optimizer.zero_grad()
        quadratic_loss(theirs).backward()
        optimizer.step()
        for k, (p, q) in enumerate(zip(ours, theirs)):
            name = "Wb"[k]
            assert p.grad is None or not p.grad.numpy().any(), (
                f"after sgd_step {step}, {name}.grad still holds a gradient; clear it "
                "(p.grad = None): backward adds into .grad")
            assert p.data.dtype == np.float32, (
                f"after sgd_step {step}, {name} is {p.data.dtype}; keep it float32")
            np.testing.assert_allclose(
                p.numpy(), q.numpy(), rtol=1e-5, atol=1e-6,
                err_msg=f"{name} after sgd_step {step} (lr 0.01, momentum 0.9) differs from "
                "mg.optim.SGD's: v = momentum * v + grad, p -= lr * v")


def test_one_step_lowers_the_loss(solution):
    rng = np.random.default_rng(3)
    x = rng.random((64, 64)).astype(np.float32)
    y = rng.integers(0, 10, size=64)
    params = random_params((64, 32, 10), seed=6)
    velocities = [np.zeros(p.shape, dtype=np.float32) for p in params]
    before = mg.sparse_categorical_crossentropy(y, solution.forward(params, x), from_logits=True)
    before.backward()
    solution.sgd_step(params, velocities, lr=0.05, momentum=0.9)
    with mg.no_grad():
        after = mg.sparse_categorical_crossentropy(y, solution.forward(params, x),
                                                   from_logits=True)
    assert after.item() < before.item(), (
        f"one sgd_step (lr 0.05) raised the loss from {before.item():.5f} to {after.item():.5f}; "
        "step against the gradient: p.data -= lr * v")


# --- 6. minibatches -------------------------------------------------------------------------------

def test_minibatches_cover_every_sample_once_shuffled(solution):
    batches = list(solution.minibatches(103, 10, np.random.default_rng(0)))
    sizes = [len(b) for b in batches]
    assert sizes == [10] * 10 + [3], (
        f"103 samples in batches of 10 should give 10 batches of 10 and one of 3, got sizes "
        f"{sizes}")
    indices = np.concatenate(batches)
    missing = sorted(set(range(103)) - set(indices.tolist()))
    assert not missing and len(indices) == 103, (
        f"every sample should appear exactly once per epoch; missing {missing}, "
        f"{len(indices) - len(set(indices.tolist()))} repeated")
    assert not (indices == np.arange(103)).all(), (
        "the batches are not shuffled: use a fresh rng.permutation(n) each epoch")
    again = np.concatenate(list(solution.minibatches(103, 10, np.random.default_rng(0))))
    assert (indices == again).all(), "the same rng state should give the same batches"


def test_each_epoch_has_a_new_order(solution):
    rng = np.random.default_rng(1)
    first = np.concatenate(list(solution.minibatches(50, 8, rng)))
    second = np.concatenate(list(solution.minibatches(50, 8, rng)))
    assert not (first == second).all(), (
        "two epochs drawn from the same rng gave the same order: draw the permutation from rng "
        "each time (not from a new generator with a fixed seed)")


# --- 7. accuracy ----------------------------------------------------------------------------------

def test_accuracy(solution):
    params = random_params((64, 10), seed=7)
    x = np.random.default_rng(4).random((40, 64)).astype(np.float32)
    predictions = numpy_mlp(params, x).argmax(axis=1)
    y = predictions.copy()
    y[:10] = (y[:10] + 1) % 10  # 30 of 40 right
    value = solution.accuracy(params, x, y)
    assert abs(float(value) - 0.75) < 1e-9, (
        f"30 of 40 samples are classified right: accuracy should be 0.75, got {value!r}")


# --- 8. train -------------------------------------------------------------------------------------

def test_train_reaches_the_target_accuracy(solution, digits):
    x_train, y_train, x_test, y_test = digits
    start = time.perf_counter()
    params = solution.train(x_train, y_train, seed=0)
    seconds = time.perf_counter() - start
    test_accuracy = float(solution.accuracy(params, x_test, y_test))
    assert test_accuracy >= TARGET_ACCURACY, (
        f"train(x_train, y_train, seed=0) reached {test_accuracy:.2%} test accuracy; the target "
        f"is {TARGET_ACCURACY:.0%} (the reference: 97-98% with one hidden layer of 128, 20 "
        "epochs, batches of 32, lr 0.1, momentum 0.9)")
    assert seconds < TIME_LIMIT_S, (
        f"train took {seconds:.1f} s; the limit is {TIME_LIMIT_S:.0f} s (the reference takes "
        "about 0.2 s): fewer epochs, bigger batches, or no Python loop over samples")
