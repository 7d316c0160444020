"""ONNX export: ``minigrad.onnx.export(model, "model.onnx")``.

The graph is built with the ``onnx`` package (the ``onnx`` extra). Each layer class has one
converter (:mod:`.registry`) that appends the layer's nodes to a :class:`.builder.GraphBuilder`.
"""
