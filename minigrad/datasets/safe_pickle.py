"""A restricted unpickler for the data-only pickles of CIFAR-10 and of Keras's ``imdb.npz``.

A pickle can name any importable callable and call it (``os.system`` included), so a tampered
file loaded with ``pickle.load`` runs code. These files only ever hold NumPy arrays, dtypes,
lists, dicts, bytes, str and numbers; :func:`safe_loads` admits exactly the globals that
rebuild an array or a dtype and refuses every other one, naming the file.
"""

import io
import pickle

import numpy as np

from .files import DatasetError

__all__ = ["safe_loads", "ALLOWED_GLOBALS"]

#: Every global that a data pickle may name, and nothing else. NumPy's array reconstruction
#: (``_reconstruct``, and ``_frombuffer`` for protocol 5, under their NumPy 1 and NumPy 2
#: module names), the ndarray and dtype classes, and ``_codecs.encode`` (how Python 3 pickles
#: bytes under protocol 2).
ALLOWED_GLOBALS = frozenset({
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
})


def _resolve(module, name):
    if (module, name) in (("numpy.core.multiarray", "_reconstruct"),
                          ("numpy._core.multiarray", "_reconstruct")):
        try:
            from numpy._core.multiarray import _reconstruct
        except ImportError:  # NumPy 1
            from numpy.core.multiarray import _reconstruct
        return _reconstruct
    if name == "_frombuffer":  # how protocol 5 stores an array's data
        try:
            from numpy._core.numeric import _frombuffer
        except ImportError:  # NumPy 1
            from numpy.core.numeric import _frombuffer
        return _frombuffer
    if (module, name) == ("_codecs", "encode"):
        import codecs
        return codecs.encode
    return {"ndarray": np.ndarray, "dtype": np.dtype}[name]


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, what, **kwargs):
        super().__init__(file, **kwargs)
        self.what = what

    def find_class(self, module, name):
        if (module, name) not in ALLOWED_GLOBALS:
            raise DatasetError(f"{self.what} is not a plain data pickle: it asks for "
                               f"{module}.{name}, which a dataset file never needs; refusing "
                               "to load it (the file is tampered with or not the dataset)")
        return _resolve(module, name)

    def persistent_load(self, pid):
        raise DatasetError(f"{self.what} uses persistent ids, which a data pickle never has")


def safe_loads(data, what, encoding="bytes"):
    """Unpickle ``data`` (bytes) admitting only :data:`ALLOWED_GLOBALS`. ``what`` names the
    file in errors; ``encoding`` is how Python 2 str objects are read (``"bytes"`` as Keras,
    ``"latin1"`` for str). A truncated or malformed pickle raises
    :class:`~minigrad.datasets.DatasetError`."""
    try:
        return _Unpickler(io.BytesIO(data), what, encoding=encoding).load()
    except DatasetError:
        raise
    except Exception as error:  # UnpicklingError, EOFError, TypeError from bad arguments, ...
        raise DatasetError(f"{what} is not a valid data pickle ({type(error).__name__}: "
                           f"{error})") from error
