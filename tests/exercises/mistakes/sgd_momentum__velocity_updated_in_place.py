"""Planted mistake in sgd_momentum: the velocity is updated in place (velocity *= momentum), which
changes the caller's array."""
# expect: changed its input velocity in place


def sgd_update(param, grad, velocity, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    g = grad + weight_decay * param
    velocity *= momentum
    velocity += g
    step = g + momentum * velocity if nesterov else velocity
    return param - lr * step, velocity
