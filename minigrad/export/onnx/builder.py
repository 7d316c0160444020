"""The graph being built while a model is exported: nodes, weights and unique value names.

Converters (:mod:`.registry`) only call :meth:`GraphBuilder.node` and
:meth:`GraphBuilder.constant`; turning the collected pieces into an ``onnx.ModelProto`` is the
exporter's job.
"""

import dataclasses
import hashlib
import re

import numpy as np


@dataclasses.dataclass(frozen=True)
class Symbol:
    """A value flowing between layers in the ONNX graph.

    name: the ONNX value name. mask: the ONNX name of a boolean (batch, time) mask that travels
    with the value (Keras's ``_keras_mask``, e.g. from ``Embedding(mask_zero=True)``), or None.
    shape: the per-sample shape as minigrad knows it (no batch axis; None for a dynamic axis).
    """

    name: str
    mask: str | None = None
    shape: tuple | None = None


class GraphBuilder:
    """Collects ONNX nodes and initializers with names that never collide.

    >>> from minigrad.export.onnx.builder import GraphBuilder
    >>> builder = GraphBuilder(opset=17)
    >>> w = builder.constant(np.ones((3, 2), np.float32), "dense/kernel")
    >>> y = builder.node("MatMul", ["x", w], hint="dense/matmul")
    >>> w, y, len(builder.nodes), len(builder.initializers)
    ('dense/kernel', 'dense/matmul', 1, 1)
    """

    def __init__(self, opset, dtype="float32"):
        import onnx.helper  # the onnx extra: imported only when a model is exported

        self._helper = onnx.helper
        self.opset = int(opset)
        #: The model's float dtype (a NumPy dtype), in which :meth:`weight` stores weights.
        self.dtype = np.dtype(dtype)
        self.nodes = []
        self.initializers = []
        self._taken = set()
        self._stored = {}  # (dtype, shape, digest) -> initializer name
        self._transposed = {}  # output name -> (input name, perm) of each Transpose made

    def fresh(self, hint):
        """A value name not used before, derived from ``hint`` ("dense_1/kernel")."""
        base = re.sub(r"[^A-Za-z0-9_./:-]", "_", str(hint)) or "value"
        name, count = base, 1
        while name in self._taken:
            count += 1
            name = f"{base}_{count}"
        self._taken.add(name)
        return name

    def reserve(self, name):
        """Mark ``name`` (a graph input or output) as taken, so no node reuses it."""
        if name in self._taken:
            raise ValueError(f"the ONNX value name {name!r} is used twice")
        self._taken.add(name)
        return name

    def constant(self, array, hint):
        """Store ``array`` (NumPy) as an initializer; returns its value name."""
        from onnx import numpy_helper

        array = np.ascontiguousarray(array)
        # The same values stored once (a layer called several times in a functional graph)
        key = (array.dtype.str, array.shape, hashlib.sha1(array.tobytes()).hexdigest())
        if key in self._stored:
            return self._stored[key]
        name = self._stored[key] = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op_type, inputs, hint=None, outputs=1, domain="", **attributes):
        """Append one ``op_type`` node reading ``inputs`` (value names; "" for an omitted
        optional input). Returns its output name, or a list of names when ``outputs`` > 1."""
        hint = hint or op_type.lower()
        names = [self.fresh(hint if outputs == 1 else f"{hint}/{i}") for i in range(outputs)]
        self.nodes.append(self._helper.make_node(op_type, list(inputs), names,
                                                 name=self.fresh(f"{hint}/node"),
                                                 domain=domain, **attributes))
        return names[0] if outputs == 1 else names

    # --- helpers the converters share (each appends ordinary nodes) ---------------------------
    def weight(self, array, hint):
        """Store ``array`` as an initializer in the model's float dtype; returns its name."""
        return self.constant(np.asarray(array, dtype=self.dtype), hint)

    def ints(self, values, hint):
        """Store ``values`` as an int64 initializer (shapes, axes, pads); returns its name."""
        return self.constant(np.asarray(values, dtype=np.int64), hint)

    def transpose(self, x, perm, hint=None):
        """``x`` with its axes in the order ``perm``. Undoing the Transpose that made ``x``
        returns that Transpose's input instead, so consecutive NCHW layers (Conv2D, pooling)
        need no NHWC round trip between them; the unused Transpose is dropped with the other
        dead nodes when the model is made."""
        perm = [int(p) for p in perm]
        if perm == sorted(perm):
            return x
        source = self._transposed.get(x)
        if source is not None and [source[1][p] for p in perm] == sorted(perm):
            return source[0]
        y = self.node("Transpose", [x], hint=hint or "transpose", perm=perm)
        self._transposed[y] = (x, perm)
        return y

    def transposed_from(self, x):
        """``(source, perm)`` when ``x`` is ``Transpose(source, perm)`` made by
        :meth:`transpose`, else None: a layer that acts on each value alone (an activation,
        a per-channel scale) may act on ``source`` and transpose after it, which keeps a run
        of NCHW layers free of transposes."""
        return self._transposed.get(x)

    def reduce_mean(self, x, axes, keepdims, hint=None):
        """ReduceMean over ``axes`` (an attribute before opset 18, an input from 18 on)."""
        axes = [int(a) for a in axes]
        if self.opset >= 18:
            return self.node("ReduceMean", [x, self.ints(axes, f"{hint or 'mean'}/axes")],
                             hint=hint, keepdims=int(keepdims))
        return self.node("ReduceMean", [x], hint=hint, axes=axes, keepdims=int(keepdims))

    def rename(self, x, name):
        """An Identity node whose output is the reserved value ``name`` (a graph output)."""
        self.nodes.append(self._helper.make_node("Identity", [x], [name],
                                                 name=self.fresh(f"{name}/node")))
        return name
