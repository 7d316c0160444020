"""``SGD``: stochastic gradient descent with momentum, Nesterov momentum and weight decay."""

from .optimizer import Optimizer, by_backend, resolve_lr


class SGD(Optimizer):
    r"""Stochastic gradient descent, with PyTorch's update (``torch.optim.SGD``)::

        g = grad + weight_decay * param                  (if weight_decay)
        buf = g                                          (first step)
        buf = momentum * buf + (1 - dampening) * g       (later steps, if momentum)
        g = g + momentum * buf   (nesterov)  or  g = buf (momentum)
        param = param - lr * g

    Args:
        params: an iterable of parameters or of parameter-group dicts (see
            :class:`Optimizer`); may be None and attached later.
        lr: the learning rate (``learning_rate=`` is the same), a number >= 0 or a schedule.
        momentum: the momentum factor, >= 0 (0 is plain SGD).
        dampening: dampening of the momentum, in [0, 1].
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening 0).
        weight_decay: L2 penalty added to the gradient, >= 0.
        clipnorm, clipvalue, global_clipnorm: gradient clipping (see :class:`Optimizer`).
        formulas: ``"keras"`` for Keras's momentum, which holds the learning rate of each
            step (``buf = momentum * buf - lr * g; param += buf``, Nesterov: ``param +=
            momentum * buf - lr * g``): the same steps while the rate is constant, not once a
            schedule or callback changes it. See :class:`Optimizer`.

    >>> w = mg.nn.Parameter(mg.tensor([1.0, -2.0], dtype="float64"))
    >>> opt = mg.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w.numpy()
    array([ 0.8, -1.6])
    """

    def __init__(self, params=None, lr=0.001, momentum=0.0, dampening=0.0, nesterov=False,
                 weight_decay=0.0, *, learning_rate=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, formulas="pytorch"):
        lr = resolve_lr(lr, learning_rate, 0.001, "SGD")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      nesterov=nesterov, weight_decay=weight_decay),
                         clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm,
                         formulas=formulas)

    def _check_options(self, options):
        super()._check_options(options)
        if "dampening" in options and not 0.0 <= options["dampening"] <= 1.0:
            raise ValueError(f"SGD expected dampening in [0, 1], got {options['dampening']!r}")
        merged = {**getattr(self, "defaults", {}), **options}
        if merged.get("nesterov") and (merged["momentum"] <= 0 or merged["dampening"] != 0):
            raise ValueError("SGD with nesterov=True needs momentum > 0 and dampening 0, got "
                             f"momentum={merged['momentum']}, dampening={merged['dampening']}")

    def _state_keys(self, group):
        return ["momentum_buffer"] if group["momentum"] != 0 else []

    def _update_group(self, params, grads, states, group):
        # The formula above, in one backend kernel for the whole group (per device).
        momentum = group["momentum"]
        if momentum != 0 and self.formulas == "keras":
            for param, grad, state in zip(params, grads, states):
                _keras_momentum_step(param, grad, state, group)
            return
        for backend, ks in by_backend(params).items():
            buffers = backend.sgd_step(
                [params[k].data for k in ks], [grads[k] for k in ks],
                [states[k].get("momentum_buffer") for k in ks], lr=group["lr"],
                weight_decay=group["weight_decay"], momentum=momentum,
                dampening=group["dampening"], nesterov=group["nesterov"])
            if momentum != 0:
                for k, buf in zip(ks, buffers):
                    states[k]["momentum_buffer"] = buf



def _keras_momentum_step(param, grad, state, group):
    """Keras's SGD with momentum (the weight decay was applied before, decoupled)."""
    lr, momentum = group["lr"], group["momentum"]
    if "momentum_buffer" not in state:
        state["momentum_buffer"] = param._backend.xp.zeros_like(param.data)
    buf = state["momentum_buffer"]
    buf *= momentum                                      # m = mu * m
    buf -= lr * grad                                     #   - lr * g
    if group["nesterov"]:
        param.data += momentum * buf - lr * grad         # w += mu * m - lr * g
    else:
        param.data += buf                                # w += m
