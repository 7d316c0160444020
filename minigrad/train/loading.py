"""Rebuilding a saved model: ``mg.load_model(path)``.

Nothing in the file is executed: the architecture is JSON, and layers are made only from the
classes that :mod:`minigrad.nn` exports (``minigrad.nn.serialization.deserialize``).
"""

import json
import os

from ..io import ModelFileError, join_arrays, read_tensor_file
from ..nn.serialization import deserialize
from . import functional
from .saving import stored_weights
from .sequential import Sequential


def load_model(path, compile=True):
    """The model saved in ``path`` by ``model.save`` — architecture, weights and, if it was
    compiled, its optimizer state and compile settings — on the CPU (move it with ``.to``)."""
    arrays, metadata = read_tensor_file(path)
    path = os.fspath(path)
    if metadata.get("content") != "model":
        raise ModelFileError(f"{path}: holds only weights (save_weights); build the model in "
                             "code and call model.load_weights(path)")
    try:
        architecture = json.loads(metadata["architecture"])
        config = architecture["config"]
        if architecture.get("class_name") == "Functional":  # keras.Model(inputs, outputs)
            model = functional.from_architecture(architecture)
        else:
            model = Sequential([deserialize(spec) for spec in config["layers"]],
                               name=config.get("name"))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: the architecture cannot be rebuilt: {exc}") from None
    if not model.built:
        model.build((None, *architecture["build_input_shape"]))
    try:
        model.load_state_dict(stored_weights(arrays))
    except (KeyError, ValueError) as exc:
        raise ModelFileError(f"{path}: the weights do not fit the architecture: {exc}") from None
    if compile and "compile" in metadata:
        model.compile(**json.loads(metadata["compile"]))
        if "optimizer" in metadata:
            _restore_optimizer(model, json.loads(metadata["optimizer"]), arrays, path)
    return model


def _restore_optimizer(model, saved, arrays, path):
    optimizer = model.build_optimizer()
    if type(optimizer).__name__ != saved["class_name"]:
        raise ModelFileError(f"{path}: saved with optimizer {saved['class_name']}, compiled "
                             f"with {type(optimizer).__name__}")
    try:
        model.set_optimizer_state(join_arrays(saved["state"], arrays))
    except (KeyError, ValueError) as exc:
        raise ModelFileError(f"{path}: the optimizer state does not fit: {exc}") from None
