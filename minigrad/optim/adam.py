"""``Adam`` and ``AdamW``: adaptive moment estimation, with L2 or decoupled weight decay."""

from .optimizer import Optimizer, resolve_lr


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), with PyTorch's update (``torch.optim.Adam``)::

        t = t + 1
        g = grad + weight_decay * param                  (if weight_decay: L2, coupled)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)   and use v_max for v      (amsgrad)
        param = param - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    Args:
        params: an iterable of parameters or of parameter-group dicts (see
            :class:`Optimizer`); may be None and attached later.
        lr: the learning rate (``learning_rate=`` is the same), a number >= 0 or a schedule.
        betas: ``(beta1, beta2)``, the decay rates of the first and second moments, in [0, 1).
        eps: added to the denominator, >= 0 (Keras's ``epsilon``; its default is 1e-7).
        weight_decay: L2 penalty added to the gradient, >= 0 (see :class:`AdamW` for the
            decoupled form).
        amsgrad: use the running maximum of the second moment (Reddi et al., 2018).
        clipnorm, clipvalue, global_clipnorm: gradient clipping (see :class:`Optimizer`).
        formulas: ``"keras"`` for Keras's placement of ``eps``:
            ``param -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)``, and
            decoupled ``weight_decay`` (see :class:`Optimizer`).

    >>> w = mg.nn.Parameter(mg.tensor([1.0, -2.0], dtype="float64"))
    >>> opt = mg.optim.Adam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w.numpy()
    array([ 0.9, -1.9])
    """

    # AdamW's decoupled weight decay (the parameter shrinks) rather than Adam's L2 term.
    _decoupled = False

    def __init__(self, params=None, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, learning_rate=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, formulas="pytorch"):
        lr = resolve_lr(lr, learning_rate, 0.001, type(self).__name__)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad),
                         clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm,
                         formulas=formulas)

    def _check_options(self, options):
        super()._check_options(options)
        if "betas" in options:
            betas = options["betas"]
            if not (isinstance(betas, tuple) and len(betas) == 2
                    and all(0.0 <= b < 1.0 for b in betas)):
                raise ValueError(f"{type(self).__name__} expected betas = (beta1, beta2), each "
                                 f"in [0, 1), got {betas!r}")

    def _state_keys(self, group):
        return ["step", "exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if group["amsgrad"]
                                                    else [])

    def _update_group(self, params, grads, states, group):
        # The formula above, in one backend kernel per device and step count (the parameters
        # of a group usually share their step count: one kernel for the group).
        keys = []  # (backend, step) of each parameter
        for param, state in zip(params, states):
            if not state:
                xp = param._backend.xp
                state["step"] = 0
                state["exp_avg"] = xp.zeros_like(param.data)
                state["exp_avg_sq"] = xp.zeros_like(param.data)
                if group["amsgrad"]:
                    state["max_exp_avg_sq"] = xp.zeros_like(param.data)
            state["step"] += 1
            keys.append((param._backend, state["step"]))
        calls = {}
        for k, key in enumerate(keys):
            calls.setdefault(key, []).append(k)
        for (backend, step), ks in calls.items():
            picked = [states[k] for k in ks]
            eps = group["eps"]
            if self.formulas == "keras":  # Keras adds eps after the bias correction of v
                eps = eps / (1.0 - group["betas"][1] ** step) ** 0.5
            backend.adam_step(
                [params[k].data for k in ks], [grads[k] for k in ks],
                [s["exp_avg"] for s in picked], [s["exp_avg_sq"] for s in picked],
                [s["max_exp_avg_sq"] for s in picked] if group["amsgrad"] else None, step=step,
                lr=group["lr"], betas=group["betas"], eps=eps,
                weight_decay=group["weight_decay"], decoupled=self._decoupled,
                amsgrad=group["amsgrad"])


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), with PyTorch's update
    (``torch.optim.AdamW``): the parameter shrinks by ``lr * weight_decay`` of itself, then
    takes Adam's step on the plain gradient::

        param = param * (1 - lr * weight_decay)
        (Adam's update without weight decay)

    Takes the arguments of :class:`Adam`; ``weight_decay`` defaults to 0.01.

    >>> w = mg.nn.Parameter(mg.tensor([1.0, -2.0], dtype="float64"))
    >>> opt = mg.optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w.numpy()
    array([ 0.85, -1.8 ])
    """

    _decoupled = True

    def __init__(self, params=None, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01,
                 amsgrad=False, *, learning_rate=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, formulas="pytorch"):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, learning_rate=learning_rate, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, formulas=formulas)

