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

from ..io import file_errors, host_array, read_tensor_file, split_arrays, write_tensor_file


def weight_arrays(model):
    """``{"weights/<name>": NumPy array}`` for every parameter and buffer of ``model``."""
    return {f"weights/{name}": host_array(t) for name, t in model.state_dict().items()}


def stored_weights(arrays):
    """The ``state_dict``-style part of a file's arrays (the ``weights/`` prefix removed)."""
    return {name[len("weights/"):]: array for name, array in arrays.items()
            if name.startswith("weights/")}


def save_weights(model, path):
    """Write ``model.state_dict()`` to ``path`` (safetensors), atomically."""
    write_tensor_file(path, weight_arrays(model), {"content": "weights"})


def save_model(model, path, include_optimizer=True):
    """Write architecture, weights and (if compiled and ``include_optimizer``) the optimizer's
    state to ``path``, atomically. Raises TypeError for a model that cannot describe its
    architecture (see :meth:`~minigrad.train.Model.get_architecture`)."""
    arrays = weight_arrays(model)
    metadata = {"content": "model", "architecture": json.dumps(model.get_architecture())}
    state = model.get_optimizer_state() if include_optimizer else None
    if state is not None:
        metadata["optimizer"] = json.dumps({"class_name": type(model.optimizer).__name__,
                                            "state": split_arrays(state, "optimizer", arrays)})
    compile_config = model.get_compile_config()
    if compile_config is not None:
        metadata["compile"] = json.dumps(compile_config)
    write_tensor_file(path, arrays, metadata)


def load_weights(model, path):
    """Load the weights in ``path`` (from save_weights or save) into ``model``."""
    arrays, _ = read_tensor_file(path)
    with file_errors(path, "the weights do not fit this model"):
        model.load_state_dict(stored_weights(arrays))
