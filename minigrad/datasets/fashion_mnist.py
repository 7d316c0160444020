"""Fashion-MNIST (Zalando): 28x28 grey images of 10 kinds of clothing, in MNIST's IDX format."""

from .idx import load_idx_dataset

MIRRORS = ["https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
           "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]

#: The four files and their published md5 sums (the ones torchvision checks).
FILES = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}

#: The class names, by label.
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


def load_data(root=None, download=True):
    """Fashion-MNIST, as Keras's ``fashion_mnist.load_data()`` returns it.

    Returns ``(x_train, y_train), (x_test, y_test)``: uint8 images ``(60000, 28, 28)`` and
    ``(10000, 28, 28)``, uint8 labels 0..9 (see :data:`CLASS_NAMES`). The files are read from
    ``<root>/fashion_mnist/`` (``root`` defaults to ``$MINIGRAD_DATA``), the cache, or
    downloaded; each is checked against its published md5.
    ``download=False`` (or the environment variable ``MINIGRAD_OFFLINE=1``) never downloads:
    a missing file is a FileNotFoundError saying which files to put where.
    """
    files = {name: ([m + name for m in MIRRORS], md5, None) for name, md5 in FILES.items()}
    return load_idx_dataset("fashion_mnist", files, root, "Fashion-MNIST",
                            download=download)
