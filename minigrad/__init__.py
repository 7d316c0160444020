"""minigrad: a readable deep learning library built from scratch.

>>> import minigrad as mg
>>> x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = (x ** 2).sum()
>>> y.backward()
>>> x.grad
tensor([2., 4., 6.])
"""

from . import dtypes
from .autograd import (Function, Tensor, enable_grad, is_grad_enabled, no_grad,
                       set_grad_enabled)
from .backends import manual_seed
from .backends.cpu_threads import get_num_threads, set_num_threads
from .creation import (arange, eye, from_dlpack, from_numpy, full, full_like, linspace, ones,
                       ones_like, rand, rand_like, randn, randn_like, tensor, zeros, zeros_like)
from .dtypes import (bool_, float16, float32, float64, int8, int16, int32, int64, uint8)
from . import functional
from .functional import *  # noqa: F401,F403  (mg.exp, mg.matmul, ... as in NumPy/PyTorch)
from . import optim
from . import autograd, cuda, io, nn, testing, train
from .train import Model, Sequential, load_model
from . import viz
from . import data, datasets

# Model files were saved and loaded through mg.io before the model half moved next to Model
# (minigrad.train.saving); io stays free of train, so the package root puts the names there.
io.load_model, io.save_model = train.load_model, train.save_model
io.save_weights, io.load_weights = train.save_weights, train.load_weights

__version__ = "0.1.0"


def __getattr__(name):
    # mg.serve imports waitress and prometheus_client (the serving extra): only on first use.
    # keras: the Keras-layout namespace, made on first use; export: ONNX, quantize, prune
    if name in ("serve", "keras", "export"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    if name == "onnx":  # mg.onnx.export: the onnx extra, imported only when used
        import importlib

        return importlib.import_module(".export.onnx", __name__)
    if name == "quantize":  # mg.quantize(model): int8 / float16 weights (minigrad.export)
        from .export.quantize import quantize

        return quantize
    if name in ("prune", "strip_pruning"):  # mg.prune(model, 0.8): magnitude pruning (export)
        from .export import pruning

        return getattr(pruning, name)
    raise AttributeError(f"module 'minigrad' has no attribute {name!r}")

__all__ = [
    "Tensor", "Function", "tensor", "from_numpy", "from_dlpack", "zeros", "ones", "full",
    "arange", "linspace", "eye", "rand", "randn", "zeros_like", "ones_like", "full_like",
    "rand_like", "randn_like",
    "manual_seed", "get_num_threads", "set_num_threads",
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
    "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool_",
    "functional", "autograd", "cuda", "testing", "dtypes", "nn", "train", "Model", "Sequential",
    "io", "load_model", "viz",
    "optim", "data", "datasets",
] + functional.__all__
