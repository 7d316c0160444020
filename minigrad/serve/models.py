"""The models a server answers for: finding saved models on disk, and one loaded model version
with its input/output description and a thread-safe forward pass.

On disk (Triton's model-repository layout, with minigrad files)::

    model.safetensors                       a single model, served as "model"
    mnist/model.safetensors                 a model folder: "mnist", version 1
    mnist/1/model.safetensors               a model folder with numbered versions:
    mnist/2/model.safetensors                 "mnist" versions 1 and 2 (2 is the default)
    repository/                             a repository: every model folder in it, and
        mnist/1/model.safetensors             every model file directly in it (named after
        imdb/model.safetensors                the file)
        cifar.safetensors

A model folder holds one ``.safetensors`` file, or numbered version folders that each hold one.
A file that ``model.save`` wrote under another name (``model.h5``, ``model.keras``, ``model``) is
recognised by its content and counts as a model file too (named after its stem). Only files
inside the path given are read: a link that leads outside it is refused.
"""

import re
from pathlib import Path

import numpy as np

from ..autograd import no_grad
from ..io import peek_metadata
from ..train import batches, load_model
from ..train.saving import SUFFIX
from .errors import ServeError
from .tensors import TensorSpec, datatype_of

#: An ONNX file is a model file too, served through onnxruntime (see onnx_model.py).
ONNX_SUFFIX = ".onnx"


class ServedModel:
    """One version of one model, in evaluation mode, ready for concurrent requests.

    Its one input is called ``"input"`` with shape ``[-1, *build_input_shape]`` (FP32, or
    INT64 for a model that starts with an Embedding); its one output ``"output"``.
    The forward pass writes no state in evaluation mode, so concurrent calls need no lock.
    """

    def __init__(self, name, version, model, path=None):
        self.name = name
        self.version = str(version)
        self.path = path
        self.model = model
        model.eval()
        self._backend, self._float_dtype = model.backend_and_dtype()
        input_dtype = getattr(model, "input_dtype", None) or self._float_dtype
        input_shape = getattr(model, "build_input_shape", None)
        if input_shape is None:
            raise ValueError(f"model {name!r} has not been built: call it on data or give its "
                             "first layer input_shape= before serving it")
        self.input = TensorSpec("input", datatype_of(input_dtype),
                                [-1, *[-1 if d is None else d for d in input_shape]])
        output_shape = self._output_shape(input_shape)
        self.output = TensorSpec("output", datatype_of(self._float_dtype), output_shape)

    def _output_shape(self, input_shape):
        declared = getattr(self.model, "output_shape", None)
        if declared is not None:
            return [-1, *[-1 if d is None else d for d in declared[1:]]]
        probe = np.zeros((1, *input_shape), dtype=self.input.dtype)
        return [-1, *self.predict(probe).shape[1:]]

    def predict(self, rows):
        """The model's output for the NumPy batch ``rows`` (already checked against
        :attr:`input`), as a NumPy array."""
        with no_grad():
            x = batches.to_tensor(rows, self._backend, self._float_dtype)
            return self.model(x).numpy()

    def metadata(self, versions):
        """The protocol's model metadata object."""
        return {"name": self.name, "versions": list(versions), "platform": "minigrad",
                "inputs": [self.input.metadata()], "outputs": [self.output.metadata()]}


def is_version_name(text):
    """Whether ``text`` names a version folder: ASCII digits only (``"3"``, ``"012"``); a
    publisher's temporary folder (``.incoming-3``) never does."""
    return re.fullmatch(r"[0-9]{1,18}", text) is not None


def _is_version(path):
    return is_version_name(path.name) and path.is_dir()


def _is_model_file(path):
    """A ``.safetensors`` file, or a file of another name that ``model.save`` wrote (read
    from its header; hidden files such as a save's temporaries are never taken)."""
    if path.name.startswith(".") or not path.is_file():
        return False
    if path.suffix in (SUFFIX, ONNX_SUFFIX):
        return True
    metadata = peek_metadata(path)
    return metadata is not None and metadata.get("content") == "model"


def _model_file(folder, root):
    """The one model file in ``folder``, or an error naming the folder."""
    files = sorted(p for p in folder.iterdir() if _is_model_file(p))
    if len(files) != 1:
        raise ValueError(f"{folder}: a model folder must hold exactly one model file ({SUFFIX}, "
                         "or another name model.save wrote), "
                         f"found {len(files)}")
    return _inside(files[0], root)


def _inside(path, root):
    """``path``, unless it resolves outside ``root`` (a link leading elsewhere)."""
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        raise ValueError(f"{path}: leads outside {root} (a link?); only files inside the "
                         "served path are read")
    return resolved


def _versions_of(folder, root):
    """``{version: file}`` for a model folder."""
    numbered = sorted((p for p in folder.iterdir() if _is_version(p)), key=lambda p: int(p.name))
    if numbered:
        return {str(int(p.name)): _model_file(p, root) for p in numbered}
    return {"1": _model_file(folder, root)}


def _is_model_folder(folder):
    return any(_is_version(p) for p in folder.iterdir()) or any(
        _is_model_file(p) for p in folder.iterdir())


def find_models(path, name=None):
    """``{model name: {version: file}}`` for a model file, a model folder or a repository
    (see the module docstring). ``name`` renames a single model; a repository keeps its
    folder names."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model file or folder")
    root = path.resolve() if path.is_dir() else path.resolve().parent
    if path.is_file():
        if not _is_model_file(path):
            raise ValueError(f"{path}: not a minigrad model file (expected a file written by "
                             "model.save, usually named *.safetensors)")
        return {name or path.stem: {"1": _inside(path, root)}}
    subfolders = [p for p in sorted(path.iterdir()) if p.is_dir()]
    loose = [p for p in sorted(path.iterdir()) if _is_model_file(p)]
    single = any(_is_version(p) for p in subfolders) or (len(loose) == 1 and not any(
        _is_model_folder(p) for p in subfolders))
    if single:
        return {name or path.resolve().name: _versions_of(path, root)}
    if name is not None:
        raise ValueError(f"{path} is a repository of several models; --name renames a single "
                         "model only")
    models = {p.stem: {"1": _inside(p, root)} for p in loose}
    for folder in subfolders:
        if _is_model_folder(folder):
            if folder.name in models:
                raise ValueError(f"{path}: two models named {folder.name!r}")
            models[folder.name] = _versions_of(folder, root)
    if not models:
        raise ValueError(f"{path}: no models found; expected {SUFFIX} files or model folders "
                         "(see `minigrad serve --help`)")
    return models


class ModelSet:
    """Every served model version, by name; the highest version answers when a request names
    none.

    The set can change while it serves (a model repository swapping versions in): a change
    builds a new table and replaces the old one in a single assignment (read-copy-update), so
    a request reads one consistent table without taking a lock, and one that already holds a
    version keeps it to its end. Changes are made one at a time by their caller.
    """

    def __init__(self, served=()):
        models = {}
        for model in served:
            models.setdefault(model.name, {})[model.version] = model
        self._models = models

    @property
    def names(self):
        """The model names, sorted."""
        return sorted(self._models)

    def versions(self, name):
        """The versions of model ``name``, in numeric order (empty for an unknown name)."""
        versions = self._models.get(name, {})
        return sorted(versions, key=int)

    def table(self, name):
        """``{version: model}`` of model ``name`` as served now (empty when not served)."""
        return dict(self._models.get(name, {}))

    def get(self, name, version=None):
        """The model ``name`` at ``version`` (default: the highest), or a 404."""
        models = self._models  # one table for the whole lookup, whatever changes meanwhile
        versions = models.get(name)
        if versions is None:
            raise ServeError(404, f"unknown model {name!r}; this server has "
                                  f"{', '.join(map(repr, sorted(models))) or 'no models'}")
        if version is None:
            return versions[max(versions, key=int)]
        if version not in versions:
            raise ServeError(404, f"model {name!r} has no version {version!r}; it has "
                                  f"{', '.join(sorted(versions, key=int))}")
        return versions[version]

    def replace(self, name, versions):
        """Serve exactly ``versions`` (``{version: model}``; empty: none) of model ``name``
        from now on, in one step."""
        models = dict(self._models)
        if versions:
            models[name] = dict(versions)
        else:
            models.pop(name, None)
        self._models = models

    def __iter__(self):
        models = self._models
        for name in sorted(models):
            for version in sorted(models[name], key=int):
                yield models[name][version]


def load_models(source, name=None):
    """ServedModels from ``source``: a path (see :func:`find_models`), an in-memory model
    (served as ``name`` or its own name), or a dict ``{name: model or path}``."""
    if isinstance(source, dict):
        served = []
        for key, value in source.items():
            served.extend(load_models(value, name=key))
        return served
    if hasattr(source, "forward"):  # a model object
        return [ServedModel(name or source.name, "1", source)]
    served = []
    for model_name, versions in find_models(source, name).items():
        for version, file in versions.items():
            served.append(load_served(model_name, version, file))
    return served


def load_served(name, version, file):
    """The :class:`ServedModel` of one model file (the one place a file on disk becomes a
    served model: at start and when a repository loads a new version)."""
    if Path(file).suffix == ONNX_SUFFIX:  # run by onnxruntime, imported only for such a file
        from .onnx_model import OnnxServedModel
        return OnnxServedModel(name, version, file)
    return ServedModel(name, version, load_model(file, compile=False), path=file)
