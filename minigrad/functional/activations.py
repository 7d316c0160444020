"""Activation functions: tanh, sigmoid, relu, leaky_relu, elu, softplus, and the ones Keras
users name by string: gelu, silu (swish), selu, relu6, hard_sigmoid, hard_silu (hard_swish),
softsign, mish.

Each is a :class:`~minigrad.autograd.Function` with its forward and its hand-written backward side
by side; the backward saves what it needs in forward rather than recomputing it.
"""

import math

from .. import dtypes
from ..autograd.function import Function
from ._blocks import blocks, each_block, flat_views
from ._operands import float_operand
from ._special import erfc


def stable_sigmoid(xp, x):
    """1 / (1 + e^-x) of an array ``x`` of module ``xp`` (NumPy or CuPy), same shape, from
    e^-|x| <= 1: no overflow for any x, and, unlike a formula through tanh, no cancellation
    for negative x (sigmoid(-40) is 4.2e-18, not 0)."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1, e) / (1 + e)


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        out = ctx.xp.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        return grad * (1 - out * out)  # d(tanh x)/dx = 1 - tanh^2 x


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        out = stable_sigmoid(ctx.xp, x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        return grad * out * (1 - out)


class ReLU(Function):
    """``max(x, 0)``; over a large array a block at a time on every thread (``_blocks``)."""

    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        views = flat_views(ctx.backend, x)
        if views is None:
            out = xp.maximum(x, 0)
        else:
            out = xp.empty(x.shape, dtype=x.dtype)
            flat_x, flat_out = views[0], out.reshape(-1)
            each_block(ctx.backend, lambda b: xp.maximum(flat_x[b], 0, out=flat_out[b]),
                       blocks(ctx.backend, flat_x.size, x.itemsize))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        xp = ctx.xp
        views = flat_views(ctx.backend, out, grad) if grad.shape == out.shape else None
        if views is None:
            return grad * (out > 0)  # gradient 0 at x == 0, as in PyTorch
        grad_x = xp.empty(out.shape, dtype=grad.dtype)
        (flat_out, flat_grad), flat_grad_x = views, grad_x.reshape(-1)
        each_block(ctx.backend,
                   lambda b: xp.multiply(flat_grad[b], flat_out[b] > 0, out=flat_grad_x[b]),
                   blocks(ctx.backend, flat_out.size, out.itemsize))
        return grad_x


class LeakyReLU(Function):
    @staticmethod
    def forward(ctx, x, negative_slope):
        positive = x > 0
        ctx.save_for_backward(positive)
        ctx.negative_slope = negative_slope
        return ctx.xp.where(positive, x, x * negative_slope)

    @staticmethod
    def backward(ctx, grad):
        (positive,) = ctx.saved
        return ctx.xp.where(positive, grad, grad * ctx.negative_slope)


class ELU(Function):
    @staticmethod
    def forward(ctx, x, alpha):
        xp = ctx.xp
        positive = x > 0
        exp_part = alpha * xp.expm1(xp.minimum(x, 0))  # alpha (e^x - 1) for x <= 0
        ctx.save_for_backward(positive, exp_part)
        ctx.alpha = alpha
        return xp.where(positive, x, exp_part)

    @staticmethod
    def backward(ctx, grad):
        positive, exp_part = ctx.saved
        # For x <= 0: d(alpha (e^x - 1))/dx = alpha e^x = exp_part + alpha.
        return ctx.xp.where(positive, grad, grad * (exp_part + ctx.alpha))


class Softplus(Function):
    @staticmethod
    def forward(ctx, x, beta, threshold):
        xp = ctx.xp
        z = x * beta
        # log(1 + e^z) = max(z, 0) + log(1 + e^-|z|): no overflow for large z.
        soft = (xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))) / beta
        linear = z > threshold  # where PyTorch switches to the identity
        ctx.save_for_backward(z, linear)
        return xp.where(linear, x, soft)

    @staticmethod
    def backward(ctx, grad):
        z, linear = ctx.saved
        # d softplus / dx = sigmoid(beta x)
        return ctx.xp.where(linear, grad, grad * stable_sigmoid(ctx.xp, z))


#: SELU's constants (Klambauer et al. 2017), to the digits PyTorch and Keras use.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

#: The tanh approximation of GELU: 0.5 x (1 + tanh(sqrt(2 / pi) (x + GELU_CUBIC x^3))).
GELU_CUBIC = 0.044715
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_INV_SQRT_2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


class GELU(Function):
    """``x * Phi(x)``, Phi the standard normal CDF (exact, through erfc)."""

    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        # Phi(x) = erfc(-x / sqrt(2)) / 2: no cancellation in the left tail, unlike 1 + erf
        cdf = 0.5 * erfc(xp, x * x.dtype.type(-_INV_SQRT_2))
        ctx.save_for_backward(x, cdf)
        return x * cdf

    @staticmethod
    def backward(ctx, grad):
        x, cdf = ctx.saved
        # d(x Phi(x))/dx = Phi(x) + x phi(x), phi(x) = e^(-x^2 / 2) / sqrt(2 pi)
        pdf = ctx.xp.exp(-0.5 * x * x) * x.dtype.type(_INV_SQRT_2PI)
        return grad * (cdf + x * pdf)


class TanhGELU(Function):
    """GELU's tanh approximation ``0.5 x (1 + tanh(u))``, ``u = sqrt(2/pi) (x + 0.044715 x^3)``."""

    @staticmethod
    def forward(ctx, x):
        t = ctx.xp.tanh(x.dtype.type(_SQRT_2_OVER_PI) * (x + GELU_CUBIC * x * x * x))
        ctx.save_for_backward(x, t)
        return 0.5 * x * (1 + t)

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved
        # 0.5 (1 + t) + 0.5 x (1 - t^2) du/dx, du/dx = sqrt(2/pi) (1 + 3 * 0.044715 x^2)
        du = x.dtype.type(_SQRT_2_OVER_PI) * (1 + 3 * GELU_CUBIC * x * x)
        return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)


class SiLU(Function):
    """``x * sigmoid(x)`` (swish)."""

    @staticmethod
    def forward(ctx, x):
        s = stable_sigmoid(ctx.xp, x)
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, grad):
        x, s = ctx.saved
        # d(x s)/dx = s + x s (1 - s)
        return grad * (s * (1 + x * (1 - s)))


class SELU(Function):
    """``scale * x`` for ``x > 0``, else ``scale * alpha * (e^x - 1)``."""

    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        positive = x > 0
        exp_part = SELU_ALPHA * xp.expm1(xp.minimum(x, 0))  # alpha (e^x - 1) for x <= 0
        ctx.save_for_backward(positive, exp_part)
        return SELU_SCALE * xp.where(positive, x, exp_part)

    @staticmethod
    def backward(ctx, grad):
        positive, exp_part = ctx.saved
        # for x <= 0: d(alpha (e^x - 1))/dx = alpha e^x = exp_part + alpha
        return SELU_SCALE * ctx.xp.where(positive, grad, grad * (exp_part + SELU_ALPHA))


class ReLU6(Function):
    """``min(max(x, 0), 6)``."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward((x > 0) & (x < 6))
        return ctx.xp.clip(x, 0, 6)

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved
        return grad * inside  # 0 at the kinks 0 and 6, as in PyTorch


class HardSigmoid(Function):
    """``relu6(x + 3) / 6``: 0 below -3, 1 above 3, ``x / 6 + 1/2`` between (Keras 3)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward((x > -3) & (x < 3))
        return ctx.xp.clip(x / 6 + 0.5, 0, 1)

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved
        return grad * inside / 6  # 0 at the kinks -3 and 3, as in PyTorch


class HardSiLU(Function):
    """``x * relu6(x + 3) / 6`` (hard swish): 0 below -3, x above 3, ``x (x + 3) / 6`` between."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * ctx.xp.clip(x / 6 + 0.5, 0, 1)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        # d(x (x + 3) / 6)/dx = x / 3 + 1/2 inside (-3, 3), 0 below, 1 above; at the kinks the
        # outer piece's (0 at -3, 1 at 3), as PyTorch's hardswish and x * relu6(x + 3) / 6
        # differentiated with relu6' = 0 at its kinks
        xp = ctx.xp
        return grad * xp.where(x >= 3, 1, xp.where(x > -3, x / 3 + 0.5, 0)).astype(x.dtype)


class Softsign(Function):
    """``x / (1 + |x|)``."""

    @staticmethod
    def forward(ctx, x):
        denominator = 1 + ctx.xp.abs(x)
        ctx.save_for_backward(denominator)
        return x / denominator

    @staticmethod
    def backward(ctx, grad):
        (denominator,) = ctx.saved
        return grad / (denominator * denominator)  # d/dx x / (1 + |x|) = 1 / (1 + |x|)^2


class Mish(Function):
    """``x * tanh(softplus(x))``."""

    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        soft = xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))  # log(1 + e^x), no overflow
        t = xp.tanh(soft)
        ctx.save_for_backward(x, t)
        return x * t

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved
        # d(x tanh(sp(x)))/dx = tanh(sp) + x (1 - tanh^2(sp)) sigmoid(x), as sp' = sigmoid
        return grad * (t + x * (1 - t * t) * stable_sigmoid(ctx.xp, x))


def _apply_in_compute_dtype(function, x, **options):
    """``function`` on ``x``, float16 computed in float32 and rounded back (erf and tanh of
    float16 would lose the few digits it has)."""
    x = float_operand(x)
    compute = dtypes.compute_dtype(x.dtype)
    if compute == x.dtype:
        return function.apply(x, **options)
    return function.apply(x.astype(compute), **options).astype(x.dtype)


def tanh(x):
    """The hyperbolic tangent, elementwise."""
    return Tanh.apply(float_operand(x))


def sigmoid(x):
    """The logistic function ``1 / (1 + exp(-x))``, elementwise, stable for any ``x``."""
    return Sigmoid.apply(float_operand(x))


def relu(x):
    """``max(x, 0)`` elementwise (gradient 0 at 0)."""
    return ReLU.apply(x)


def leaky_relu(x, negative_slope=0.01):
    """``x`` for ``x > 0``, else ``negative_slope * x``."""
    return LeakyReLU.apply(float_operand(x), negative_slope=negative_slope)


def elu(x, alpha=1.0):
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``."""
    return ELU.apply(float_operand(x), alpha=alpha)


def softplus(x, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta * x)) / beta``, elementwise and stable; the identity where
    ``beta * x > threshold`` (as in PyTorch)."""
    return Softplus.apply(float_operand(x), beta=beta, threshold=threshold)


def gelu(x, approximate=False):
    """The Gaussian error linear unit ``x * Phi(x)``, Phi the standard normal CDF, elementwise
    (Keras's and PyTorch's default). ``approximate=True`` (or PyTorch's ``approximate="tanh"``)
    uses ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`` instead.

    Shape: any; the output has ``x``'s shape and dtype.

    >>> mg.gelu(mg.tensor([-1.0, 0.0, 1.0], dtype="float64")).numpy().round(6)
    array([-0.158655,  0.      ,  0.841345])
    """
    if isinstance(approximate, str):  # PyTorch spells it "none" / "tanh"
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be True/False (or PyTorch's 'none'/'tanh'), "
                             f"got {approximate!r}")
        approximate = approximate == "tanh"
    return _apply_in_compute_dtype(TanhGELU if approximate else GELU, x)


def silu(x):
    """The sigmoid linear unit ``x * sigmoid(x)`` (also called swish), elementwise.

    >>> mg.silu(mg.tensor([0.0, 1.0], dtype="float64")).numpy().round(6)
    array([0.      , 0.731059])
    """
    return SiLU.apply(float_operand(x))


#: Keras's other name for :func:`silu`.
swish = silu


def selu(x):
    """The scaled exponential linear unit: ``scale * x`` for ``x > 0``, else
    ``scale * alpha * (exp(x) - 1)``, with ``alpha = 1.6732632...`` and ``scale = 1.0507009...``
    (self-normalizing networks; use it with ``lecun_normal`` initialization)."""
    return SELU.apply(float_operand(x))


def relu6(x):
    """``min(max(x, 0), 6)`` elementwise (gradient 0 at 0 and 6)."""
    return ReLU6.apply(float_operand(x))


def hard_sigmoid(x):
    """A piecewise linear sigmoid, Keras 3's and PyTorch's: ``relu6(x + 3) / 6``, i.e. 0 for
    ``x <= -3``, 1 for ``x >= 3`` and ``x / 6 + 0.5`` between.

    (tf.keras 2 used ``clip(0.2 x + 0.5, 0, 1)``, slope 1/5 instead of 1/6: minigrad follows
    Keras 3.)

    >>> mg.hard_sigmoid(mg.tensor([-4.0, 0.0, 1.5, 4.0]))
    tensor([0.  , 0.5 , 0.75, 1.  ])
    """
    return HardSigmoid.apply(float_operand(x))


def hard_silu(x):
    """``x * hard_sigmoid(x)`` (also called hard swish): 0 for ``x <= -3``, ``x`` for
    ``x >= 3``, ``x (x + 3) / 6`` between."""
    return HardSiLU.apply(float_operand(x))


#: Keras's other name for :func:`hard_silu`.
hard_swish = hard_silu


def softsign(x):
    """``x / (1 + |x|)`` elementwise."""
    return Softsign.apply(float_operand(x))


def mish(x):
    """``x * tanh(softplus(x))`` elementwise (Misra 2019)."""
    return _apply_in_compute_dtype(Mish, x)
