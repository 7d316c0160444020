"""Exercise 10, part 1: stochastic gradient descent with momentum, Nesterov momentum and weight
decay.

Plain SGD steps against the gradient, ``param = param - lr * grad``. Momentum keeps a running
``velocity`` per parameter, a sum of the past gradients that decays by ``momentum`` (0.9 is
usual) at every step, and steps along it: a ball rolling downhill, which keeps its speed along a
long shallow valley and averages out the zig-zag across it. The update, as PyTorch's
``torch.optim.SGD`` and minigrad's ``mg.optim.SGD`` write it (with no dampening)::

    g = grad + weight_decay * param              # weight decay: an L2 penalty's gradient
    velocity = momentum * velocity + g           # velocity starts at zero
    step = g + momentum * velocity   (nesterov)  # look ahead along the new velocity
    step = velocity                  (otherwise)
    param = param - lr * step

Note that ``velocity`` is a plain sum, not an average: there is no ``(1 - momentum)`` in front
of ``g`` (that is Adam's ``m``, part 2). With ``momentum = 0`` this is plain SGD. Weight decay
is added to the gradient *before* it enters the velocity.

Implement ``sgd_update`` on NumPy arrays (any shape; float32 in gives float32 out) and return
new arrays: do not modify the inputs (``velocity *= momentum`` would change the caller's array).

Grade it with::

    python -m exercises check 10
    pytest exercises/test_sgd_momentum.py

minigrad's own version is ``minigrad/optim/sgd.py`` (the arithmetic is in ``sgd_step`` in
``minigrad/backends/xp_kernels.py``); read it after you are done.
"""

import numpy as np  # noqa: F401  (you may need it)


def sgd_update(param, grad, velocity, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    """One SGD step; returns ``(param, velocity)``, the new values (new arrays).

    Args:
        param: the parameter's values, an array.
        grad: the loss's gradient with respect to ``param``, of the same shape.
        velocity: the momentum buffer from the previous step (zeros before the first step).
        lr: the learning rate.
        momentum: the decay of the velocity, in [0, 1); 0 is plain SGD.
        nesterov: use Nesterov momentum (step along ``g + momentum * velocity``).
        weight_decay: the L2 penalty's factor, added to the gradient as
            ``weight_decay * param``.
    """
    raise NotImplementedError("exercise: add the weight decay to the gradient, update the "
                              "velocity, then step param along it")
