"""A model's life after training: ONNX export (:mod:`minigrad.export.onnx`), compression
(int8/float16 quantization, magnitude pruning).

This layer reads models; nothing in training needs it (``../shared/design/ARCHITECTURE.md``).
"""

from .pruning import PolynomialDecay, prune, save_pruned, strip_pruning, weight_sparsity
from .quantize import quantize  # mg.export.quantize(model), the same as mg.quantize

__all__ = ["quantize"]
__all__ += ["prune", "strip_pruning", "PolynomialDecay", "save_pruned", "weight_sparsity"]
