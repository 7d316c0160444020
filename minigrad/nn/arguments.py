"""Checks of layer arguments, shared by the layers: a size must be a whole positive number
(``Dense(2.5)``, ``Dense("8")`` or ``Dense(True)`` is a mistake, not 2, 8 or 1 units), and a
number that a formula needs non-negative must be (BatchNormalization's ``epsilon``). Each check
raises an error naming the layer, the argument and the value, so that a typo or a tampered
model file fails at construction instead of training NaNs."""

import math
import numbers


def positive_int(value, argument, layer):
    """``value`` as an int if it is a whole number >= 1 (an int, or an integral float such as
    ``64.0`` from a JSON file), else a TypeError / ValueError naming ``layer`` and
    ``argument``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{layer}: {argument} must be a positive integer, got "
                        f"{type(value).__name__} {value!r}")
    if not math.isfinite(value) or value != int(value) or value < 1:
        raise ValueError(f"{layer}: {argument} must be a positive integer, got {value!r}")
    return int(value)


def non_negative_float(value, argument, layer):
    """``value`` as a float if it is a finite number >= 0, else an error naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{layer}: {argument} must be a number >= 0, got "
                        f"{type(value).__name__} {value!r}")
    if not 0 <= value < float("inf"):
        raise ValueError(f"{layer}: {argument} must be a number >= 0, got {value!r}")
    return float(value)
