"""``Sequential``: modules applied one after another (the plain container, as
``torch.nn.Sequential``; :class:`minigrad.train.Sequential`, ``mg.Sequential``, adds Keras's
compile / fit on top)."""

import functools
import inspect
import warnings

from ..autograd.tensor import Tensor
from .module import Module
from .naming import unique_layer_name

# What the training API adds; asked of the plain container, they get a pointer to it.
_TRAINING_METHODS = frozenset({"compile", "fit", "evaluate", "predict", "save", "save_weights",
                               "load_weights", "summary", "train_step"})


def call_with_mask(layer, x, mask):
    """Call ``layer`` on ``x`` and work out the mask of its output, Keras's masking protocol;
    returns ``(output, output_mask)``. ``mask`` is (N, T) bool (True at real steps) or None.

    - A layer whose ``forward`` has a ``mask`` parameter gets the mask (LSTM, GRU,
      Bidirectional, BatchNormalization, GlobalAveragePooling1D).
    - The output's mask is ``layer.compute_mask(x, mask)`` where the layer defines it
      (``Embedding(mask_zero=True)`` makes one; recurrent layers keep it only with
      ``return_sequences=True``); else ``mask`` itself when ``layer.supports_masking`` is True
      (Dense, Dropout, activations, BatchNormalization: they act on each step alone).
    - Any other layer (Flatten, Conv2D, pooling) ends the mask, with a warning when there was
      one, as Keras does.
    - A container (``Sequential`` inside ``Sequential``) has ``forward_and_mask(x, mask)``,
      which returns both.

    ``passes_mask = True`` is an older spelling of ``supports_masking = True``.
    """
    forward_and_mask = getattr(layer, "forward_and_mask", None)
    if forward_and_mask is not None:
        return forward_and_mask(x, mask)
    output = layer(x, mask=mask) if mask is not None and takes_mask(layer) else layer(x)
    return output, output_mask(layer, x, mask)


def takes_mask(layer):
    """Whether ``layer.forward`` has a ``mask`` parameter (Keras hands the mask to such a
    layer's call)."""
    return _forward_takes_mask(type(layer))


def output_mask(layer, inputs, mask):
    """The mask of ``layer``'s output for ``inputs`` with ``mask`` (the rules of
    :func:`~minigrad.nn.container.call_with_mask`), warning when a mask ends at a layer that
    does not support one."""
    compute_mask = getattr(layer, "compute_mask", None)
    if compute_mask is not None:
        return compute_mask(inputs, mask)
    if getattr(layer, "supports_masking", False) or getattr(layer, "passes_mask", False):
        return mask
    if mask is not None:
        warnings.warn(f"Layer {getattr(layer, 'name', type(layer).__name__)!r} (of type "
                      f"{type(layer).__name__}) was given an input with a mask but does not "
                      f"support masking, so the mask ends here: later layers see the padded "
                      f"steps as real ones", UserWarning, stacklevel=4)
    return None


@functools.lru_cache(maxsize=None)
def _forward_takes_mask(cls):
    """Whether ``cls.forward`` has a ``mask`` parameter (looked up once per class)."""
    try:
        return "mask" in inspect.signature(cls.forward).parameters
    except (TypeError, ValueError):
        return False


def attach_mask(output, mask):
    """Attach ``mask`` to a model's ``output`` tensor (``output._keras_mask``, as Keras), where
    losses and metrics find it; per call, so threads never see each other's masks."""
    if isinstance(output, Tensor):
        output._keras_mask = mask
    return output


def mask_of(tensor):
    """The mask a model attached to ``tensor`` (see
    :func:`~minigrad.nn.container.attach_mask`), or None."""
    return getattr(tensor, "_keras_mask", None)


class Sequential(Module):
    """Modules applied in order: ``Sequential([Dense(64, activation="relu"), Dense(10)])``,
    or ``Sequential()`` and ``.add(layer)``. Masks (``Embedding(mask_zero=True)``) flow from
    layer to layer as in Keras.

    When the first layer has ``input_shape=`` (without the batch axis, as in Keras), the
    container is built right away, so every layer has its weights and output shape.

    This is the plain container, for use inside your own modules;
    :class:`minigrad.train.Sequential` (``mg.Sequential``) is the same with
    ``compile``/``fit``/``evaluate``/``predict``/``save``.

    >>> block = mg.nn.Sequential([mg.nn.Dense(8, activation="relu", input_shape=(4,)),
    ...                           mg.nn.Dense(2)])
    >>> block(mg.ones(3, 4)).shape
    (3, 2)
    """

    def __init__(self, layers=None, name=None):
        super().__init__()
        self.name = name or unique_layer_name("Sequential")
        self.input_shape = None
        #: The per-sample input shape the container was first called with (what load_model
        #: rebuilds a model from).
        self.build_input_shape = None
        for layer in layers or ():
            self.add(layer)

    def add(self, layer):
        """Append a layer (any Module); returns the container."""
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential.add expects a layer (a Module), got "
                            f"{type(layer).__name__}")
        index = len(self._modules)
        setattr(self, str(index), layer)
        if index == 0 and getattr(layer, "input_shape", None) is not None:
            self.input_shape = tuple(layer.input_shape)
        if self.input_shape is not None:
            self.build((None, *self.input_shape))
        return self

    @property
    def input_dtype(self):
        """The dtype of the inputs the first layer takes (token ids for an Embedding), or None
        for the float dtype."""
        layers = self.layers
        return getattr(layers[0], "input_dtype", None) if layers else None

    @property
    def layers(self):
        """The layers, in order."""
        return list(self._modules.values())

    def __len__(self):
        return len(self._modules)

    def __getitem__(self, index):
        return self.layers[index]

    def __iter__(self):
        return iter(self.layers)

    def forward(self, x, mask=None):
        """Input: whatever the first layer takes, (N, ...); output: the last layer's.

        ``mask`` (N, T), optional, is the input's mask (as a layer's ``mask=``). The mask of the
        output, if any (``Embedding(mask_zero=True)`` then layers that keep it), is attached to
        the output tensor, where losses and metrics read it (see
        :func:`~minigrad.nn.container.mask_of`).
        """
        output, output_mask = self.forward_and_mask(x, mask)
        if output_mask is not None or output is not x:
            attach_mask(output, output_mask)
        return output

    def forward_and_mask(self, x, mask=None):
        """The output and its mask (or None): the layers in order, each handing its output's
        mask to the next (:func:`~minigrad.nn.container.call_with_mask`)."""
        if self.build_input_shape is None:
            shape = tuple(x.shape[1:])
            declared = self.input_shape
            if declared is not None and len(declared) == len(shape):
                # an axis declared None (sequences of any length) stays None
                shape = tuple(None if d is None else g for d, g in zip(declared, shape))
            self.build_input_shape = shape
        for layer in self._modules.values():
            x, mask = call_with_mask(layer, x, mask)
        return x, mask

    @property
    def output_shape(self):
        """(None, ...) shape of the last layer's output, once built."""
        layers = self.layers
        return getattr(layers[-1], "output_shape", None) if layers else None

    @property
    def built(self):
        """True once every layer has weights."""
        return all(getattr(layer, "built", True) for layer in self.layers)

    def get_config(self):
        """The architecture: the layers' class names and configs (JSON-serializable)."""
        return {"name": self.name,
                "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()}
                           for layer in self.layers]}

    def __getattr__(self, name):
        if name in _TRAINING_METHODS:
            raise AttributeError(f"minigrad.nn.Sequential is the plain container (as "
                                 f"torch.nn.Sequential) and has no {name}(); the Keras training "
                                 f"API is on mg.Sequential (minigrad.train.Sequential)")
        return super().__getattr__(name)
