"""Names of layers, losses and metrics as Keras gives them: snake case from the class name, and
unique per process (``dense``, ``dense_1``, ...)."""

import re
import threading


def snake_case(class_name):
    """Keras's snake-case rule for default names.

    >>> from minigrad.nn.naming import snake_case
    >>> snake_case("MaxPooling2D"), snake_case("SparseCategoricalCrossentropy"), snake_case("AUC")
    ('max_pooling2d', 'sparse_categorical_crossentropy', 'auc')
    """
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class UniqueNames:
    """Hands out ``base``, ``base_1``, ``base_2``, ... for each base name, safely from any
    thread (layers may be made in several threads at once)."""

    def __init__(self):
        self._counts = {}
        self._lock = threading.Lock()

    def take(self, base):
        """The next unused name for ``base``."""
        with self._lock:
            count = self._counts.get(base, 0)
            self._counts[base] = count + 1
        return base if count == 0 else f"{base}_{count}"

    def reset(self):
        """Start every count again (Keras's ``clear_session`` does the same)."""
        with self._lock:
            self._counts.clear()


#: The names of the layers and models made in this process.
layer_names = UniqueNames()


def unique_layer_name(class_name):
    """A Keras-style unique name for a new layer or model of ``class_name``: ``Dense`` ->
    ``dense``, then ``dense_1``, ...; ``Conv2D`` -> ``conv2d``, ``LSTM`` -> ``lstm``."""
    return layer_names.take(snake_case(class_name))
