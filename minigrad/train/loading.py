"""Rebuilding a saved model: ``mg.load_model(path)``.

Nothing in the file is executed: the architecture is JSON, and layers are made only from the
classes that :mod:`minigrad.nn` exports (``minigrad.nn.serialization.deserialize``).
"""

import json
import os

from ..io import ModelFileError, file_errors, join_arrays, read_tensor_file
from ..io.packed_arrays import unpack_arrays
from ..nn import init
from ..nn.serialization import deserialize
from . import functional
from .saving import stored_weights
from .sequential import Sequential


def load_model(path, compile=True):
    """The model saved in ``path`` by ``model.save`` — architecture, weights and, if it was
    compiled, its optimizer state and compile settings — on the CPU (move it with ``.to``).

    Every problem with the file is a :class:`~minigrad.io.ModelFileError` naming the file and
    the problem. The model is built under :func:`minigrad.nn.init.allocation_budget`: a weight
    that the file does not store, or a build input larger than
    :data:`~minigrad.nn.init.MAX_BUILD_INPUT_ELEMENTS`, is refused before it is allocated."""
    arrays, metadata = read_tensor_file(path)
    path = os.fspath(path)
    arrays = unpack_arrays(arrays, metadata, path)  # a pruned model's compact weights
    if metadata.get("content") != "model":
        raise ModelFileError(f"{path}: holds only weights (save_weights); build the model in "
                             "code and call model.load_weights(path)")
    weights = stored_weights(arrays)
    with file_errors(path, "the architecture cannot be rebuilt"), \
            init.allocation_budget(array.shape for array in weights.values()):
        model = model_from_architecture(_json(metadata, "architecture"))
    with file_errors(path, "the weights do not fit the architecture"):
        model.load_state_dict(weights)
    if compile and "compile" in metadata:
        with file_errors(path, "the compile settings cannot be restored"):
            model.compile(**_json(metadata, "compile"))
        if "optimizer" in metadata:
            with file_errors(path, "the optimizer state does not fit"):
                _restore_optimizer(model, _json(metadata, "optimizer"), arrays, path)
    return model


def model_from_architecture(architecture):
    """A new, built model (fresh weights) from what ``model.get_architecture()`` returned:
    what ``load_model`` fills with the file's weights, and what :func:`minigrad.export.quantize`
    rebuilds with quantized layers."""
    config = architecture["config"]
    if architecture.get("class_name") == "Functional":  # keras.Model(inputs, outputs)
        model = functional.from_architecture(architecture)
    else:
        model = Sequential([deserialize(spec) for spec in config["layers"]],
                           name=config.get("name"))
    if not model.built:
        shape = [None, *architecture["build_input_shape"]]
        init.check_input_shape(shape, "build_input_shape")
        model.build(shape)
    return model


def _json(metadata, key):
    """The JSON object stored as metadata ``key`` (a dict, or an error saying what it is)."""
    value = json.loads(metadata[key])
    if not isinstance(value, dict):
        raise TypeError(f"{key} is a JSON {type(value).__name__}, expected an object")
    return value


def _restore_optimizer(model, saved, arrays, path):
    optimizer = model.build_optimizer()
    if type(optimizer).__name__ != saved["class_name"]:
        raise ModelFileError(f"{path}: saved with optimizer {saved['class_name']!r}, compiled "
                             f"with {type(optimizer).__name__}")
    model.set_optimizer_state(join_arrays(saved["state"], arrays))
