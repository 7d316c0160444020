"""``Adam`` and ``AdamW``: adaptive moment estimation, with L2 or decoupled weight decay."""

import math

from .optimizer import Optimizer
from .sgd import _lr


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

    >>> w = mg.nn.Parameter(mg.tensor([1.0, -2.0], dtype="float64"))
    >>> opt = mg.optim.Adam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w.numpy()
    array([ 0.9, -1.9])
    """

    def __init__(self, params=None, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, learning_rate=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None):
        lr = _lr(lr, learning_rate, 0.001, type(self).__name__)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad),
                         clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm)

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

    def _update(self, param, grad, state, group):
        xp = param._backend.xp
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param.data)
            state["exp_avg_sq"] = xp.zeros_like(param.data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(param.data)
        state["step"] += 1
        t = state["step"]
        grad = self._decay(param, grad, group)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= beta1                                                        # m = b1 * m
        m += (1.0 - beta1) * grad                                         #   + (1 - b1) g
        v *= beta2                                                        # v = b2 * v
        v += (1.0 - beta2) * grad * grad                                  #   + (1 - b2) g^2
        if group["amsgrad"]:
            v = xp.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])  # v_max
        step_size = group["lr"] / (1.0 - beta1 ** t)                     # lr / (1 - b1^t)
        denom = xp.sqrt(v) / math.sqrt(1.0 - beta2 ** t) + group["eps"]  # sqrt(v_hat) + eps
        param.data -= step_size * (m / denom)                             # w -= ... * m / denom

    def _decay(self, param, grad, group):
        """Adam's weight decay: an L2 term added to the gradient."""
        if group["weight_decay"] != 0:
            return grad + group["weight_decay"] * param.data              # g += wd * w
        return grad


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

    def __init__(self, params=None, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01,
                 amsgrad=False, *, learning_rate=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, learning_rate=learning_rate, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm)

    def _decay(self, param, grad, group):
        """AdamW's weight decay: the parameter itself shrinks, the gradient is unchanged."""
        if group["weight_decay"] != 0:
            param.data *= 1.0 - group["lr"] * group["weight_decay"]       # w *= 1 - lr * wd
        return grad
