"""Streaming metrics (minigrad.train.metrics): over uneven batches they equal the metric computed
on the whole data set at once (here independently, with NumPy), with sample weights; reset;
Keras's choice of what "accuracy" means; AUC against the exact pairwise AUC; clear errors."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import losses
from minigrad.nn.naming import snake_case
from minigrad.train import metrics

N, C = 103, 5
BATCHES = [1, 17, 40, 32, 13]  # uneven, sums to N
RNG = np.random.default_rng(0)
WEIGHTS = RNG.uniform(0.0, 3.0, N)
PROBS = RNG.dirichlet(np.ones(C), N)                 # (N, C) class probabilities
LABELS = RNG.integers(0, C, N)                       # (N,) class labels
ONE_HOT = np.eye(C)[LABELS]
P_BINARY = RNG.uniform(0, 1, (N, 1))                 # (N, 1) probabilities of one sigmoid unit
Y_BINARY = (RNG.uniform(0, 1, N) < 0.4 + 0.4 * P_BINARY[:, 0]).astype(np.float64)  # (N,)
TARGETS = RNG.standard_normal((N, 2))
OUTPUTS = TARGETS + RNG.standard_normal((N, 2))


def _weighted_mean(values, w):
    return float(np.sum(values * w) / np.sum(w))


def _counts(w):
    positive, predicted = Y_BINARY == 1, P_BINARY[:, 0] > 0.5
    return (w[positive & predicted].sum(), w[~positive & predicted].sum(),
            w[positive & ~predicted].sum())


def _top_k(labels, k):
    ranked = np.argsort(-PROBS, axis=1)[:, :k]  # no ties in random data
    return (ranked == labels[:, None]).any(axis=1)


def _exact_auc(y, scores, w):
    """P(score of a positive > score of a negative), ties half, every pair weighted w_i w_j."""
    pos, neg = y == 1, y == 0
    sp, sn = scores[pos][:, None], scores[neg][None, :]
    pair_w = w[pos][:, None] * w[neg][None, :]
    wins = (sp > sn) + 0.5 * (sp == sn)
    return float((wins * pair_w).sum() / pair_w.sum())


# name: (metric, y_true, y_pred, reference on the whole data with weights w)
CASES = {
    "accuracy": (metrics.Accuracy, LABELS, PROBS.argmax(axis=1),
                 lambda w: _weighted_mean(LABELS == PROBS.argmax(axis=1), w)),
    "binary_accuracy": (metrics.BinaryAccuracy, Y_BINARY, P_BINARY,
                        lambda w: _weighted_mean(Y_BINARY == (P_BINARY[:, 0] > 0.5), w)),
    "binary_accuracy_0.7": (lambda: metrics.BinaryAccuracy(threshold=0.7), Y_BINARY, P_BINARY,
                            lambda w: _weighted_mean(Y_BINARY == (P_BINARY[:, 0] > 0.7), w)),
    "categorical_accuracy": (metrics.CategoricalAccuracy, ONE_HOT, PROBS,
                             lambda w: _weighted_mean(LABELS == PROBS.argmax(axis=1), w)),
    "sparse_categorical_accuracy": (metrics.SparseCategoricalAccuracy, LABELS, PROBS,
                                    lambda w: _weighted_mean(LABELS == PROBS.argmax(axis=1), w)),
    "top_2": (lambda: metrics.TopKCategoricalAccuracy(k=2), ONE_HOT, PROBS,
              lambda w: _weighted_mean(_top_k(LABELS, 2), w)),
    "sparse_top_3": (lambda: metrics.SparseTopKCategoricalAccuracy(k=3), LABELS, PROBS,
                     lambda w: _weighted_mean(_top_k(LABELS, 3), w)),
    "mse": (metrics.MeanSquaredError, TARGETS, OUTPUTS,
            lambda w: _weighted_mean(((OUTPUTS - TARGETS) ** 2).mean(axis=1), w)),
    "mae": (metrics.MeanAbsoluteError, TARGETS, OUTPUTS,
            lambda w: _weighted_mean(np.abs(OUTPUTS - TARGETS).mean(axis=1), w)),
    "precision": (metrics.Precision, Y_BINARY, P_BINARY,
                  lambda w: (lambda tp, fp, fn: tp / (tp + fp))(*_counts(w))),
    "recall": (metrics.Recall, Y_BINARY, P_BINARY,
               lambda w: (lambda tp, fp, fn: tp / (tp + fn))(*_counts(w))),
    # Keras's F-scores (1e-7 added to their denominators); "macro" over one class: a float
    "f1": (lambda: metrics.F1Score(threshold=0.5, average="macro"), Y_BINARY, P_BINARY,
           lambda w: (lambda tp, fp, fn: 2 * tp / (2 * tp + fp + fn))(*_counts(w))),
    "f2_micro": (lambda: metrics.FBetaScore(beta=2.0, average="micro", threshold=0.5), Y_BINARY,
                 P_BINARY, lambda w: (lambda tp, fp, fn: 5 * tp / (5 * tp + 4 * fn + fp))(
                     *_counts(w))),
    # the thresholded AUC is near the exact one; streaming is checked exactly below
    "auc": (metrics.AUC, Y_BINARY, P_BINARY, lambda w: _exact_auc(Y_BINARY, P_BINARY[:, 0], w)),
}


def _stream(metric, y_true, y_pred, weights, device):
    """Feed the data in uneven batches, alternately as tensors on ``device`` and NumPy arrays."""
    start = 0
    for i, size in enumerate(BATCHES):
        part = slice(start, start + size)
        batch = [y_true[part], y_pred[part], None if weights is None else weights[part]]
        if i % 2 == 0:
            batch = [None if a is None else mg.tensor(a, device=device) for a in batch]
        metric.update_state(*batch[:2], sample_weight=batch[2])
        start += size
    assert start == N
    return metric.result()


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("name", list(CASES))
def test_streaming_over_uneven_batches_equals_the_metric_on_all_data(name, weighted, device):
    make, y_true, y_pred, reference = CASES[name]
    weights = WEIGHTS if weighted else None
    streamed = _stream(make(), y_true, y_pred, weights, device)
    assert isinstance(streamed, float)
    whole = make()
    whole.update_state(y_true, y_pred, sample_weight=weights)
    assert streamed == pytest.approx(whole.result(), rel=1e-12)
    expected = reference(np.ones(N) if weights is None else weights)
    tolerance = {"auc": 5e-3, "f1": 1e-6, "f2_micro": 1e-6}.get(name, 1e-12)
    assert streamed == pytest.approx(expected, rel=tolerance, abs=tolerance)


@pytest.mark.parametrize("name", list(CASES))
def test_reset_state_forgets_everything(name):
    make, y_true, y_pred, _ = CASES[name]
    metric = make()
    metric.update_state(y_true[:50], y_pred[:50])
    metric.reset_state()
    assert metric.result() == 0.0
    metric.update_state(y_true[50:], y_pred[50:], sample_weight=WEIGHTS[50:])
    fresh = make()
    fresh.update_state(y_true[50:], y_pred[50:], sample_weight=WEIGHTS[50:])
    assert metric.result() == fresh.result()


def test_mean_weighted_by_batch_size_is_the_exact_epoch_loss():
    per_sample = RNG.uniform(0, 2, N)
    loss = metrics.Mean(name="loss")
    start = 0
    for size in BATCHES:
        loss.update_state(mg.tensor(per_sample[start:start + size].mean()), sample_weight=size)
        start += size
    assert loss.name == "loss"
    assert loss.result() == pytest.approx(per_sample.mean(), rel=1e-6)
    # the plain average of the batch means is not the epoch mean for uneven batches
    batch_means = [per_sample[s - b:s].mean() for s, b in zip(np.cumsum(BATCHES), BATCHES)]
    assert abs(np.mean(batch_means) - per_sample.mean()) > 1e-3


def test_a_loss_name_as_a_metric_is_the_mean_per_sample_loss():
    metric = metrics.get("binary_crossentropy")
    assert metric.name == "binary_crossentropy"
    _stream(metric, Y_BINARY, P_BINARY, WEIGHTS, "cpu")
    expected = mg.binary_crossentropy(Y_BINARY, mg.tensor(P_BINARY, dtype="float64"),
                                      reduction="none").numpy()
    assert metric.result() == pytest.approx(_weighted_mean(expected, WEIGHTS), rel=1e-12)


# --- AUC ------------------------------------------------------------------------------------------

def test_auc_is_exact_when_no_positive_and_negative_share_a_threshold_interval():
    # scores in the middle of the intervals between the 200 thresholds, many tied: a tied
    # positive-negative pair counts half in the exact AUC and under the trapezoid alike
    scores = (RNG.integers(0, 199, 300) + 0.5) / 199
    y = (RNG.uniform(0, 1, 300) < scores).astype(int)
    auc = metrics.AUC()
    auc.update_state(y, scores)
    assert auc.result() == pytest.approx(_exact_auc(y, scores, np.ones(300)), rel=1e-12)


@pytest.mark.parametrize("num_thresholds, tolerance", [(200, 5e-3), (2000, 5e-4)])
def test_auc_is_close_to_the_exact_pairwise_auc(num_thresholds, tolerance):
    scores = RNG.uniform(0, 1, 2000)
    y = (RNG.uniform(0, 1, 2000) < scores).astype(int)
    w = RNG.uniform(0.5, 1.5, 2000)
    auc = metrics.AUC(num_thresholds=num_thresholds)
    auc.update_state(y, scores, sample_weight=w)
    assert auc.result() == pytest.approx(_exact_auc(y, scores, w), abs=tolerance)


def test_auc_of_perfect_random_and_degenerate_scores():
    auc = metrics.AUC()
    auc.update_state([0, 0, 1, 1], [0.0, 0.2, 0.8, 1.0])
    assert auc.result() == pytest.approx(1.0)
    auc.reset_state()
    auc.update_state([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])
    assert auc.result() == pytest.approx(0.5)
    auc.reset_state()
    auc.update_state([1, 1], [0.3, 0.6])  # no negatives: 0.0, as Keras
    assert auc.result() == 0.0


# --- corner cases and conventions -----------------------------------------------------------------

def test_precision_and_recall_without_positives_are_zero():
    precision, recall = metrics.Precision(), metrics.Recall()
    f1 = metrics.F1Score(threshold=0.5, average="macro")
    for m in (precision, recall, f1):
        m.update_state([0, 0], [0.1, 0.2])
        assert m.result() == 0.0


def test_top_k_counts_classes_tied_at_the_kth_place_as_in():
    metric = metrics.SparseTopKCategoricalAccuracy(k=1)
    metric.update_state([1, 2], [[0.4, 0.4, 0.2], [0.4, 0.4, 0.2]])
    assert metric.result() == 0.5


def test_binary_accuracy_takes_labels_without_the_unit_axis_and_tensor_weights():
    metric = metrics.BinaryAccuracy()
    metric.update_state(mg.tensor([1, 0, 1, 1]), mg.tensor([[0.9], [0.2], [0.4], [0.7]]),
                        sample_weight=mg.tensor([1.0, 1.0, 2.0, 0.0]))
    assert metric.result() == pytest.approx(2 / 4)


# Keras's default names: the name= of each class's signature (keras.metrics.F1Score(...,
# name="f1_score"), keras.losses.MeanSquaredError(..., name="mean_squared_error"), ...), or,
# where that is None (AUC, Precision, Recall), Keras's snake case of the class name.
KERAS_NAMES = {
    metrics.Mean: "mean", metrics.Accuracy: "accuracy", metrics.BinaryAccuracy: "binary_accuracy",
    metrics.CategoricalAccuracy: "categorical_accuracy",
    metrics.SparseCategoricalAccuracy: "sparse_categorical_accuracy",
    metrics.TopKCategoricalAccuracy: "top_k_categorical_accuracy",
    metrics.SparseTopKCategoricalAccuracy: "sparse_top_k_categorical_accuracy",
    metrics.MeanSquaredError: "mean_squared_error",
    metrics.MeanAbsoluteError: "mean_absolute_error", metrics.Precision: "precision",
    metrics.Recall: "recall", metrics.F1Score: "f1_score", metrics.AUC: "auc",
    losses.MeanSquaredError: "mean_squared_error", losses.MeanAbsoluteError: "mean_absolute_error",
    losses.BinaryCrossentropy: "binary_crossentropy",
    losses.CategoricalCrossentropy: "categorical_crossentropy",
    losses.SparseCategoricalCrossentropy: "sparse_categorical_crossentropy",
    losses.Huber: "huber_loss", losses.KLDivergence: "kl_divergence",
    metrics.FBetaScore: "fbeta_score"}


@pytest.mark.parametrize("cls", metrics.BUILTIN_METRICS + losses.BUILTIN_LOSSES,
                         ids=lambda cls: f"{cls.__module__.split('.')[-1]}.{cls.__name__}")
def test_every_built_in_metric_and_loss_has_its_keras_default_name(cls):
    assert cls().name == KERAS_NAMES[cls]
    # Keras's exceptions: Huber(name="huber_loss"), FBetaScore(name="fbeta_score")
    if cls not in (losses.Huber, metrics.FBetaScore):
        assert cls().name == snake_case(cls.__name__)


def test_the_keras_names_table_covers_every_built_in_class():
    assert set(KERAS_NAMES) == set(metrics.BUILTIN_METRICS + losses.BUILTIN_LOSSES)


def test_a_custom_metric_and_a_loss_metric_are_named_by_keras_snake_case():
    class BinaryAUC(metrics.Metric):
        pass

    assert BinaryAUC().name == "binary_auc"  # Keras's rule keeps an acronym together
    assert metrics.get("BinaryCrossentropy").name == "binary_crossentropy"


def test_metric_names_and_configs():
    assert metrics.AUC().name == "auc"
    assert metrics.F1Score().name == "f1_score"
    assert metrics.SparseTopKCategoricalAccuracy().name == "sparse_top_k_categorical_accuracy"
    metric = metrics.TopKCategoricalAccuracy(k=3, name="top3")
    rebuilt = metrics.get({"class_name": "TopKCategoricalAccuracy",
                           "config": metric.get_config()})
    assert (type(rebuilt), rebuilt.k, rebuilt.name) == (metrics.TopKCategoricalAccuracy, 3,
                                                        "top3")


# --- what "accuracy" means ------------------------------------------------------------------------

@pytest.mark.parametrize("loss, output_shape, expected", [
    ("binary_crossentropy", None, metrics.BinaryAccuracy),
    ("binary_crossentropy", (None, 3), metrics.BinaryAccuracy),   # multi-label
    (losses.BinaryCrossentropy(), (32, 1), metrics.BinaryAccuracy),
    ("mse", (None, 1), metrics.BinaryAccuracy),                  # a single output unit
    ("mse", (32,), metrics.BinaryAccuracy),
    ("sparse_categorical_crossentropy", (None, 10), metrics.SparseCategoricalAccuracy),
    (losses.SparseCategoricalCrossentropy(from_logits=True), None,
     metrics.SparseCategoricalAccuracy),
    ("SparseCategoricalCrossentropy", None, metrics.SparseCategoricalAccuracy),
    (mg.categorical_crossentropy, None, metrics.CategoricalAccuracy),
    ("categorical_crossentropy", (None, 10), metrics.CategoricalAccuracy),
    ("mse", (None, 10), metrics.CategoricalAccuracy),
    (lambda y_true, y_pred: y_pred, (None, 4), metrics.CategoricalAccuracy),
])
@pytest.mark.parametrize("identifier", ["accuracy", "acc"])
def test_accuracy_is_chosen_from_the_loss_and_output_as_keras(identifier, loss, output_shape,
                                                              expected):
    metric = metrics.get(identifier, loss=loss, output_shape=output_shape)
    assert type(metric) is expected
    assert metric.name == identifier  # the History key is what the user wrote


def test_accuracy_for_logits_of_binary_crossentropy_thresholds_at_zero():
    loss = losses.BinaryCrossentropy(from_logits=True)
    assert metrics.get("accuracy", loss=loss).threshold == 0.0
    assert metrics.get("accuracy", loss="binary_crossentropy").threshold == 0.5


@pytest.mark.parametrize("y_true, y_pred, equivalent", [
    (Y_BINARY, P_BINARY, metrics.BinaryAccuracy),
    (LABELS, PROBS, metrics.SparseCategoricalAccuracy),
    (LABELS[:, None], PROBS, metrics.SparseCategoricalAccuracy),
    (ONE_HOT, PROBS, metrics.CategoricalAccuracy),
])
def test_accuracy_without_loss_or_shape_is_chosen_from_the_first_batch(y_true, y_pred,
                                                                       equivalent):
    metric = metrics.get("accuracy")
    assert metric.result() == 0.0
    _stream(metric, y_true, y_pred, WEIGHTS, "cpu")
    reference = equivalent()
    reference.update_state(y_true, y_pred, sample_weight=WEIGHTS)
    assert metric.name == "accuracy"
    assert metric.result() == pytest.approx(reference.result(), rel=1e-12)


@pytest.mark.parametrize("identifier, cls, name", [
    ("mae", metrics.MeanAbsoluteError, "mae"),
    ("mean_squared_error", metrics.MeanSquaredError, "mean_squared_error"),
    ("AUC", metrics.AUC, "auc"),
    ("auc", metrics.AUC, "auc"),
    ("Precision", metrics.Precision, "precision"),
    ("recall", metrics.Recall, "recall"),
    ("f1_score", metrics.F1Score, "f1_score"),
    ("sparse_top_k_categorical_accuracy", metrics.SparseTopKCategoricalAccuracy,
     "sparse_top_k_categorical_accuracy"),
    ("BinaryAccuracy", metrics.BinaryAccuracy, "binary_accuracy"),
])
def test_get_resolves_names(identifier, cls, name):
    metric = metrics.get(identifier)
    assert (type(metric), metric.name) == (cls, name)


def test_get_returns_objects_wraps_functions_and_refuses_unknown_names():
    obj = metrics.AUC(num_thresholds=50)
    assert metrics.get(obj) is obj
    assert metrics.get(None) is None
    assert type(metrics.get(metrics.Recall)) is metrics.Recall

    def mistakes(y_true, y_pred):
        return np.asarray(y_true) != np.asarray(y_pred)

    wrapped = metrics.get(mistakes)
    assert isinstance(wrapped, metrics.MeanMetricWrapper) and wrapped.name == "mistakes"
    wrapped.update_state([1, 2, 3, 4], [1, 2, 0, 0])
    assert wrapped.result() == 0.5
    with pytest.raises(ValueError, match="unknown metric 'accuracy_score'; choose from "
                                         "accuracy, acc, mse, mae"):
        metrics.get("accuracy_score")
    with pytest.raises(TypeError, match="a metric must be a name"):
        metrics.get(1.5)


# --- errors ---------------------------------------------------------------------------------------

def test_probabilities_outside_zero_one_are_refused_by_threshold_metrics():
    for metric in (metrics.Precision(), metrics.Recall(), metrics.AUC()):
        with pytest.raises(ValueError, match=rf"{metric.name}: y_pred must hold probabilities in "
                                             r"\[0, 1\], got values from -2 to 3; apply a "
                                             "sigmoid"):
            metric.update_state([0, 1, 1], [-2.0, 0.5, 3.0])


def test_sparse_labels_of_the_wrong_shape_are_named():
    with pytest.raises(ValueError, match=r"sparse_categorical_accuracy: y_true must hold one class "
                                         r"label per sample, of shape \(103,\) for y_pred of "
                                         r"shape \(103, 5\), got \(103, 5\); these look like "
                                         "one-hot labels"):
        metrics.SparseCategoricalAccuracy().update_state(ONE_HOT, PROBS)
    with pytest.raises(ValueError, match=r"class labels must be in \[0, 5\), got label 7"):
        metrics.SparseTopKCategoricalAccuracy().update_state([7], PROBS[:1])


def test_mismatched_shapes_and_weights_are_named():
    with pytest.raises(ValueError, match=r"categorical_accuracy: y_true must have the shape of "
                                         r"y_pred \(103, 5\).*got \(103,\)"):
        metrics.CategoricalAccuracy().update_state(LABELS, PROBS)
    with pytest.raises(ValueError, match=r"binary_accuracy: sample_weight must hold one weight per "
                                         r"sample, shape \(3,\) \(or a scalar\), got \(2,\)"):
        metrics.BinaryAccuracy().update_state([0, 1, 1], [0.2, 0.6, 0.9],
                                              sample_weight=[1.0, 2.0])


# --- Keras's argument names, and the results of Keras 3 itself ------------------------------

@pytest.fixture(scope="module")
def keras():
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras", reason="Keras 3 not installed (pip install keras; it "
                                               "runs on the torch backend)")


def _ours(metric, batches):
    for y_true, y_pred, weight in batches:
        metric.update_state(y_true, y_pred, sample_weight=weight)
    return np.asarray(metric.result(), dtype=np.float64)


def _batches(y_true, y_pred, weighted, parts=3):
    """The data in uneven batches (streaming must give the result over all of it)."""
    weight = RNG_WEIGHTS.uniform(0, 2, len(y_true)) if weighted else None
    cuts = np.array_split(np.arange(len(y_true)), parts)
    return [(y_true[c], y_pred[c], None if weight is None else weight[c]) for c in cuts]


RNG_WEIGHTS = np.random.default_rng(7)
MULTI_LABEL = (RNG.uniform(0, 1, (N, C)) < PROBS * 2).astype(np.float64)  # (N, C) 0/1 labels

# (id, minigrad metric, Keras class name and arguments, y_true, y_pred)
KERAS_CASES = [
    ("precision", lambda: metrics.Precision(), ("Precision", {}), Y_BINARY, P_BINARY),
    ("precision_thresholds_0.3", lambda: metrics.Precision(thresholds=0.3),
     ("Precision", {"thresholds": 0.3}), Y_BINARY, P_BINARY),
    ("precision_threshold_list", lambda: metrics.Precision(thresholds=[0.2, 0.5, 0.9]),
     ("Precision", {"thresholds": [0.2, 0.5, 0.9]}), Y_BINARY, P_BINARY),
    ("precision_top_k", lambda: metrics.Precision(top_k=2), ("Precision", {"top_k": 2}),
     MULTI_LABEL, PROBS),
    ("precision_class_id", lambda: metrics.Precision(class_id=1),
     ("Precision", {"class_id": 1}), ONE_HOT, PROBS),
    ("precision_top_k_class_id", lambda: metrics.Precision(top_k=1, class_id=3),
     ("Precision", {"top_k": 1, "class_id": 3}), ONE_HOT, PROBS),
    ("precision_top_k_threshold", lambda: metrics.Precision(top_k=2, thresholds=0.3),
     ("Precision", {"top_k": 2, "thresholds": 0.3}), MULTI_LABEL, PROBS),
    ("recall", lambda: metrics.Recall(), ("Recall", {}), Y_BINARY, P_BINARY),
    ("recall_threshold_list", lambda: metrics.Recall(thresholds=[0.0, 0.4, 1.0]),
     ("Recall", {"thresholds": [0.0, 0.4, 1.0]}), Y_BINARY, P_BINARY),
    ("recall_top_k", lambda: metrics.Recall(top_k=3), ("Recall", {"top_k": 3}),
     MULTI_LABEL, PROBS),
    ("recall_class_id", lambda: metrics.Recall(class_id=0), ("Recall", {"class_id": 0}),
     ONE_HOT, PROBS),
    ("auc", lambda: metrics.AUC(), ("AUC", {}), Y_BINARY, P_BINARY),
    ("auc_50", lambda: metrics.AUC(num_thresholds=50), ("AUC", {"num_thresholds": 50}),
     Y_BINARY, P_BINARY),
    ("auc_minoring", lambda: metrics.AUC(summation_method="minoring"),
     ("AUC", {"summation_method": "minoring"}), Y_BINARY, P_BINARY),
    ("auc_majoring", lambda: metrics.AUC(summation_method="majoring"),
     ("AUC", {"summation_method": "majoring"}), Y_BINARY, P_BINARY),
    ("auc_pr", lambda: metrics.AUC(curve="PR"), ("AUC", {"curve": "PR"}), Y_BINARY, P_BINARY),
    ("auc_pr_minoring", lambda: metrics.AUC(curve="PR", summation_method="minoring"),
     ("AUC", {"curve": "PR", "summation_method": "minoring"}), Y_BINARY, P_BINARY),
    ("auc_pr_majoring", lambda: metrics.AUC(curve="PR", summation_method="majoring"),
     ("AUC", {"curve": "PR", "summation_method": "majoring"}), Y_BINARY, P_BINARY),
    ("auc_thresholds", lambda: metrics.AUC(thresholds=[0.1, 0.35, 0.5, 0.8]),
     ("AUC", {"thresholds": [0.1, 0.35, 0.5, 0.8]}), Y_BINARY, P_BINARY),
    ("auc_from_logits", lambda: metrics.AUC(from_logits=True), ("AUC", {"from_logits": True}),
     Y_BINARY, (P_BINARY - 0.5) * 8),
    ("auc_multi_element", lambda: metrics.AUC(), ("AUC", {}), MULTI_LABEL, PROBS),
    ("binary_accuracy", lambda: metrics.BinaryAccuracy(threshold=0.3),
     ("BinaryAccuracy", {"threshold": 0.3}), Y_BINARY, P_BINARY),
    ("categorical_accuracy", lambda: metrics.CategoricalAccuracy(),
     ("CategoricalAccuracy", {}), ONE_HOT, PROBS),
    ("sparse_categorical_accuracy", lambda: metrics.SparseCategoricalAccuracy(),
     ("SparseCategoricalAccuracy", {}), LABELS, PROBS),
    ("top_k_categorical_accuracy", lambda: metrics.TopKCategoricalAccuracy(k=2),
     ("TopKCategoricalAccuracy", {"k": 2}), ONE_HOT, PROBS),
    ("sparse_top_k_categorical_accuracy", lambda: metrics.SparseTopKCategoricalAccuracy(k=2),
     ("SparseTopKCategoricalAccuracy", {"k": 2}), LABELS, PROBS),
    ("mean_squared_error", lambda: metrics.MeanSquaredError(), ("MeanSquaredError", {}),
     ONE_HOT, PROBS),
    ("mean_absolute_error", lambda: metrics.MeanAbsoluteError(), ("MeanAbsoluteError", {}),
     ONE_HOT, PROBS),
]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", KERAS_CASES, ids=[case[0] for case in KERAS_CASES])
def test_metric_results_match_keras_over_uneven_batches(case, weighted, keras):
    _, make, (class_name, arguments), y_true, y_pred = case
    batches = _batches(y_true, y_pred, weighted)
    theirs = getattr(keras.metrics, class_name)(**arguments)
    for t, p, w in batches:
        theirs.update_state(t, p, sample_weight=w)
    expected = keras.ops.convert_to_numpy(theirs.result()).astype(np.float64)
    np.testing.assert_allclose(_ours(make(), batches), expected, rtol=1e-5, atol=1e-6)


def test_the_keras_metric_comparison_can_fail(keras):
    """Precision at 0.5 and at 0.3 differ on these data: a lost argument would show."""
    batches = _batches(Y_BINARY, P_BINARY, False)
    theirs = keras.metrics.Precision(thresholds=0.3)
    for t, p, w in batches:
        theirs.update_state(t, p)
    assert abs(_ours(metrics.Precision(), batches) -
               float(keras.ops.convert_to_numpy(theirs.result()))) > 1e-3


def test_precision_keeps_minigrads_earlier_threshold_spelling():
    old, new = metrics.Precision(threshold=0.3), metrics.Precision(thresholds=0.3)
    for m in (old, new):
        m.update_state(Y_BINARY, P_BINARY)
    assert old.result() == new.result() and old.threshold == 0.3
    with pytest.raises(TypeError, match="thresholds= .* or threshold=, not both"):
        metrics.Recall(thresholds=0.3, threshold=0.3)


def test_thresholds_zero_counts_logits_as_keras_documents():
    """Keras: for logits, set thresholds=0; then scores outside [0, 1] are valid."""
    logits = (P_BINARY - 0.5) * 8
    m = metrics.Precision(thresholds=0)
    m.update_state(Y_BINARY, logits)
    p = metrics.Precision(thresholds=0.5)
    p.update_state(Y_BINARY, P_BINARY)
    assert m.result() == p.result()


@pytest.mark.parametrize("make, message", [
    (lambda: metrics.Precision(thresholds=1.5), r"thresholds must be a number in \[0, 1\]"),
    (lambda: metrics.Recall(thresholds=[0.5, "a"]), r"thresholds must be a number in \[0, 1\]"),
    (lambda: metrics.Precision(top_k=0), "top_k must be a positive int, got 0"),
    (lambda: metrics.Recall(class_id=-1), "class_id must be a class index >= 0, got -1"),
    (lambda: metrics.AUC(curve="DET"), "curve must be 'ROC' or 'PR', got 'DET'"),
    (lambda: metrics.AUC(summation_method="simpson"), "summation_method must be"),
    (lambda: metrics.AUC(multi_label=True), "multi_label, num_labels and label_weights are "
                                            "not supported"),
])
def test_bad_keras_arguments_are_named(make, message):
    with pytest.raises((ValueError, NotImplementedError), match=message):
        make()


def test_class_id_beyond_the_classes_is_named():
    with pytest.raises(ValueError, match=r"class_id=5 needs y_pred of shape \(N, C\) with C > 5"):
        metrics.Precision(class_id=5).update_state(ONE_HOT, PROBS)


@pytest.mark.parametrize("metric", [metrics.Precision(thresholds=[0.3, 0.6], top_k=2,
                                                      class_id=1),
                                    metrics.AUC(curve="PR", summation_method="majoring",
                                                thresholds=[0.2, 0.7], from_logits=True)],
                         ids=["precision", "auc"])
def test_keras_arguments_round_trip_through_the_config(metric):
    restored = metrics.get({"class_name": type(metric).__name__, "config": metric.get_config()})
    assert restored.get_config() == metric.get_config()


@pytest.mark.parametrize("identifier", ["kld", "kl_divergence", "KLDivergence"])
def test_kl_divergence_is_a_metric_by_its_keras_names(identifier, keras):
    metric = metrics.get(identifier)
    theirs = keras.metrics.KLDivergence()
    for t, p, w in _batches(PROBS[::-1].copy(), PROBS, True):
        metric.update_state(t, p, sample_weight=w)
        theirs.update_state(t, p, sample_weight=w)
    assert metric.result() == pytest.approx(float(keras.ops.convert_to_numpy(theirs.result())),
                                            rel=1e-5)


def test_f1_score_without_average_gives_one_score_per_class_as_keras():
    f1 = metrics.F1Score()  # threshold None: the highest score of each row is the prediction
    f1.update_state(ONE_HOT, PROBS)
    scores = f1.result()
    assert isinstance(scores, list) and len(scores) == C
    predicted = PROBS.argmax(axis=1)
    for c in range(C):
        tp = np.sum((predicted == c) & (LABELS == c))
        fp, fn = np.sum((predicted == c) & (LABELS != c)), np.sum((predicted != c) & (LABELS == c))
        assert scores[c] == pytest.approx(2 * tp / (2 * tp + fp + fn), rel=1e-6)


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
@pytest.mark.parametrize("threshold", [None, 0.3])
@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_fbeta_score_matches_keras(average, threshold, beta, keras):
    ours = metrics.FBetaScore(average=average, beta=beta, threshold=threshold)
    theirs = keras.metrics.FBetaScore(average=average, beta=beta, threshold=threshold)
    for t, p, w in _batches(MULTI_LABEL, PROBS, True):
        ours.update_state(t, p, sample_weight=w)
        theirs.update_state(t, p, sample_weight=w)
    expected = keras.ops.convert_to_numpy(theirs.result()).astype(np.float64)
    np.testing.assert_allclose(np.asarray(ours.result()), expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("make, message", [
    (lambda: metrics.F1Score(average="samples"), "average must be None, 'micro', 'macro' or "
                                                 "'weighted', got 'samples'"),
    (lambda: metrics.FBetaScore(beta=0), "beta must be a number > 0, got 0"),
    (lambda: metrics.F1Score(threshold=0.0), r"threshold must be a number in \(0, 1\] or None"),
])
def test_bad_f_score_arguments_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_fit_logs_keras_style_metrics_including_one_value_per_threshold():
    """A metric with several values (thresholds list, F1 per class) lands in History as a list;
    the progress display shows the numbers and leaves the lists out."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 3)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    model = mg.Sequential([mg.nn.Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile(optimizer="sgd", loss="binary_crossentropy",
                  metrics=[metrics.Precision(thresholds=[0.3, 0.5]),
                           metrics.F1Score(threshold=0.5), metrics.AUC(curve="PR"),
                           metrics.Recall(top_k=1)])
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert len(history.history["precision"][-1]) == 2
    assert len(history.history["f1_score"][-1]) == 1
    assert 0.0 <= history.history["auc"][-1] <= 1.0
    assert history.history["recall"][-1] == pytest.approx(1.0)  # top 1 of 1 column: all
