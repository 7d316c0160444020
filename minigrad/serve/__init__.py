"""Serving saved models over HTTP: a WSGI app speaking the Open Inference Protocol (the KServe
v2 REST API of Triton and KServe), run by ``minigrad serve PATH`` on waitress.

Needs the serving extra: ``pip install -e ".[serve]"`` in minigrad's clone (waitress,
prometheus_client).
"""

from .app import DEFAULT_MAX_BODY_BYTES, InferenceApp, create_app
from .batching import DynamicBatcher
from .errors import ServeError
from .models import ModelSet, ServedModel, find_models, load_models
from .repository import ModelRepository, publish_version
from .server import serve
from .tensors import DATATYPES, TensorSpec

__all__ = ["create_app", "InferenceApp", "serve", "ServedModel", "ModelSet", "find_models",
           "load_models", "DynamicBatcher", "ServeError", "TensorSpec", "DATATYPES",
           "DEFAULT_MAX_BODY_BYTES", "ModelRepository", "publish_version"]
