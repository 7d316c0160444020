"""Classic benchmark datasets with Keras's ``load_data`` signatures and return values.

``mg.datasets.mnist.load_data()`` returns ``(x_train, y_train), (x_test, y_test)`` as NumPy
arrays with the dtypes and shapes Keras gives. Files are read from ``$MINIGRAD_DATA`` (or
``root=``), the cache (``$MINIGRAD_CACHE`` or ``~/.cache/minigrad``), or downloaded, and always
checked against their published checksums (see :mod:`minigrad.datasets.files`).
"""

from . import cifar10, fashion_mnist, imdb, mnist
from .files import DatasetError
from .sequence import pad_sequences

__all__ = ["mnist", "fashion_mnist", "cifar10", "imdb", "pad_sequences", "DatasetError"]
