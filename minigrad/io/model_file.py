"""The minigrad model file: one safetensors file.

Tensors: ``weights/<name>`` for every parameter and buffer of ``model.state_dict()``, and
``optimizer/<path>`` for the optimizer's arrays. Metadata (strings): ``format`` ("minigrad"),
``format_version``, ``architecture`` (JSON: the model's class and config), ``optimizer``
(JSON: its class, config and non-array state), and ``sha256``, a checksum of every tensor that
detects corrupted or tampered data. Nothing in the file is executed: layers are rebuilt only
from the classes :mod:`minigrad.nn` exports.
"""

import hashlib
import json
import os
import struct

import numpy as np

from .atomic import atomic_write_bytes

FORMAT = "minigrad"
FORMAT_VERSION = "1"


class ModelFileError(ValueError):
    """A model file that cannot be loaded: not a minigrad file, truncated, corrupt, or made for
    another architecture. The message names the file and the problem."""


# --- writing ------------------------------------------------------------------------------------
def save_weights(model, path):
    """Write ``model.state_dict()`` to ``path`` (safetensors), atomically."""
    tensors = {f"weights/{name}": _host(t) for name, t in model.state_dict().items()}
    _write(path, tensors, {"content": "weights"})


def save_model(model, path, include_optimizer=True):
    """Write architecture, weights and (if compiled and ``include_optimizer``) the optimizer's
    state to ``path``, atomically."""
    architecture = _architecture(model)
    tensors = {f"weights/{name}": _host(t) for name, t in model.state_dict().items()}
    metadata = {"content": "model", "architecture": json.dumps(architecture)}
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and getattr(model, "_optimizer_ready", False):
        state = _flatten(optimizer.state_dict(), "optimizer", tensors)
        metadata["optimizer"] = json.dumps({"class_name": type(optimizer).__name__,
                                            "state": state})
    compile_config = getattr(model, "_compile_config", None)
    if compile_config is not None:
        metadata["compile"] = json.dumps(compile_config)
    _write(path, tensors, metadata)


def _architecture(model):
    from ..train.sequential import Sequential

    if type(model) is not Sequential:
        raise TypeError(f"save() stores the architecture of Sequential models built from "
                        f"minigrad.nn layers; for a {type(model).__name__} use save_weights() "
                        "and rebuild the model in code")
    if not model.built:
        raise ValueError("save(): the model has no weights yet; call it on data (or fit it) "
                         "first, or give the first layer input_shape=")
    return {"class_name": "Sequential", "config": model.get_config(),
            "build_input_shape": list(model.build_input_shape)}


def _write(path, tensors, metadata):
    from safetensors.numpy import save

    metadata = dict(metadata, format=FORMAT, format_version=FORMAT_VERSION,
                    sha256=_checksum(tensors))
    atomic_write_bytes(path, save(tensors, metadata=metadata))


def _host(tensor):
    array = tensor._backend.to_numpy(tensor.data)
    return np.ascontiguousarray(array)


def _flatten(value, prefix, tensors):
    """JSON for ``value`` with every array moved into ``tensors`` (replaced by a reference)."""
    if isinstance(value, dict):
        return {str(k): _flatten(v, f"{prefix}/{k}", tensors) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_flatten(v, f"{prefix}/{i}", tensors) for i, v in enumerate(value)]
    if hasattr(value, "_backend") and hasattr(value, "data"):  # a Tensor
        value = value._backend.to_numpy(value.data)
    if hasattr(value, "__cuda_array_interface__") and hasattr(value, "get"):
        value = value.get()
    if isinstance(value, np.ndarray):
        tensors[prefix] = np.ascontiguousarray(value)
        return {"__tensor__": prefix}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _checksum(tensors):
    digest = hashlib.sha256()
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


# --- reading ------------------------------------------------------------------------------------
def _read(path):
    """(tensors, metadata) of a minigrad file, verified; ModelFileError names what is wrong."""
    from safetensors.numpy import load

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no model file at {path!r}")
    with open(path, "rb") as file:
        data = file.read()
    if len(data) < 8:
        raise ModelFileError(f"{path}: not a minigrad model file (only {len(data)} bytes)")
    (header_size,) = struct.unpack("<Q", data[:8])
    if header_size > len(data) - 8:
        raise ModelFileError(f"{path}: truncated or not a safetensors file (the header claims "
                             f"{header_size} bytes, the file has {len(data) - 8})")
    try:
        header = json.loads(data[8:8 + header_size])
        metadata = header.get("__metadata__") or {}
    except (ValueError, AttributeError):
        raise ModelFileError(f"{path}: not a minigrad model file (unreadable header)") from None
    if metadata.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a minigrad model file (no minigrad format marker)")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{path}: format version {metadata.get('format_version')!r} is not "
                             f"supported by this minigrad (it reads {FORMAT_VERSION})")
    try:
        tensors = load(data)
    except Exception as exc:  # safetensors' own error type
        raise ModelFileError(f"{path}: truncated or corrupt ({exc})") from None
    if _checksum(tensors) != metadata.get("sha256"):
        raise ModelFileError(f"{path}: corrupt — its data does not match the checksum written "
                             "when it was saved")
    return tensors, metadata


def _weights(tensors):
    return {name[len("weights/"):]: array for name, array in tensors.items()
            if name.startswith("weights/")}


def load_weights(model, path):
    """Load the weights in ``path`` (from save_weights or save) into ``model``."""
    tensors, _ = _read(path)
    try:
        model.load_state_dict(_weights(tensors))
    except (KeyError, ValueError) as exc:
        raise ModelFileError(f"{os.fspath(path)}: the weights do not fit this model: "
                             f"{exc.args[0] if exc.args else exc}") from None


def load_model(path, compile=True):
    """The model saved in ``path`` by ``model.save`` — architecture, weights and, if it was
    compiled, its optimizer state and compile settings — on the CPU (move it with ``.to``)."""
    from ..nn.module import build_under_no_grad
    from ..nn.serialization import deserialize
    from ..train.sequential import Sequential

    tensors, metadata = _read(path)
    path = os.fspath(path)
    if metadata.get("content") != "model":
        raise ModelFileError(f"{path}: holds only weights (save_weights); build the model in "
                             "code and call model.load_weights(path)")
    try:
        architecture = json.loads(metadata["architecture"])
        config = architecture["config"]
        layers = [deserialize(spec) for spec in config["layers"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: the architecture cannot be rebuilt: {exc}") from None
    model = Sequential(layers, name=config.get("name"))
    if not model.built:
        build_under_no_grad(model, tuple(architecture["build_input_shape"]))
    try:
        model.load_state_dict(_weights(tensors))
    except (KeyError, ValueError) as exc:
        raise ModelFileError(f"{path}: the weights do not fit the architecture: {exc}") from None
    if compile and "compile" in metadata:
        settings = json.loads(metadata["compile"])
        model.compile(**settings)
        if "optimizer" in metadata:
            optimizer = json.loads(metadata["optimizer"])
            _restore_optimizer(model, optimizer, tensors, path)
    return model


def _unflatten(value, tensors):
    if isinstance(value, dict):
        if set(value) == {"__tensor__"}:
            return tensors[value["__tensor__"]]
        return {k: _unflatten(v, tensors) for k, v in value.items()}
    if isinstance(value, list):
        return [_unflatten(v, tensors) for v in value]
    return value


def _restore_optimizer(model, optimizer, tensors, path):
    model._prepare_optimizer()
    if type(model.optimizer).__name__ != optimizer["class_name"]:
        raise ModelFileError(f"{path}: saved with optimizer {optimizer['class_name']}, compiled "
                             f"with {type(model.optimizer).__name__}")
    try:
        model.optimizer.load_state_dict(_unflatten(optimizer["state"], tensors))
    except (KeyError, ValueError) as exc:
        raise ModelFileError(f"{path}: the optimizer state does not fit: {exc}") from None
