"""Planted mistake in sgd_momentum: the velocity is an exponential average, momentum * velocity + (1
- momentum) * g, as Adam's m, instead of PyTorch's plain sum."""
# expect: the velocity should equal the gradient


def sgd_update(param, grad, velocity, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    g = grad + weight_decay * param
    velocity = momentum * velocity + (1 - momentum) * g
    step = g + momentum * velocity if nesterov else velocity
    return param - lr * step, velocity
