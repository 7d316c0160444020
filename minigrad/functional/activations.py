"""Activation functions: tanh, sigmoid, relu, leaky_relu, elu, softplus."""

from ..autograd.function import Function
from ._operands import float_operand


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
    @staticmethod
    def forward(ctx, x):
        out = ctx.xp.maximum(x, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        return grad * (out > 0)  # gradient 0 at x == 0, as in PyTorch


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
