"""Merge layers: several inputs of one shape made into one (``Add``, ``Subtract``,
``Multiply``, ``Average``, ``Maximum``, ``Minimum``, ``Concatenate``), as Keras's, for the
functional API: ``keras.layers.Add()([x, y])``.

Each is a few existing ops (``add``, ``mul``, ``maximum``, ``concat``), so the backward comes
from them. A mask on any input flows on as the logical AND of the inputs' masks.
"""

import functools

from ... import functional as F
from ...autograd.tensor import Tensor
from ..module import Layer, as_input_tensor, symbolic_inputs


class _Merge(Layer):
    """Takes a list of tensors, all (N, ...) of one shape, and gives one (N, ...) tensor."""

    #: The fewest inputs the layer takes.
    min_inputs = 2

    def __call__(self, inputs, *args, training=None, **kwargs):
        if symbolic_inputs(inputs):
            return super().__call__(inputs, *args, **kwargs)  # recorded in a functional graph
        inputs = self._check_inputs(inputs)
        if not self.built:
            self.build([tuple(t.shape) for t in inputs])
            self.built = True
        output = self.forward(inputs, *args, **kwargs)
        self.output_shape = (None,) + tuple(output.shape[1:])
        return output

    def _check_inputs(self, inputs):
        if isinstance(inputs, (list, tuple)):  # NumPy arrays become tensors, as for any layer
            inputs = [as_input_tensor(t, self, self.dtype, keep_integers=False)
                      if hasattr(t, "shape") else t for t in inputs]
        if not isinstance(inputs, (list, tuple)) or not all(isinstance(t, Tensor)
                                                            for t in inputs):
            raise TypeError(f"{self.name} ({type(self).__name__}) expects a list of tensors, "
                            f"got {type(inputs).__name__}")
        if len(inputs) < self.min_inputs:
            raise ValueError(f"{self.name} ({type(self).__name__}) needs at least "
                             f"{self.min_inputs} inputs, got {len(inputs)}")
        self._check_shapes([tuple(t.shape) for t in inputs])
        return list(inputs)

    def _check_shapes(self, shapes):
        if any(shape != shapes[0] for shape in shapes):
            raise ValueError(f"{self.name} ({type(self).__name__}) needs inputs of one shape, "
                             f"got {', '.join(map(str, shapes))}")

    def compute_mask(self, inputs, mask=None):
        """The AND of the inputs' masks (None where an input has none), or None."""
        masks = [m for m in (mask or ()) if m is not None]
        if not masks:
            return None
        data = functools.reduce(lambda a, b: a & b, (m.data for m in masks))
        return Tensor._make(data, masks[0]._backend)


class Add(_Merge):
    """The elementwise sum of the inputs: ``Add()([x, y])`` is ``x + y``.

    >>> mg.nn.Add()([mg.ones(2, 3), mg.ones(2, 3)]).tolist()
    [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
    """

    def forward(self, inputs):
        return functools.reduce(F.add, inputs)


class Subtract(_Merge):
    """``x - y`` of exactly two inputs ``[x, y]``."""

    def _check_inputs(self, inputs):
        inputs = super()._check_inputs(inputs)
        if len(inputs) != 2:
            raise ValueError(f"{self.name} (Subtract) needs exactly 2 inputs, got {len(inputs)}")
        return inputs

    def forward(self, inputs):
        return F.sub(inputs[0], inputs[1])


class Multiply(_Merge):
    """The elementwise product of the inputs."""

    def forward(self, inputs):
        return functools.reduce(F.mul, inputs)


class Average(_Merge):
    """The elementwise mean of the inputs: ``(x + y + ...) / len(inputs)``."""

    def forward(self, inputs):
        return F.mul(functools.reduce(F.add, inputs), 1.0 / len(inputs))


class Maximum(_Merge):
    """The elementwise maximum of the inputs (the gradient goes to the larger one)."""

    def forward(self, inputs):
        return functools.reduce(F.maximum, inputs)


class Minimum(_Merge):
    """The elementwise minimum of the inputs."""

    def forward(self, inputs):
        return functools.reduce(F.minimum, inputs)


class Concatenate(_Merge):
    """The inputs joined along ``axis`` (default: the last, the features); every other axis
    must agree. Inputs (N, a) and (N, b) give (N, a + b).

    >>> mg.nn.Concatenate()([mg.ones(2, 3), mg.zeros(2, 1)]).shape
    (2, 4)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def _check_shapes(self, shapes):
        ranks = {len(shape) for shape in shapes}
        axis = self.axis % len(shapes[0]) if len(ranks) == 1 else None
        if axis == 0 or axis is None or any(
                [d for i, d in enumerate(s) if i != axis] !=
                [d for i, d in enumerate(shapes[0]) if i != axis] for s in shapes):
            raise ValueError(f"{self.name} (Concatenate) needs inputs whose shapes agree except "
                             f"on axis {self.axis} (not the batch axis), got "
                             f"{', '.join(map(str, shapes))}")

    def forward(self, inputs):
        return F.concat(inputs, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
