"""The Keras-style training API: ``Model`` (a Module with compile / fit / evaluate / predict /
save) and ``Sequential``."""

from . import metrics
from .model import Model
from .sequential import Sequential

__all__ = ["Model", "Sequential", "metrics"]
