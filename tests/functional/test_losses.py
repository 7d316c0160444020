"""The losses of minigrad.functional.losses: Keras's formulas (clipping at 1e-7, per-sample mean
then reduction, sample weights), PyTorch's numbers where PyTorch has the loss, finite values and
gradients at extreme logits and probabilities of exactly 0 and 1, dtypes kept, and clear errors.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg
from minigrad.testing import gradcheck

from ._specs import NO_TORCH, hypothesis_settings

torch = pytest.importorskip("torch", reason=NO_TORCH)
TF = torch.nn.functional

N, D, C = 6, 3, 4
EPS = 1e-7
TOLERANCES = {"float32": dict(rtol=2e-5, atol=2e-6), "float64": dict(rtol=1e-10, atol=1e-12)}


def _rng(seed=0):
    return np.random.default_rng(seed)


def _soft_targets(rng, shape):
    t = rng.uniform(0.0, 1.0, shape)
    return t / t.sum(axis=-1, keepdims=True)


# Each case: the minigrad call, its PyTorch per-sample reference, and how to make y_true and y_pred
# (probabilities inside (0, 1) here: the clip is tested separately against Keras's formula).
CASES = {
    "mse": dict(
        fn=lambda t, p, **kw: mg.mean_squared_error(t, p, **kw),
        ref=lambda t, p: TF.mse_loss(p, t, reduction="none").mean(-1),
        y_true=lambda rng: rng.standard_normal((N, D)),
        y_pred=lambda rng: rng.standard_normal((N, D))),
    "mae": dict(
        fn=lambda t, p, **kw: mg.mean_absolute_error(t, p, **kw),
        ref=lambda t, p: TF.l1_loss(p, t, reduction="none").mean(-1),
        y_true=lambda rng: rng.standard_normal((N, D)),
        y_pred=lambda rng: rng.standard_normal((N, D))),
    "bce": dict(
        fn=lambda t, p, **kw: mg.binary_crossentropy(t, p, **kw),
        ref=lambda t, p: TF.binary_cross_entropy(p, t, reduction="none").mean(-1),
        y_true=lambda rng: rng.uniform(0, 1, (N, D)),
        y_pred=lambda rng: rng.uniform(0.05, 0.95, (N, D))),
    "bce_logits": dict(
        fn=lambda t, p, **kw: mg.binary_crossentropy(t, p, from_logits=True, **kw),
        ref=lambda t, p: TF.binary_cross_entropy_with_logits(p, t, reduction="none").mean(-1),
        y_true=lambda rng: rng.integers(0, 2, (N, D)).astype(float),
        y_pred=lambda rng: rng.standard_normal((N, D)) * 3),
    "cce": dict(
        # Keras divides the probabilities by their sum: these rows do not sum to 1
        fn=lambda t, p, **kw: mg.categorical_crossentropy(t, p, **kw),
        ref=lambda t, p: -(t * torch.log(p / p.sum(-1, keepdim=True))).sum(-1),
        y_true=lambda rng: _soft_targets(rng, (N, C)),
        y_pred=lambda rng: rng.uniform(0.1, 1.0, (N, C))),
    "cce_logits": dict(
        fn=lambda t, p, **kw: mg.categorical_crossentropy(t, p, from_logits=True, **kw),
        ref=lambda t, p: TF.cross_entropy(p, t, reduction="none"),  # probabilities as targets
        y_true=lambda rng: _soft_targets(rng, (N, C)),
        y_pred=lambda rng: rng.standard_normal((N, C)) * 3),
    "sparse": dict(
        fn=lambda t, p, **kw: mg.sparse_categorical_crossentropy(t, p, **kw),
        ref=lambda t, p: TF.nll_loss(torch.log(p / p.sum(-1, keepdim=True)), t, reduction="none"),
        y_true=lambda rng: rng.integers(0, C, N),
        y_pred=lambda rng: rng.uniform(0.1, 1.0, (N, C))),
    "sparse_logits": dict(
        fn=lambda t, p, **kw: mg.sparse_categorical_crossentropy(t, p, from_logits=True, **kw),
        ref=lambda t, p: TF.cross_entropy(p, t, reduction="none"),  # class indices
        y_true=lambda rng: rng.integers(0, C, N),
        y_pred=lambda rng: rng.standard_normal((N, C)) * 3),
}


def _torch_reference(case, y_true, y_pred, weight, reduction, upstream, dtype):
    """(loss, gradient wrt y_pred) from PyTorch, with Keras's weighting and reduction."""
    tdtype = getattr(torch, dtype)
    p = torch.tensor(y_pred, dtype=tdtype, requires_grad=True)
    t = torch.tensor(y_true) if y_true.dtype.kind == "i" else torch.tensor(y_true, dtype=tdtype)
    per_sample = case["ref"](t, p)
    if weight is not None:
        per_sample = per_sample * torch.tensor(weight, dtype=tdtype)
    if reduction == "none":
        loss = per_sample
        loss.backward(torch.tensor(upstream, dtype=tdtype))
    else:
        loss = per_sample.sum() / (len(per_sample) if reduction == "mean" else 1)
        loss.backward()
    return loss.detach().numpy(), p.grad.numpy()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(CASES))
def test_loss_and_gradient_match_torch(name, dtype, weighted, reduction, device):
    case, rng = CASES[name], _rng(1)
    y_true, y_pred = case["y_true"](rng), case["y_pred"](rng)
    weight = rng.uniform(0.0, 2.0, N) if weighted else None
    upstream = rng.standard_normal(N)

    p = mg.tensor(y_pred, dtype=dtype, device=device, requires_grad=True)
    loss = case["fn"](y_true, p, sample_weight=weight, reduction=reduction)
    if reduction == "none":
        loss.backward(mg.tensor(upstream, dtype=dtype, device=device))
    else:
        loss.backward()
    expected_loss, expected_grad = _torch_reference(case, y_true, y_pred, weight, reduction,
                                                    upstream, dtype)
    assert loss.dtype == p.grad.dtype == np.dtype(dtype)
    assert loss.shape == expected_loss.shape
    np.testing.assert_allclose(loss.numpy(), expected_loss, **TOLERANCES[dtype])
    np.testing.assert_allclose(p.grad.numpy(), expected_grad, **TOLERANCES[dtype])


@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("name", list(CASES))
def test_gradient_wrt_y_pred_matches_finite_differences(name, reduction, device):
    case, rng = CASES[name], _rng(2)
    y_true, weight = case["y_true"](rng), rng.uniform(0.5, 2.0, N)
    p = mg.tensor(case["y_pred"](rng), dtype="float64", device=device, requires_grad=True)
    labels = mg.tensor(y_true, device=device)  # a tensor of labels: a constant, not differentiated
    assert gradcheck(lambda x: case["fn"](labels, x, sample_weight=weight, reduction=reduction), p)
    assert labels.grad is None


def test_loss_is_one_graph_node_with_y_pred_as_its_only_input():
    logits = mg.randn(4, 3, requires_grad=True)
    loss = mg.sparse_categorical_crossentropy(mg.tensor([0, 1, 2, 0]), logits, from_logits=True,
                                              sample_weight=[1.0, 2.0, 3.0, 4.0])
    assert loss.grad_fn.name == "SparseSoftmaxCrossentropy"
    assert loss.grad_fn.inputs == (logits,)


def test_labels_that_require_grad_are_refused():
    target = mg.randn(3, 2, requires_grad=True)
    with pytest.raises(ValueError, match=r"y_true requires grad.*y_true.detach\(\)"):
        mg.mean_squared_error(target, mg.randn(3, 2, requires_grad=True))


# --- Keras's semantics ----------------------------------------------------------------------------

def test_mean_reduction_divides_by_the_number_of_samples_not_the_weights():
    # Keras's "sum_over_batch_size": (1*1 + 0*4) / 2, not (1*1 + 0*4) / (1 + 0)
    y_pred = mg.tensor([[1.0], [2.0]])
    loss = mg.mean_squared_error([[0.0], [0.0]], y_pred, sample_weight=[1.0, 0.0])
    assert loss.item() == pytest.approx(0.5)
    assert mg.mean_squared_error([[0.0], [0.0]], y_pred, sample_weight=[1.0, 0.0],
                                 reduction="sum_over_batch_size").item() == pytest.approx(0.5)
    assert mg.mean_squared_error([[0.0], [0.0]], y_pred, reduction="sum").item() == 5.0


def test_per_sample_loss_is_the_mean_over_the_last_axis():
    y_true = np.zeros((2, 3, 4))
    y_pred = np.arange(24.0).reshape(2, 3, 4)
    per_sample = mg.mean_squared_error(y_true, mg.tensor(y_pred), reduction="none")
    assert per_sample.shape == (2, 3)
    np.testing.assert_allclose(per_sample.numpy(), (y_pred ** 2).mean(axis=-1), rtol=1e-6)
    # one weight per sample (2,) spreads over the trailing axis of the per-sample losses
    weighted = mg.mean_squared_error(y_true, mg.tensor(y_pred), sample_weight=[1.0, 0.0],
                                     reduction="none")
    np.testing.assert_allclose(weighted.numpy(), per_sample.numpy() * [[1.0], [0.0]])


def test_labels_without_the_last_unit_axis_are_accepted_as_in_keras():
    # y (N,) beside a one-unit output (N, 1): compared per sample, not broadcast to (N, N)
    y_pred = mg.tensor([[0.2], [0.9], [0.6]])
    y_true = np.array([0.0, 1.0, 1.0])
    expected = -np.mean(np.log([0.8, 0.9, 0.6]))
    assert mg.binary_crossentropy(y_true, y_pred).item() == pytest.approx(expected, rel=1e-6)
    assert mg.binary_crossentropy(y_true[:, None], y_pred).item() == pytest.approx(expected,
                                                                                    rel=1e-6)
    assert mg.mean_squared_error(y_true, y_pred).item() == pytest.approx(
        np.mean((y_true - [0.2, 0.9, 0.6]) ** 2), rel=1e-6)
    # sparse labels (N, 1) as (N,)
    logits = mg.randn(3, 5)
    assert mg.sparse_categorical_crossentropy([[1], [4], [0]], logits, from_logits=True).item() \
        == mg.sparse_categorical_crossentropy([1, 4, 0], logits, from_logits=True).item()


def test_a_one_dimensional_y_pred_is_one_value_per_sample():
    y_pred = mg.tensor([1.0, 2.0, 4.0], requires_grad=True)
    per_sample = mg.mean_squared_error([0.0, 0.0, 0.0], y_pred, reduction="none")
    np.testing.assert_allclose(per_sample.numpy(), [1.0, 4.0, 16.0])
    mg.mean_squared_error([0.0, 0.0, 0.0], y_pred, sample_weight=[1.0, 1.0, 0.0]).backward()
    np.testing.assert_allclose(y_pred.grad.numpy(), [2 / 3, 4 / 3, 0.0], rtol=1e-6)


def _keras_bce(t, p):
    """Keras 3's binary_crossentropy on probabilities, in NumPy, in p's dtype."""
    q = np.clip(p, EPS, 1 - EPS)
    return np.mean(-(t * np.log(q) + (1 - t) * np.log(1 - q)), axis=-1)


def _keras_cce(t, p):
    p = p / p.sum(axis=-1, keepdims=True)
    return -np.sum(t * np.log(np.clip(p, EPS, 1 - EPS)), axis=-1)


def _keras_sparse(labels, p):
    return _keras_cce(np.eye(p.shape[-1], dtype=p.dtype)[labels], p)


# Probabilities of exactly 0 and 1, and values on both sides of the clip bounds.
SATURATED_P = np.array([[0.0, 1.0, 1e-9], [1.0, 0.0, 1 - 1e-9], [0.3, 5e-8, 0.5]])
SATURATED_T = np.array([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])


@pytest.fixture
def no_warnings():
    """log(0), 0/0 or overflow would show up as RuntimeWarnings: make them fail the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _torch_clamped_grad(formula, t, p, dtype):
    """The gradient of Keras's formula written with torch.clamp (gradient 0 where clipped)."""
    x = torch.tensor(p, dtype=getattr(torch, dtype), requires_grad=True)
    formula(torch.tensor(t, dtype=getattr(torch, dtype)) if t.dtype.kind == "f"
            else torch.tensor(t), x).mean().backward()
    return x.grad.numpy()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binary_crossentropy_clips_probabilities_as_keras(dtype, device, no_warnings):
    p = mg.tensor(SATURATED_P, dtype=dtype, device=device, requires_grad=True)
    loss = mg.binary_crossentropy(SATURATED_T, p, reduction="none")
    expected = _keras_bce(SATURATED_T.astype(dtype), SATURATED_P.astype(dtype))
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-6)
    assert np.all(np.isfinite(loss.numpy()))
    # -log(1e-7) = 16.118...: a prediction of exactly 0 for a positive label costs that much
    assert loss.numpy()[0] > 16.0 / 3

    loss.mean().backward()

    def formula(t, x):
        q = torch.clamp(x, EPS, 1 - EPS)
        return -(t * torch.log(q) + (1 - t) * torch.log(1 - q)).mean(-1)

    expected_grad = _torch_clamped_grad(formula, SATURATED_T, SATURATED_P, dtype)
    np.testing.assert_allclose(p.grad.numpy(), expected_grad, rtol=1e-5)
    # clipped entries (0, 1, 1e-9, 1 - 1e-9, 5e-8) get no gradient, the others do
    assert (p.grad.numpy() != 0).tolist() == [[False, False, False], [False, False, False],
                                              [True, False, True]]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_categorical_crossentropy_normalizes_and_clips_as_keras(dtype, device, no_warnings):
    y_pred = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [2.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    y_true = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    p = mg.tensor(y_pred, dtype=dtype, device=device, requires_grad=True)
    loss = mg.categorical_crossentropy(y_true, p, reduction="none")
    with np.errstate(invalid="ignore"):  # Keras itself gives NaN for the all-zero row
        expected = _keras_cce(y_true.astype(dtype), y_pred.astype(dtype))
    np.testing.assert_allclose(loss.numpy()[:3], expected[:3], rtol=1e-6)
    # a row of zeros is not divided by 0: it is clipped to 1e-7 like any zero probability
    assert loss.numpy()[3] == pytest.approx(-np.log(np.array(EPS, dtype)), rel=1e-6)
    loss.sum().backward()

    def formula(t, x):
        total = x.sum(-1, keepdim=True)
        q = torch.clamp(x / torch.where(total != 0, total, 1), EPS, 1 - EPS)
        return -(t * torch.log(q)).sum(-1) * len(t)  # .mean() in the helper undoes len(t)

    expected_grad = _torch_clamped_grad(formula, y_true, y_pred, dtype)
    assert np.all(np.isfinite(p.grad.numpy()))
    np.testing.assert_allclose(p.grad.numpy(), expected_grad, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sparse_categorical_crossentropy_normalizes_and_clips_as_keras(dtype, device,
                                                                       no_warnings):
    y_pred = np.array([[0.0, 1.0, 0.0], [0.5, 0.25, 0.25], [2.0, 1.0, 1.0]])
    labels = np.array([0, 0, 1])
    p = mg.tensor(y_pred, dtype=dtype, device=device, requires_grad=True)
    loss = mg.sparse_categorical_crossentropy(labels, p, reduction="none")
    np.testing.assert_allclose(loss.numpy(), _keras_sparse(labels, y_pred.astype(dtype)),
                               rtol=1e-6)
    loss.sum().backward()

    def formula(t, x):
        q = torch.clamp(x / x.sum(-1, keepdim=True), EPS, 1 - EPS)
        return TF.nll_loss(torch.log(q), t, reduction="none") * len(t)

    np.testing.assert_allclose(p.grad.numpy(), _torch_clamped_grad(formula, labels, y_pred, dtype),
                               rtol=1e-5, atol=1e-7)
    assert np.all(p.grad.numpy()[0] == 0)  # p[label] = 0 is clipped: no gradient, as in Keras


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_extreme_logits_give_exact_finite_losses_and_gradients(dtype, device, no_warnings):
    big = 1e4
    logits = mg.tensor([[big, 0.0, -big], [big, 0.0, -big], [-big, -big, -big]], dtype=dtype,
                       device=device, requires_grad=True)
    loss = mg.sparse_categorical_crossentropy([0, 2, 1], logits, from_logits=True,
                                              reduction="none")
    np.testing.assert_allclose(loss.numpy(), [0.0, 2 * big, np.log(3)], rtol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(logits.grad.numpy(), [[0, 0, 0], [1, 0, -1], [1 / 3, -2 / 3, 1 / 3]],
                               atol=1e-6)

    logits = mg.tensor([[big, -big]], dtype=dtype, device=device, requires_grad=True)
    loss = mg.categorical_crossentropy([[0.0, 1.0]], logits, from_logits=True)
    assert loss.item() == pytest.approx(2 * big)
    loss.backward()
    np.testing.assert_allclose(logits.grad.numpy(), [[1.0, -1.0]])

    logits = mg.tensor([[big], [-big], [big], [-big]], dtype=dtype, device=device,
                       requires_grad=True)
    loss = mg.binary_crossentropy([1.0, 0.0, 0.0, 1.0], logits, from_logits=True,
                                  reduction="none")
    np.testing.assert_allclose(loss.numpy(), [0.0, 0.0, big, big])
    loss.sum().backward()
    np.testing.assert_allclose(logits.grad.numpy(), [[0.0], [0.0], [1.0], [-1.0]])


# --- dtypes ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("labels_dtype", ["int64", "int32", "uint8", "float64"])
@pytest.mark.parametrize("name", list(CASES))
def test_float32_predictions_give_float32_loss_and_gradient(name, labels_dtype, device):
    case, rng = CASES[name], _rng(3)
    y_true = case["y_true"](rng)
    if y_true.dtype.kind == "f" and labels_dtype != "float64":
        y_true = np.round(y_true)  # integer targets for a regression or binary loss
    p = mg.tensor(case["y_pred"](rng), dtype="float32", device=device, requires_grad=True)
    labels = mg.tensor(y_true.astype(labels_dtype), device=device)
    loss = case["fn"](labels, p, sample_weight=np.ones(N))  # float64 weights: no promotion either
    loss.backward()
    assert loss.dtype == mg.float32
    assert p.grad.dtype == mg.float32


def test_float16_is_computed_in_float32_and_stays_float16(no_warnings):
    p = mg.tensor([[0.0, 1.0], [0.5, 0.25]], dtype="float16", requires_grad=True)
    loss = mg.binary_crossentropy([[1.0, 0.0], [1.0, 0.0]], p)
    assert loss.dtype == mg.float16 and np.isfinite(loss.item())
    loss.backward()
    assert p.grad.dtype == mg.float16 and np.all(np.isfinite(p.grad.numpy()))


# --- properties over shapes -----------------------------------------------------------------------

def _numpy_softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@hypothesis_settings()
@given(batch=st.integers(1, 12), classes=st.integers(1, 7), seed=st.integers(0, 2 ** 16),
       scale=st.sampled_from([1.0, 30.0, 1e4]))
def test_sparse_crossentropy_of_logits_is_logsumexp_minus_the_label_logit(batch, classes, seed,
                                                                          scale):
    rng = _rng(seed)
    x = rng.standard_normal((batch, classes)) * scale
    labels = rng.integers(0, classes, batch)
    logits = mg.tensor(x, dtype="float64", requires_grad=True)
    loss = mg.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    m = x.max(axis=-1)
    lse = m + np.log(np.exp(x - m[:, None]).sum(axis=-1))
    assert loss.item() == pytest.approx(np.mean(lse - x[np.arange(batch), labels]), rel=1e-12,
                                        abs=1e-9)
    loss.backward()
    expected = (_numpy_softmax(x) - np.eye(classes)[labels]) / batch
    np.testing.assert_allclose(logits.grad.numpy(), expected, atol=1e-12)
    # the one-hot form gives the same loss and gradient
    onehot = mg.tensor(x, dtype="float64", requires_grad=True)
    loss2 = mg.categorical_crossentropy(np.eye(classes)[labels], onehot, from_logits=True)
    assert loss2.item() == pytest.approx(loss.item(), rel=1e-12, abs=1e-9)
    loss2.backward()
    np.testing.assert_allclose(onehot.grad.numpy(), logits.grad.numpy(), atol=1e-12)


@hypothesis_settings()
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3), seed=st.integers(0, 2 ** 16),
       from_logits=st.booleans())
def test_binary_crossentropy_matches_keras_formula_for_any_shape(shape, seed, from_logits):
    rng = _rng(seed)
    t = rng.integers(0, 2, shape).astype(float)
    if from_logits:
        x = rng.standard_normal(shape) * 5
        elementwise = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))
    else:
        x = rng.uniform(0, 1, shape)
        q = np.clip(x, EPS, 1 - EPS)
        elementwise = -(t * np.log(q) + (1 - t) * np.log(1 - q))
    per_sample = elementwise.mean(axis=-1) if len(shape) >= 2 else elementwise
    loss = mg.binary_crossentropy(t, mg.tensor(x, dtype="float64"), from_logits=from_logits,
                                  reduction="none")
    assert loss.shape == per_sample.shape
    np.testing.assert_allclose(loss.numpy(), per_sample, rtol=1e-12)


def test_classes_on_another_axis_match_torch_cross_entropy():
    # (N, C, T) with classes on axis 1, as torch's cross_entropy for sequences
    rng = _rng(4)
    x = rng.standard_normal((3, 5, 4))
    labels = rng.integers(0, 5, (3, 4))
    logits = mg.tensor(x, dtype="float64", requires_grad=True)
    loss = mg.sparse_categorical_crossentropy(labels, logits, from_logits=True, axis=1)
    loss.backward()
    tx = torch.tensor(x, requires_grad=True)
    expected = TF.cross_entropy(tx, torch.tensor(labels))
    expected.backward()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(logits.grad.numpy(), tx.grad.numpy(), atol=1e-14)
    # one weight per sequence (3,) spreads over the time axis
    weighted = mg.sparse_categorical_crossentropy(labels, logits, from_logits=True, axis=1,
                                                  sample_weight=[1.0, 0.0, 2.0],
                                                  reduction="none")
    per_token = TF.cross_entropy(tx, torch.tensor(labels), reduction="none").detach().numpy()
    np.testing.assert_allclose(weighted.numpy(), per_token * [[1.0], [0.0], [2.0]], rtol=1e-12)


# --- errors ---------------------------------------------------------------------------------------

def test_sparse_labels_of_the_wrong_shape_are_named():
    logits = mg.randn(32, 10)
    with pytest.raises(ValueError, match=r"shape \(32,\) for y_pred of shape \(32, 10\).*got "
                                         r"\(16,\)"):
        mg.sparse_categorical_crossentropy(np.zeros(16, dtype=int), logits)
    with pytest.raises(ValueError, match="look like one-hot labels: use categorical_crossentropy"):
        mg.sparse_categorical_crossentropy(np.eye(10)[np.zeros(32, dtype=int)], logits)


@pytest.mark.parametrize("bad", [10, -1])
def test_sparse_labels_out_of_range_are_named(bad):
    labels = np.array([0, 3, bad, 9])
    with pytest.raises(ValueError, match=rf"must be in \[0, 10\) .* 10 classes .*got label {bad}"):
        mg.sparse_categorical_crossentropy(labels, mg.randn(4, 10), from_logits=True)


def test_sparse_labels_must_be_whole_numbers():
    logits = mg.randn(2, 3)
    # floats holding whole numbers (labels loaded as float) are fine
    assert np.isfinite(mg.sparse_categorical_crossentropy([1.0, 2.0], logits).item())
    with pytest.raises(ValueError, match="integer class labels.*not whole numbers"):
        mg.sparse_categorical_crossentropy([0.5, 1.0], logits)
    with pytest.raises(TypeError, match="integer class labels, got dtype bool"):
        mg.sparse_categorical_crossentropy(np.array([True, False]), logits)


def test_one_hot_labels_of_the_wrong_shape_are_named():
    probs = mg.softmax(mg.randn(8, 5))
    with pytest.raises(ValueError, match=r"must have the shape of y_pred \(8, 5\), got \(8,\); "
                                         "for integer class labels use "
                                         "sparse_categorical_crossentropy"):
        mg.categorical_crossentropy(np.arange(8) % 5, probs)
    with pytest.raises(ValueError, match=r"shape of y_pred \(8, 5\), got \(8, 4\)"):
        mg.categorical_crossentropy(np.zeros((8, 4)), probs)


def test_regression_targets_of_the_wrong_shape_are_named():
    with pytest.raises(ValueError, match=r"mean_squared_error: y_true must have the shape of "
                                         r"y_pred \(4, 2\).*got \(4, 3\)"):
        mg.mean_squared_error(np.zeros((4, 3)), mg.zeros(4, 2))


def test_sample_weights_of_the_wrong_shape_are_named():
    with pytest.raises(ValueError, match=r"sample_weight must hold one weight per sample, shape "
                                         r"\(4,\) \(or a scalar\), got \(3,\)"):
        mg.binary_crossentropy(np.zeros((4, 1)), mg.zeros(4, 1), sample_weight=np.ones(3))
    # (N, 1) weights and a scalar weight are fine
    assert mg.binary_crossentropy(np.zeros((4, 1)), mg.zeros(4, 1),
                                  sample_weight=np.ones((4, 1))).shape == ()
    assert mg.binary_crossentropy(np.zeros((4, 1)), mg.zeros(4, 1), sample_weight=2.0).shape == ()


def test_an_unknown_reduction_is_named():
    with pytest.raises(ValueError, match="reduction must be 'mean'.*got 'average'"):
        mg.mean_absolute_error([1.0], mg.tensor([1.0]), reduction="average")
