"""``Adagrad``: per-element learning rates from the sum of squared gradients."""

from .optimizer import Optimizer, resolve_lr


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), with PyTorch's update (``torch.optim.Adagrad``)::

        t = t + 1
        g = grad + weight_decay * param                  (if weight_decay)
        lr_t = lr / (1 + (t - 1) * lr_decay)
        sum = sum + g * g
        param = param - lr_t * g / (sqrt(sum) + eps)

    Args:
        params: an iterable of parameters or of parameter-group dicts (see
            :class:`Optimizer`); may be None and attached later.
        lr: the learning rate (``learning_rate=`` is the same), a number >= 0 or a schedule.
        lr_decay: learning-rate decay per step, >= 0.
        weight_decay: L2 penalty added to the gradient, >= 0.
        initial_accumulator_value: the starting value of ``sum``, >= 0 (Keras uses 0.1).
        eps: added to the denominator, >= 0.
        clipnorm, clipvalue, global_clipnorm: gradient clipping (see :class:`Optimizer`).
        formulas: ``"keras"`` for Keras's ``sqrt(sum + eps)`` in place of ``sqrt(sum) + eps``
            and decoupled ``weight_decay`` (see :class:`Optimizer`).

    >>> w = mg.nn.Parameter(mg.tensor([1.0, -2.0], dtype="float64"))
    >>> opt = mg.optim.Adagrad([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w.numpy()
    array([ 0.9, -1.9])
    """

    def __init__(self, params=None, lr=0.01, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, *, learning_rate=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, formulas="pytorch"):
        lr = resolve_lr(lr, learning_rate, 0.01, "Adagrad")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps),
                         clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm,
                         formulas=formulas)

    def _check_options(self, options):
        super()._check_options(options)
        for key in ("lr_decay", "initial_accumulator_value"):
            if key in options and not options[key] >= 0.0:
                raise ValueError(f"Adagrad expected {key} >= 0, got {options[key]!r}")

    def _state_keys(self, group):
        return ["step", "sum"]

    def _update(self, param, grad, state, group):
        xp = param._backend.xp
        if not state:
            state["step"] = 0
            state["sum"] = xp.full_like(param.data, group["initial_accumulator_value"])
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param.data           # g += wd * w
        lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])  # lr_t
        state["sum"] += grad * grad                                      # s += g^2
        if self.formulas == "keras":
            std = xp.sqrt(state["sum"] + group["eps"])                   # sqrt(s + eps)
        else:
            std = xp.sqrt(state["sum"]) + group["eps"]                   # sqrt(s) + eps
        param.data -= lr * (grad / std)                                  # w -= lr_t * g / ...
