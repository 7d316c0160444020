"""Huber, KL divergence and label smoothing against Keras 3 itself (torch backend) on identical
data, with and without sample weights, for each reduction: the same losses and the same
gradients with respect to ``y_pred`` (torch's autograd through Keras's ops). Also the PyTorch
cross-checks where PyTorch has the same loss. Skips without Keras / PyTorch."""

import os

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.testing import gradcheck

from ._specs import NO_TORCH

torch = pytest.importorskip("torch", reason=NO_TORCH)
TF = torch.nn.functional

N, C = 6, 4
TOLERANCES = {"float32": dict(rtol=2e-5, atol=1e-6), "float64": dict(rtol=1e-10, atol=1e-12)}
# Keras 3 is not float64-exact even with dtype="float64": its reductions return float32 and its
# huber loses digits at 1e-8; float64 is compared with it at float32's precision (and exactly
# with PyTorch and NumPy below).
KERAS_TOLERANCES = {"float32": TOLERANCES["float32"], "float64": dict(rtol=1e-6, atol=1e-8)}
KERAS_REDUCTIONS = {"mean": "sum_over_batch_size", "sum": "sum", "none": "none"}


def _probabilities(rng, shape):
    p = rng.uniform(0.05, 1.0, shape)
    return p / p.sum(axis=-1, keepdims=True)


def _one_hot(rng, shape):
    return np.eye(shape[-1])[rng.integers(0, shape[-1], shape[:-1])]


# name -> (minigrad loss object, Keras class and its arguments, y_true maker, y_pred maker)
CASES = {
    "huber": (lambda r: nn.losses.Huber(reduction=r), ("Huber", {}),
              lambda rng: rng.standard_normal((N, C)),
              lambda rng: rng.standard_normal((N, C)) * 2),
    "huber_delta": (lambda r: nn.losses.Huber(delta=0.3, reduction=r), ("Huber", {"delta": 0.3}),
                    lambda rng: rng.standard_normal((N, C)),
                    lambda rng: rng.standard_normal((N, C)) * 2),
    "kld": (lambda r: nn.losses.KLDivergence(reduction=r), ("KLDivergence", {}),
            lambda rng: _probabilities(rng, (N, C)), lambda rng: _probabilities(rng, (N, C))),
    # y_true with zeros: Keras clips them to 1e-7 too, and so does minigrad
    "kld_one_hot_targets": (lambda r: nn.losses.KLDivergence(reduction=r), ("KLDivergence", {}),
                            lambda rng: _one_hot(rng, (N, C)),
                            lambda rng: _probabilities(rng, (N, C))),
    "cce_smoothing": (
        lambda r: nn.losses.CategoricalCrossentropy(label_smoothing=0.1, reduction=r),
        ("CategoricalCrossentropy", {"label_smoothing": 0.1}),
        lambda rng: _one_hot(rng, (N, C)), lambda rng: _probabilities(rng, (N, C))),
    "cce_logits_smoothing": (
        lambda r: nn.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2,
                                                    reduction=r),
        ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}),
        lambda rng: _one_hot(rng, (N, C)), lambda rng: rng.standard_normal((N, C)) * 3),
    "bce_smoothing": (
        lambda r: nn.losses.BinaryCrossentropy(label_smoothing=0.1, reduction=r),
        ("BinaryCrossentropy", {"label_smoothing": 0.1}),
        lambda rng: rng.integers(0, 2, (N, C)).astype(float),
        lambda rng: rng.uniform(0.02, 0.98, (N, C))),
    "bce_logits_smoothing": (
        lambda r: nn.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.3,
                                               reduction=r),
        ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.3}),
        lambda rng: rng.integers(0, 2, (N, 1)).astype(float),
        lambda rng: rng.standard_normal((N, 1)) * 3),
}


def _data(name, seed=0):
    _, _, make_true, make_pred = CASES[name]
    rng = np.random.default_rng(seed)
    return make_true(rng), make_pred(rng), rng.uniform(0.0, 2.0, N)


def _minigrad(name, reduction, y_true, y_pred, weight, dtype):
    p = mg.tensor(y_pred, dtype=dtype, requires_grad=True)
    loss = CASES[name][0](reduction)(y_true, p, sample_weight=weight)
    loss.sum().backward()
    return loss.numpy(), p.grad.numpy()


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras", reason="Keras 3 not installed (pip install keras; it "
                                                "runs on the torch backend)")
    if keras.backend.backend() != "torch":
        pytest.skip("the gradients are taken with torch: run with KERAS_BACKEND=torch")
    return keras


def _keras(keras, name, reduction, y_true, y_pred, weight, dtype):
    class_name, arguments = CASES[name][1]
    loss = getattr(keras.losses, class_name)(reduction=KERAS_REDUCTIONS[reduction], dtype=dtype,
                                             **arguments)
    p = torch.tensor(y_pred, dtype=getattr(torch, dtype), requires_grad=True)
    w = None if weight is None else torch.tensor(weight, dtype=p.dtype)
    value = loss(torch.tensor(y_true, dtype=p.dtype), p, sample_weight=w)
    value.sum().backward()
    return value.detach().numpy(), p.grad.numpy()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", list(CASES))
def test_loss_and_gradient_match_keras(name, reduction, weighted, dtype, keras):
    y_true, y_pred, weight = _data(name)
    weight = weight if weighted else None
    loss, grad = _minigrad(name, reduction, y_true, y_pred, weight, dtype)
    expected_loss, expected_grad = _keras(keras, name, reduction, y_true, y_pred, weight, dtype)
    np.testing.assert_allclose(loss, expected_loss, err_msg="loss", **KERAS_TOLERANCES[dtype])
    np.testing.assert_allclose(grad, expected_grad, err_msg="gradient",
                               **KERAS_TOLERANCES[dtype])


@pytest.mark.parametrize("name", ["huber", "kld", "kl_divergence", "KLD", "Huber"])
def test_keras_names_of_the_new_losses_compute_what_keras_computes(name, keras):
    y_true, y_pred, _ = _data("kld")
    ours = nn.losses.get(name)(y_true, mg.tensor(y_pred, dtype="float64"))
    theirs = keras.losses.get(name)(torch.tensor(y_true), torch.tensor(y_pred))
    # keras.losses.get gives the function (per-sample values) for "huber" / "kld": its mean
    np.testing.assert_allclose(float(ours), float(theirs.mean()), **KERAS_TOLERANCES["float64"])


def test_the_keras_comparison_can_fail(keras):
    """Smoothing 0.1 and 0.2 give different losses: the comparison would notice a lost
    argument."""
    y_true, y_pred, _ = _data("cce_smoothing")
    ours = nn.losses.CategoricalCrossentropy(label_smoothing=0.2)(y_true, mg.tensor(y_pred))
    theirs = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)(
        torch.tensor(y_true, dtype=torch.float32), torch.tensor(y_pred, dtype=torch.float32))
    assert abs(float(ours) - float(theirs)) > 1e-3


# --- PyTorch where it has the same loss ----------------------------------------------------

@pytest.mark.parametrize("delta", [1.0, 0.3])
def test_huber_matches_torch(delta, device):
    y_true, y_pred, _ = _data("huber")
    p = mg.tensor(y_pred, dtype="float64", device=device, requires_grad=True)
    loss = mg.huber(y_true, p, delta=delta, reduction="none")
    loss.sum().backward()
    t = torch.tensor(y_pred, requires_grad=True)
    expected = TF.huber_loss(t, torch.tensor(y_true), reduction="none", delta=delta).mean(-1)
    expected.sum().backward()
    np.testing.assert_allclose(loss.numpy(), expected.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_kl_divergence_matches_torch_inside_the_clip(device):
    y_true, y_pred, _ = _data("kld")
    p = mg.tensor(y_pred, dtype="float64", device=device, requires_grad=True)
    loss = mg.kl_divergence(y_true, p, reduction="none")
    loss.sum().backward()
    t = torch.tensor(y_pred, requires_grad=True)
    expected = TF.kl_div(torch.log(t), torch.tensor(y_true), reduction="none").sum(-1)
    expected.sum().backward()
    np.testing.assert_allclose(loss.numpy(), expected.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 1.0])
def test_label_smoothing_on_logits_matches_torch_cross_entropy(smoothing, device):
    y_true, y_pred, _ = _data("cce_logits_smoothing")
    p = mg.tensor(y_pred, dtype="float64", device=device, requires_grad=True)
    loss = mg.categorical_crossentropy(y_true, p, from_logits=True, label_smoothing=smoothing)
    loss.backward()
    t = torch.tensor(y_pred, requires_grad=True)
    expected = TF.cross_entropy(t, torch.tensor(y_true.argmax(-1)), label_smoothing=smoothing)
    expected.backward()
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-12)
    np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-14)


# --- gradient checks and rules ---------------------------------------------------------------

@pytest.mark.parametrize("fn, make_true, make_pred", [
    (lambda t, p: mg.huber(t, p, delta=0.7, reduction="none"),
     lambda rng: rng.standard_normal((3, 4)), lambda rng: rng.standard_normal((3, 4)) * 2),
    (lambda t, p: mg.kl_divergence(t, p, reduction="none"),
     lambda rng: _probabilities(rng, (3, 4)), lambda rng: _probabilities(rng, (3, 4))),
    (lambda t, p: mg.categorical_crossentropy(t, p, label_smoothing=0.3, reduction="none"),
     lambda rng: _one_hot(rng, (3, 4)), lambda rng: _probabilities(rng, (3, 4))),
    (lambda t, p: mg.binary_crossentropy(t, p, from_logits=True, label_smoothing=0.3),
     lambda rng: rng.integers(0, 2, (3, 4)).astype(float), lambda rng: rng.standard_normal((3, 4))),
], ids=["huber", "kl_divergence", "cce_smoothing", "bce_logits_smoothing"])
def test_gradient_matches_finite_differences(fn, make_true, make_pred, device):
    rng = np.random.default_rng(3)
    y_true = make_true(rng)
    y_pred = mg.tensor(make_pred(rng), dtype="float64", device=device, requires_grad=True)
    gradcheck(lambda p: fn(y_true, p), y_pred)


def test_huber_is_quadratic_inside_delta_and_linear_beyond():
    loss = mg.huber(np.zeros(4), mg.tensor([0.5, -1.0, 3.0, -2.0], dtype="float64"),
                    delta=1.0, reduction="none")
    np.testing.assert_allclose(loss.numpy(), [0.125, 0.5, 2.5, 1.5], rtol=1e-15)


def test_label_smoothing_of_one_is_the_uniform_target():
    probs = mg.tensor([[0.7, 0.2, 0.1]], dtype="float64")
    loss = mg.categorical_crossentropy([[1.0, 0.0, 0.0]], probs, label_smoothing=1.0)
    assert float(loss) == pytest.approx(-np.mean(np.log([0.7, 0.2, 0.1])), rel=1e-14)
    loss = mg.binary_crossentropy([[1.0]], mg.tensor([[0.8]], dtype="float64"),
                                  label_smoothing=1.0)
    assert float(loss) == pytest.approx(-0.5 * (np.log(0.8) + np.log(0.2)), rel=1e-14)


@pytest.mark.parametrize("bad", [-0.1, 1.5, "0.1x"])
def test_label_smoothing_outside_0_1_is_refused(bad):
    with pytest.raises(ValueError, match=r"label_smoothing must be a number in \[0, 1\]"):
        mg.categorical_crossentropy([[1.0, 0.0]], mg.tensor([[0.5, 0.5]]), label_smoothing=bad)
    with pytest.raises(ValueError, match=r"label_smoothing must be a number in \[0, 1\]"):
        mg.binary_crossentropy([[1.0]], mg.tensor([[0.5]]), label_smoothing=bad)


def test_sparse_crossentropy_has_no_label_smoothing_as_in_keras():
    with pytest.raises(TypeError, match="label_smoothing"):
        nn.losses.SparseCategoricalCrossentropy(label_smoothing=0.1)


@pytest.mark.parametrize("delta", [0.0, -1.0])
def test_huber_needs_a_positive_delta(delta):
    with pytest.raises(ValueError, match="delta must be a positive number"):
        mg.huber([0.0], mg.tensor([1.0]), delta=delta)
    with pytest.raises(ValueError, match="delta must be a positive number"):
        nn.losses.Huber(delta=delta)


@pytest.mark.parametrize("loss", [nn.losses.Huber(delta=0.5),
                                  nn.losses.KLDivergence(reduction="sum"),
                                  nn.losses.CategoricalCrossentropy(label_smoothing=0.1),
                                  nn.losses.BinaryCrossentropy(label_smoothing=0.2)],
                         ids=lambda loss: type(loss).__name__)
def test_new_options_round_trip_through_serialize(loss):
    restored = nn.losses.get(nn.losses.serialize(loss))
    assert type(restored) is type(loss) and restored.get_config() == loss.get_config()


def test_binary_crossentropy_takes_keras_axis_argument_for_the_last_axis_only():
    y_true, y_pred = [[1.0, 0.0]], mg.tensor([[0.8, 0.3]], dtype="float64")
    assert float(mg.binary_crossentropy(y_true, y_pred, axis=-1)) == \
        float(mg.binary_crossentropy(y_true, y_pred, axis=1))
    assert nn.losses.BinaryCrossentropy(axis=-1).get_config()["axis"] == -1
    with pytest.raises(ValueError, match="only axis=-1 .* is supported, got axis=0"):
        mg.binary_crossentropy(y_true, y_pred, axis=0)
