"""``Sequential``: the plain container of :mod:`minigrad.nn` with the Keras training API."""

from ..nn import container
from .model import Model


class Sequential(container.Sequential, Model):
    """A model that applies its layers in order: ``Sequential([Dense(64, activation="relu"),
    Dense(10)])``, or ``Sequential()`` and ``.add(layer)``; then ``compile``, ``fit``,
    ``evaluate``, ``predict`` and ``save`` as a Keras model.

    When the first layer has ``input_shape=`` (without the batch axis, as in Keras), the model
    is built right away, so ``summary()`` shows every shape before training.

    >>> model = mg.Sequential([mg.nn.Dense(8, activation="relu", input_shape=(4,)),
    ...                        mg.nn.Dense(2)])
    >>> model(mg.ones(3, 4)).shape
    (3, 2)
    """

    def get_architecture(self):
        """``{"class_name": "Sequential", "config": ..., "build_input_shape": [...]}``: what
        :func:`mg.load_model <minigrad.train.load_model>` rebuilds the model from. A subclass
        of Sequential is code (TypeError, as :meth:`minigrad.train.Model.get_architecture`); an
        unbuilt model has no weights to save (ValueError)."""
        if type(self) is not Sequential:
            return super().get_architecture()
        if not self.built:
            raise ValueError("save(): the model has no weights yet; call it on data (or fit it) "
                             "first, or give the first layer input_shape=")
        return {"class_name": "Sequential", "config": self.get_config(),
                "build_input_shape": list(self.build_input_shape)}
