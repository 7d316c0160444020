"""``keras.optimizers``: minigrad's optimizers with Keras's constructors and defaults.

``keras.optimizers.SGD(learning_rate=0.01)`` takes no parameter list: ``compile`` hands the
model's parameters to it once the layers have their weights (see
:meth:`minigrad.train.Model.build_optimizer`). Each class is a subclass of minigrad's optimizer
of the same name made with ``formulas="keras"`` (Keras 3's update formulas: where epsilon goes,
the learning rate inside momentum, decoupled weight decay), so a model saved with one loads
with minigrad's. Keras's arguments map as ``beta_1, beta_2 -> betas``, ``epsilon ->
eps``, ``rho -> alpha``; Keras's defaults are kept (``epsilon=1e-7``, RMSprop ``rho=0.9``,
Adagrad ``initial_accumulator_value=0.1``).
"""

from .. import optim
from ..optim import get

_CLIPPING = ("clipnorm", "clipvalue", "global_clipnorm")


def _clipping(options):
    return {key: options.pop(key) for key in _CLIPPING if key in options}


def _no_more(name, options):
    # Keras's arguments that minigrad does not have (ema, loss scaling, ...): say so.
    options.pop("name", None)
    if options:
        raise TypeError(f"keras.optimizers.{name} does not take {sorted(options)} in minigrad")


class SGD(optim.SGD):
    """Keras's ``SGD(learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None)``."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 **options):
        clipping = _clipping(options)
        _no_more("SGD", options)
        super().__init__(None, lr=learning_rate, momentum=momentum, nesterov=nesterov,
                         weight_decay=weight_decay or 0.0, formulas="keras",
                         **clipping)


class Adam(optim.Adam):
    """Keras's ``Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
    amsgrad=False, weight_decay=None)``."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, weight_decay=None, **options):
        clipping = _clipping(options)
        _no_more("Adam", options)
        super().__init__(None, lr=learning_rate, betas=(beta_1, beta_2), eps=epsilon,
                         amsgrad=amsgrad, weight_decay=weight_decay or 0.0, formulas="keras",
                         **clipping)


class AdamW(optim.AdamW):
    """Keras's ``AdamW(learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
    epsilon=1e-7, amsgrad=False)``."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, **options):
        clipping = _clipping(options)
        _no_more("AdamW", options)
        super().__init__(None, lr=learning_rate, betas=(beta_1, beta_2), eps=epsilon,
                         weight_decay=weight_decay, amsgrad=amsgrad, formulas="keras",
                         **clipping)


class RMSprop(optim.RMSprop):
    """Keras's ``RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
    centered=False)``."""

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, weight_decay=None, **options):
        clipping = _clipping(options)
        _no_more("RMSprop", options)
        super().__init__(None, lr=learning_rate, alpha=rho, eps=epsilon, momentum=momentum,
                         centered=centered, weight_decay=weight_decay or 0.0, formulas="keras",
                         **clipping)


class Adagrad(optim.Adagrad):
    """Keras's ``Adagrad(learning_rate=0.001, initial_accumulator_value=0.1,
    epsilon=1e-7)``."""

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 weight_decay=None, **options):
        clipping = _clipping(options)
        _no_more("Adagrad", options)
        super().__init__(None, lr=learning_rate,
                         initial_accumulator_value=initial_accumulator_value, eps=epsilon,
                         weight_decay=weight_decay or 0.0, formulas="keras",
                         **clipping)


__all__ = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "get"]
