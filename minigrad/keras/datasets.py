"""``keras.datasets``: ``mnist``, ``fashion_mnist``, ``cifar10`` and ``imdb``, each with Keras's
``load_data()`` (minigrad's loaders, :mod:`minigrad.datasets`)."""

from ..datasets import cifar10, fashion_mnist, imdb, mnist

__all__ = ["cifar10", "fashion_mnist", "imdb", "mnist"]
