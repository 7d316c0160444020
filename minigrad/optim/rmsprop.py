"""``RMSprop``: gradients divided by a running root mean square of recent gradients."""

from .optimizer import Optimizer, resolve_lr


class RMSprop(Optimizer):
    r"""RMSprop (Hinton), with PyTorch's update (``torch.optim.RMSprop``)::

        g = grad + weight_decay * param                  (if weight_decay)
        v = alpha * v + (1 - alpha) * g * g
        m = alpha * m + (1 - alpha) * g ;  avg = sqrt(v - m * m) + eps   (centered)
        avg = sqrt(v) + eps                                              (not centered)
        buf = momentum * buf + g / avg ;  param = param - lr * buf        (momentum > 0)
        param = param - lr * g / avg                                     (momentum 0)

    ``alpha`` is Keras's ``rho`` (Keras's default is 0.9, PyTorch's 0.99, used here).

    Args:
        params: an iterable of parameters or of parameter-group dicts (see
            :class:`Optimizer`); may be None and attached later.
        lr: the learning rate (``learning_rate=`` is the same), a number >= 0 or a schedule.
        alpha: the smoothing constant of the averages, in [0, 1).
        eps: added to the denominator, >= 0.
        weight_decay: L2 penalty added to the gradient, >= 0.
        momentum: the momentum factor, >= 0.
        centered: divide by an estimate of the gradient's variance instead of its second
            moment.
        clipnorm, clipvalue, global_clipnorm: gradient clipping (see :class:`Optimizer`).
        formulas: ``"keras"`` for Keras's formula: ``avg = sqrt(v + eps)`` (centered:
            ``sqrt(v - m * m + eps)``), the learning rate inside the momentum buffer
            (``buf = momentum * buf + lr * g / avg; param -= buf``) and decoupled
            ``weight_decay`` (see :class:`Optimizer`).

    >>> w = mg.nn.Parameter(mg.tensor([1.0, -2.0], dtype="float64"))
    >>> opt = mg.optim.RMSprop([w], lr=0.01)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w.numpy()
    array([ 0.9, -1.9])
    """

    def __init__(self, params=None, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0,
                 momentum=0.0, centered=False, *, learning_rate=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, formulas="pytorch"):
        lr = resolve_lr(lr, learning_rate, 0.01, "RMSprop")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered),
                         clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm,
                         formulas=formulas)

    def _check_options(self, options):
        super()._check_options(options)
        if "alpha" in options and not 0.0 <= options["alpha"] < 1.0:
            raise ValueError(f"RMSprop expected alpha in [0, 1), got {options['alpha']!r}")

    def _state_keys(self, group):
        return (["step", "square_avg"] + (["momentum_buffer"] if group["momentum"] > 0 else [])
                + (["grad_avg"] if group["centered"] else []))

    def _update(self, param, grad, state, group):
        xp = param._backend.xp
        alpha, momentum = group["alpha"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(param.data)
            if momentum > 0:
                state["momentum_buffer"] = xp.zeros_like(param.data)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(param.data)
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param.data            # g += wd * w
        square_avg = state["square_avg"]
        square_avg *= alpha                                               # v = a * v
        square_avg += (1.0 - alpha) * grad * grad                         #   + (1 - a) g^2
        keras = self.formulas == "keras"
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg *= alpha                                             # m = a * m
            grad_avg += (1.0 - alpha) * grad                              #   + (1 - a) g
            variance = square_avg - grad_avg * grad_avg                   # v - m^2
        else:
            variance = square_avg
        if keras:
            avg = xp.sqrt(variance + group["eps"])                        # sqrt(v + eps)
        else:
            avg = xp.sqrt(variance) + group["eps"]                        # sqrt(v) + eps
        if momentum > 0 and keras:
            buf = state["momentum_buffer"]
            buf *= momentum                                               # b = mu * b
            buf += group["lr"] * grad / avg                               #   + lr * g / avg
            param.data -= buf                                             # w -= b
        elif momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum                                               # b = mu * b
            buf += grad / avg                                             #   + g / avg
            param.data -= group["lr"] * buf                               # w -= lr * b
        else:
            param.data -= group["lr"] * (grad / avg)                      # w -= lr * g / avg
