"""MNIST handwritten digits (LeCun et al.), from the original IDX gz files."""

from .idx import load_idx_dataset

MIRRORS = ["https://storage.googleapis.com/cvdf-datasets/mnist/",
           "https://ossci-datasets.s3.amazonaws.com/mnist/",
           "http://yann.lecun.com/exdb/mnist/"]

#: The four files and their published md5 sums (the ones torchvision and TensorFlow check).
FILES = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}


def load_data(root=None, download=True):
    """The MNIST digits, as Keras's ``mnist.load_data()`` returns them.

    Returns ``(x_train, y_train), (x_test, y_test)``: ``x`` uint8 arrays of shape
    ``(60000, 28, 28)`` and ``(10000, 28, 28)`` (pixels 0..255), ``y`` uint8 arrays of shape
    ``(60000,)`` and ``(10000,)`` (digits 0..9).

    The files are read from ``<root>/mnist/`` (``root`` defaults to ``$MINIGRAD_DATA``), the
    cache, or downloaded; each is checked against its published md5.
    ``download=False`` (or the environment variable ``MINIGRAD_OFFLINE=1``) never downloads:
    a missing file is a FileNotFoundError saying which files to put where.

    Example::

        (x_train, y_train), (x_test, y_test) = mg.datasets.mnist.load_data()
        x_train = x_train.reshape(60000, 784).astype("float32") / 255
    """
    files = {name: ([m + name for m in MIRRORS], md5, None) for name, md5 in FILES.items()}
    return load_idx_dataset("mnist", files, root, "MNIST", download=download)
