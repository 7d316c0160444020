"""``keras.metrics``: minigrad's metrics (:mod:`minigrad.train.metrics`)."""

from ..train.metrics import (AUC, Accuracy, BinaryAccuracy, CategoricalAccuracy, F1Score,
                             FBetaScore, Mean,
                             MeanAbsoluteError, MeanMetricWrapper, MeanSquaredError, Metric,
                             Precision, Recall, SparseCategoricalAccuracy,
                             SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy, get)

__all__ = ["AUC", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "F1Score", "FBetaScore",
           "Mean",
           "MeanAbsoluteError", "MeanMetricWrapper", "MeanSquaredError", "Metric", "Precision",
           "Recall", "SparseCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
           "TopKCategoricalAccuracy", "get"]
