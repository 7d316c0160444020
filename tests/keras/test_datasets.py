"""``keras.datasets.*.load_data`` are minigrad's loaders: Keras's shapes and dtypes where the
files are present ($MINIGRAD_DATA), and a clear skip where they are not (tests never download)."""

import numpy as np
import pytest

from minigrad import keras

SHAPES = {"mnist": ((60000, 28, 28), (10000, 28, 28), ()),
          "fashion_mnist": ((60000, 28, 28), (10000, 28, 28), ())}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_image_datasets_have_keras_shapes_and_dtypes(name, data_root):
    try:
        (x, y), (xt, yt) = getattr(keras.datasets, name).load_data(root=data_root,
                                                                   download=False)
    except OSError as error:  # DatasetError, or FileNotFoundError for no local copy
        pytest.skip(f"{name} files are not in {data_root}: {error}")
    assert x.shape == SHAPES[name][0] and xt.shape == SHAPES[name][1]
    assert x.dtype == np.uint8 and y.dtype == np.uint8 and set(np.unique(y)) == set(range(10))


def test_fashion_mnist_names_its_download_address_when_absent(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIGRAD_CACHE", str(tmp_path / "cache"))
    with pytest.raises(OSError, match="Fashion-MNIST: no local copy, and downloads are off"):
        keras.datasets.fashion_mnist.load_data(root=tmp_path, download=False)
