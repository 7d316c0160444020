"""Saving and loading models: architecture (JSON) + weights + optimizer state in one
safetensors file, written atomically, loaded without executing anything from the file."""

from .atomic import atomic_write_bytes
from .model_file import ModelFileError, load_model, load_weights, save_model, save_weights

__all__ = ["save_model", "load_model", "save_weights", "load_weights", "atomic_write_bytes",
           "ModelFileError"]
