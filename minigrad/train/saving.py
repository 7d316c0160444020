"""Writing models to minigrad files (the format of :mod:`minigrad.io`), and loading weights
into a model that exists.

A model file holds the arrays ``weights/<name>`` for every entry of ``model.state_dict()`` and
``optimizer/<path>`` for the optimizer's arrays, and the metadata (strings) ``content``
("model" or "weights"), ``architecture`` (JSON:
:meth:`~minigrad.train.Model.get_architecture`), ``compile`` (JSON:
:meth:`~minigrad.train.Model.get_compile_config`) and ``optimizer`` (JSON: its class name and
non-array state). :mod:`minigrad.train.loading` rebuilds models from them.
"""

import json
import os
import warnings
from pathlib import PurePath

from ..io import file_errors, host_array, read_tensor_file, split_arrays, write_tensor_file
from ..io.packed_arrays import unpack_arrays


def weight_arrays(model):
    """``{"weights/<name>": NumPy array}`` for every parameter and buffer of ``model``."""
    return {f"weights/{name}": host_array(t) for name, t in model.state_dict().items()}


def stored_weights(arrays):
    """The ``state_dict``-style part of a file's arrays (the ``weights/`` prefix removed)."""
    return {name[len("weights/"):]: array for name, array in arrays.items()
            if name.startswith("weights/")}


#: The suffix of minigrad's files.
SUFFIX = ".safetensors"
#: Suffixes of other frameworks' formats, as the classic Keras and PyTorch scripts pass them.
FOREIGN_FORMATS = {".h5": "HDF5 (Keras 2's format)", ".hdf5": "HDF5 (Keras 2's format)",
                   ".keras": "a .keras archive (Keras 3's format)",
                   ".pt": "a PyTorch pickle", ".pth": "a PyTorch pickle"}
_warned_suffixes = set()


def warn_about_file_name(path, what):
    """Warn, once per suffix and process, when ``path`` does not end in ``.safetensors``.

    The file is still written under the name given, so that a classic script calling
    ``model.save("model.h5")`` keeps running and ``load_model``, ``minigrad serve`` and
    ``ModelCheckpoint`` read it back (they recognise minigrad files by content); the warning
    says that it holds minigrad's format and which name says so."""
    path = os.fspath(path)
    suffix = PurePath(path).suffix.lower()
    if suffix == SUFFIX or (what, suffix) in _warned_suffixes:
        return
    _warned_suffixes.add((what, suffix))
    better = f"{path[:len(path) - len(suffix)]}{SUFFIX}"
    if suffix in FOREIGN_FORMATS:
        written = (f"wrote minigrad's format (safetensors with a JSON header) to {path!r}, "
                   f"not {FOREIGN_FORMATS[suffix]}: Keras and other tools cannot read it")
    elif suffix:
        written = f"wrote minigrad's format (safetensors with a JSON header) to {path!r}"
    else:
        written = (f"wrote minigrad's format (safetensors with a JSON header) to the file "
                   f"{path!r}, which has no suffix")
    warnings.warn(f"{what}: {written}. minigrad reads it back (load_model, minigrad serve, "
                  f"ModelCheckpoint); name it {better!r} to say what it holds.", UserWarning,
                  stacklevel=4)


def save_weights(model, path):
    """Write ``model.state_dict()`` to ``path`` (safetensors), atomically."""
    write_tensor_file(path, weight_arrays(model), {"content": "weights"})
    warn_about_file_name(path, "save_weights")


def save_model(model, path, include_optimizer=True):
    """Write architecture, weights and (if compiled and ``include_optimizer``) the optimizer's
    state to ``path``, atomically. Raises TypeError for a model that cannot describe its
    architecture (see :meth:`~minigrad.train.Model.get_architecture`)."""
    write_tensor_file(path, *model_file_contents(model, include_optimizer))
    warn_about_file_name(path, "save")


def model_file_contents(model, include_optimizer=True):
    """``(arrays, metadata)`` that :func:`save_model` writes (for writers of variants of the
    file, such as the compact file of a pruned model)."""
    arrays = weight_arrays(model)
    metadata = {"content": "model", "architecture": json.dumps(model.get_architecture())}
    state = model.get_optimizer_state() if include_optimizer else None
    if state is not None:
        metadata["optimizer"] = json.dumps({"class_name": type(model.optimizer).__name__,
                                            "state": split_arrays(state, "optimizer", arrays)})
    compile_config = model.get_compile_config()
    if compile_config is not None:
        metadata["compile"] = json.dumps(compile_config)
    return arrays, metadata


def load_weights(model, path):
    """Load the weights in ``path`` (from save_weights or save) into ``model``."""
    arrays, metadata = read_tensor_file(path)
    arrays = unpack_arrays(arrays, metadata, os.fspath(path))  # a pruned model's compact file
    with file_errors(path, "the weights do not fit this model"):
        model.load_state_dict(stored_weights(arrays))
