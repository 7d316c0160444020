"""ONNX export: ``minigrad.onnx.export(model, "model.onnx")``.

The graph is built with the ``onnx`` package (the ``onnx`` extra). Each layer class has one
converter (:mod:`.registry`) that appends the layer's nodes to a :class:`.builder.GraphBuilder`;
:mod:`.exporter` walks the model and writes the checked file.

>>> model = mg.Sequential([mg.nn.Dense(2, input_shape=(3,))])
>>> proto = mg.onnx.export(model, None)
>>> proto.graph.node[0].op_type
'Gemm'
"""

import importlib
import importlib.util

from .exporter import DEFAULT_OPSET, OPSETS, export
from .registry import UnsupportedLayerError, converter_for, converts

# The converter modules register themselves on import. Those of the recurrent layers and of
# quantized layers are loaded when present (they are written alongside).
for _module in ("layers", "conv", "merge", "recurrent", "quantized"):
    if importlib.util.find_spec(f"{__name__}.{_module}") is not None:
        importlib.import_module(f".{_module}", __name__)
del _module

__all__ = ["export", "UnsupportedLayerError", "converts", "converter_for", "DEFAULT_OPSET",
           "OPSETS"]
