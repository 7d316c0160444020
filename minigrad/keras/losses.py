"""``keras.losses``: minigrad's loss classes (:mod:`minigrad.nn.losses`) and the functions of
the same names (``keras.losses.sparse_categorical_crossentropy(y_true, y_pred)``)."""

from ..functional import (binary_crossentropy, categorical_crossentropy, huber, kl_divergence,
                          mean_absolute_error, mean_squared_error,
                          sparse_categorical_crossentropy)
from ..nn.losses import (BinaryCrossentropy, CategoricalCrossentropy, Huber, KLDivergence, Loss,
                         MeanAbsoluteError, MeanSquaredError, SparseCategoricalCrossentropy, get,
                         serialize)

mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
kld = KLD = kl_divergence
bce = BCE = binary_crossentropy

__all__ = ["Loss", "BinaryCrossentropy", "CategoricalCrossentropy", "MeanAbsoluteError",
           "MeanSquaredError", "SparseCategoricalCrossentropy", "binary_crossentropy",
           "categorical_crossentropy", "mean_absolute_error", "mean_squared_error",
           "sparse_categorical_crossentropy", "mse", "mae", "MSE", "MAE", "get", "serialize",
           "Huber", "KLDivergence", "huber", "kl_divergence", "kld", "KLD", "bce", "BCE"]
