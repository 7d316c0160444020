"""Planted mistake in sgd_momentum: Nesterov looks ahead with the velocity of the previous step
instead of the updated one."""
# expect: nesterov=True, weight_decay=0.0\): param differs


def sgd_update(param, grad, velocity, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    g = grad + weight_decay * param
    step = g + momentum * velocity if nesterov else momentum * velocity + g
    velocity = momentum * velocity + g
    return param - lr * step, velocity
