"""``Sequential``: the plain container of :mod:`minigrad.nn` with the Keras training API."""

from ..nn import container
from ..nn.layers.input_layer import InputLayer, KerasTensor
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

    def add(self, layer):
        """Append a layer; returns the model. A ``keras.Input(shape=...)`` (or an
        ``InputLayer``) first sets the input shape, as in Keras: every layer added after it is
        built at once, so ``parameters()`` is complete before the first batch (a size given as None,
        such as a sequence length, is built with 1)."""
        if isinstance(layer, KerasTensor) and getattr(layer, "input_layer", None) is not None:
            layer = layer.input_layer
        if isinstance(layer, InputLayer):
            if len(self) or self.input_shape is not None:
                raise ValueError(f"{self.name}: an Input (InputLayer) can only come first")
            self.input_shape = tuple(layer.shape)
            self._input_layer_dtype = layer.dtype
            return self
        return super().add(layer)

    @property
    def input_dtype(self):
        """The dtype of an integer ``Input`` first, else the first layer's input dtype."""
        dtype = self.__dict__.get("_input_layer_dtype")
        if dtype is not None and dtype.kind != "f":
            return dtype
        return super().input_dtype

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
