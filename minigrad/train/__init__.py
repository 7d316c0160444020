"""The Keras-style training API: ``Model`` (a Module with compile / fit / evaluate / predict /
save), ``Sequential``, and saving and loading models (architecture, weights and optimizer
state in one file of :mod:`minigrad.io`'s format)."""

from . import metrics
from .loading import load_model
from .model import Model
from .saving import load_weights, save_model, save_weights
from .sequential import Sequential

__all__ = ["Model", "Sequential", "metrics", "load_model", "save_model", "save_weights",
           "load_weights"]
