"""Planted mistake in sgd_momentum: the weight decay is added to the step after the velocity instead
of to the gradient before it."""
# expect: weight_decay=0.01\): the velocity differs


def sgd_update(param, grad, velocity, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    g = grad
    velocity = momentum * velocity + g
    step = g + momentum * velocity if nesterov else velocity
    return param - lr * (step + weight_decay * param), velocity
