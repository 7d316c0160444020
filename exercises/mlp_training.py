"""Exercise 5: train an MLP with your own loop, no ``mg.nn``, no optimizer, no ``fit``.

The data: the 8x8 handwritten digits that scikit-learn ships inside its package (1797 images,
64 pixels each with values 0 to 16, labels 0 to 9; no download). You build every piece of
training yourself from minigrad tensors and ops, each piece a small function graded on its own:

1. ``load_data(seed=0)``: ``sklearn.datasets.load_digits()``; pixels scaled to ``[0, 1]``
   (divide by 16) as **float32**, labels as int64; split with
   ``sklearn.model_selection.train_test_split(x, y, test_size=0.25, random_state=seed,
   stratify=y)`` into ``(x_train, y_train), (x_test, y_test)``: 1347 and 450 samples.
2. ``init_params(sizes, seed=0)``: for layer sizes such as ``(64, 128, 10)`` a flat list
   ``[W1, b1, W2, b2, ...]`` of float32 tensors with ``requires_grad=True``: ``W`` of shape
   ``(fan_in, fan_out)`` drawn from a normal distribution with standard deviation
   ``sqrt(2 / fan_in)`` (He initialization: ReLU layers keep the scale of their inputs; plain
   ``randn`` is far too large), every ``b`` of shape ``(fan_out,)`` zero. Use
   ``np.random.default_rng(seed)`` so that the same seed gives the same weights.
3. ``forward(params, x)``: the logits ``(N, 10)``: ``h = relu(h @ W + b)`` for every layer but
   the last, which has no ReLU (logits may be negative). ``x`` is a NumPy array or a tensor.
   Use minigrad ops on the tensors (``@``, ``+``, ``mg.relu``), never ``.numpy()`` in the
   middle, or backward cannot reach the weights.
4. ``loss_fn(logits, labels)``: the mean softmax cross-entropy, a 0-d tensor. Your exercise 4
   does it; minigrad's ``mg.sparse_categorical_crossentropy(labels, logits,
   from_logits=True)`` (labels first, Keras's order) does too.
5. ``sgd_step(params, velocities, lr=0.1, momentum=0.9)``: after ``loss.backward()`` every
   ``p.grad`` holds d(loss)/d(p). Update in place, with PyTorch's momentum (``velocities`` is a
   list of NumPy arrays, zeros at first, one per parameter, that you update in place too)::

       v = momentum * v + p.grad          p.data -= lr * v

   and then clear the gradient (``p.grad = None``): backward *adds* into ``.grad``, so a
   gradient that is not cleared leaks into the next step. Keep ``p.data`` float32.
6. ``minibatches(n, batch_size, rng)``: the index arrays of one epoch: a fresh random
   permutation of ``range(n)`` (``rng.permutation(n)``, ``rng`` a ``np.random.Generator``) cut
   into batches of ``batch_size``; the last batch holds what is left (no sample dropped).
7. ``accuracy(params, x, y)``: the fraction (a float in [0, 1]) of samples whose largest logit
   is their label (compute it under ``with mg.no_grad():``).
8. ``train(x, y, ..., seed=0)``: everything together: init, then for each epoch, for each
   mini-batch: forward, loss, backward, ``sgd_step``. Return the parameters. Choose the
   defaults yourself (the reference: one hidden layer of 128, 20 epochs, batches of 32,
   lr 0.1, momentum 0.9 -- 97-98% test accuracy in a fraction of a second).

The grader trains with ``train(x_train, y_train, seed=0)`` on its own split (seed 0, as above)
and wants **at least 95% test accuracy within 10 seconds**. It also checks each piece: shapes,
dtypes, the scale of the initial weights, ``forward`` against a NumPy MLP, ``sgd_step`` against
``mg.optim.SGD``, that one step lowers the loss, and that mini-batches cover every sample once.

The same loop trains on MNIST (``mg.datasets.mnist.load_data()``, downloaded once; flatten the
28x28 images to 784 and divide by 255). Grade it with::

    python -m exercises check 5
    pytest exercises/test_mlp_training.py
"""

import numpy as np  # noqa: F401  (you will need it)

import minigrad as mg  # noqa: F401


def load_data(seed=0):
    """The digits: ``(x_train, y_train), (x_test, y_test)``, x float32 in [0, 1], y int64."""
    raise NotImplementedError("exercise: load_digits(), divide by 16, float32, "
                              "train_test_split(test_size=0.25, random_state=seed, stratify=y)")


def init_params(sizes, seed=0):
    """``[W1, b1, W2, b2, ...]``: float32 tensors with requires_grad, He-initialized W."""
    raise NotImplementedError("exercise: W ~ normal * sqrt(2 / fan_in), b = 0, "
                              "requires_grad=True")


def forward(params, x):
    """The logits (N, classes) of ``x`` (N, features): ReLU between layers, none at the end."""
    raise NotImplementedError("exercise: h = relu(h @ W + b), but no relu after the last layer")


def loss_fn(logits, labels):
    """The mean softmax cross-entropy of ``logits`` against integer ``labels``: a 0-d tensor."""
    raise NotImplementedError("exercise: your exercise 4, or mg.sparse_categorical_crossentropy")


def sgd_step(params, velocities, lr=0.1, momentum=0.9):
    """One SGD-with-momentum update of every ``p.data`` in place, then clear every ``p.grad``."""
    raise NotImplementedError("exercise: v = momentum * v + grad; p.data -= lr * v; "
                              "p.grad = None")


def minibatches(n, batch_size, rng):
    """The shuffled index arrays of one epoch over ``n`` samples."""
    raise NotImplementedError("exercise: cut rng.permutation(n) into batches")


def accuracy(params, x, y):
    """The fraction of ``x``'s samples that ``forward`` classifies as ``y``."""
    raise NotImplementedError("exercise: argmax of the logits == y, averaged")


def train(x, y, hidden=(128,), epochs=20, batch_size=32, lr=0.1, momentum=0.9, seed=0):
    """Train an MLP on ``x`` (N, features) float32 and ``y`` (N,) int; return its parameters."""
    raise NotImplementedError("exercise: init, then epochs of mini-batches: forward, loss, "
                              "backward, sgd_step")
