"""``get``: an optimizer from its name (``compile(optimizer="adam")``), config or instance."""

from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

#: name -> (class, Keras's default learning rate).
OPTIMIZERS = {
    "sgd": (SGD, 0.01),
    "adam": (Adam, 0.001),
    "adamw": (AdamW, 0.001),
    "rmsprop": (RMSprop, 0.001),
    "adagrad": (Adagrad, 0.001),
}

#: name -> Keras 3's defaults for the options whose PyTorch defaults differ (a name gives
#: Keras's optimizer: these and ``formulas="keras"``).
KERAS_DEFAULTS = {
    "sgd": {},
    "adam": {"eps": 1e-7},
    "adamw": {"eps": 1e-7, "weight_decay": 0.004},
    "rmsprop": {"alpha": 0.9, "eps": 1e-7},
    "adagrad": {"eps": 1e-7, "initial_accumulator_value": 0.1},
}


def get(identifier, params=None, **options):
    """Return an optimizer for ``identifier``, as Keras's ``optimizers.get``.

    Args:
        identifier: a name (``"sgd"``, ``"adam"``, ``"adamw"``, ``"rmsprop"``, ``"adagrad"``,
            any case), a dict ``{"class_name": "Adam", "config": {...}}`` as made from
            :meth:`Optimizer.get_config`, or an optimizer (returned as it is).
        params: the parameters to optimize; may be left out and attached later with
            :meth:`Optimizer.add_param_group`.
        **options: options of the optimizer, e.g. ``lr=0.01``.

    A name gives Keras's optimizer, as ``compile(optimizer="adam")`` does in Keras: Keras's
    default learning rate (0.01 for ``"sgd"``, 0.001 for the others), Keras's other defaults
    (``epsilon=1e-7``; RMSprop ``rho=0.9``; Adagrad ``initial_accumulator_value=0.1``; AdamW
    ``weight_decay=0.004``) and Keras's formulas (``formulas="keras"``, see
    :class:`Optimizer`); the classes' own defaults and formulas are PyTorch's. A config dict
    gives its options and the classes' defaults for the rest.

    Raises ``ValueError`` for an unknown name and ``TypeError`` for anything else.

    >>> opt = mg.optim.get("Adam")
    >>> type(opt).__name__, opt.lr
    ('Adam', 0.001)
    """
    if isinstance(identifier, Optimizer):
        if options:
            raise TypeError(f"get() got an optimizer and options {sorted(options)}; set the "
                            "options when making the optimizer")
        if params is not None:
            if identifier.param_groups:
                raise ValueError("get() got parameters for an optimizer that already has them")
            identifier.add_param_group(params)
        return identifier
    named = isinstance(identifier, str)
    if isinstance(identifier, dict):
        if "class_name" not in identifier:
            raise ValueError(f"get() expected a dict with 'class_name' and 'config', got keys "
                             f"{sorted(identifier)}")
        options = {**identifier.get("config", {}), **options}
        identifier = identifier["class_name"]
    if not isinstance(identifier, str):
        raise TypeError(f"get() expected an optimizer name, config dict or optimizer, got "
                        f"{type(identifier).__name__}")
    key = identifier.strip().lower()
    if key not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {identifier!r}; expected one of "
                         f"{', '.join(sorted(OPTIMIZERS))}")
    cls, default_lr = OPTIMIZERS[key]
    if "lr" not in options and "learning_rate" not in options:
        options["lr"] = default_lr
    if named:
        options = {**KERAS_DEFAULTS[key], "formulas": "keras", **options}
    return cls(params, **options)
